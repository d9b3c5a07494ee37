//! The route table: function (binary) name, method, path, access. template.yaml and the
//! `cargo lambda watch` router in Cargo.toml list the same routes (tests/tests/routes.rs).

use lambda_http::http::Method;
use shared::{Access, Route, WriteLimit};

const fn route(
    function: &'static str,
    method: Method,
    path: &'static str,
    access: Access,
) -> Route {
    route_counted(function, method, path, access, WriteLimit::BeforeHandler)
}

/// A route whose one PostgREST write is counted by the database's request gate.
const fn counted_in_database(
    function: &'static str,
    method: Method,
    path: &'static str,
    access: Access,
) -> Route {
    route_counted(function, method, path, access, WriteLimit::InDatabase)
}

const fn route_counted(
    function: &'static str,
    method: Method,
    path: &'static str,
    access: Access,
    limit: WriteLimit,
) -> Route {
    Route {
        function,
        method,
        path,
        access,
        limit,
    }
}

pub const HEALTH: Route = route("health", Method::GET, "/health", Access::Public);
pub const LIST_WORKSPACES: Route =
    route("list-workspaces", Method::GET, "/workspaces", Access::User);
pub const CREATE_WORKSPACE: Route = counted_in_database(
    "create-workspace",
    Method::POST,
    "/workspaces",
    Access::User,
);
pub const ADD_WORKSPACE_MEMBER: Route = counted_in_database(
    "add-workspace-member",
    Method::POST,
    "/workspaces/{id}/members",
    Access::User,
);
pub const REMOVE_WORKSPACE_MEMBER: Route = counted_in_database(
    "remove-workspace-member",
    Method::DELETE,
    "/workspaces/{id}/members/{userId}",
    Access::User,
);
pub const LIST_PROJECTS: Route = route("list-projects", Method::GET, "/projects", Access::User);
pub const CREATE_PROJECT: Route =
    counted_in_database("create-project", Method::POST, "/projects", Access::User);
pub const GET_PROJECT: Route = route("get-project", Method::GET, "/projects/{id}", Access::User);
pub const UPDATE_PROJECT: Route = counted_in_database(
    "update-project",
    Method::PATCH,
    "/projects/{id}",
    Access::User,
);
pub const DELETE_PROJECT: Route = counted_in_database(
    "delete-project",
    Method::DELETE,
    "/projects/{id}",
    Access::User,
);

pub const SIGN_IN: Route = route("sign-in", Method::POST, "/auth/sign-in", Access::Public);
pub const REFRESH_SESSION: Route = route(
    "refresh-session",
    Method::POST,
    "/auth/refresh",
    Access::Public,
);
pub const SIGN_OUT: Route = route("sign-out", Method::POST, "/auth/sign-out", Access::Public);
pub const ME: Route = route("me", Method::GET, "/me", Access::User);
pub const LIST_USERS: Route = route("list-users", Method::GET, "/users", Access::User);
pub const CREATE_USER: Route = route("create-user", Method::POST, "/users", Access::User);
pub const GET_USER: Route = route("get-user", Method::GET, "/users/{id}", Access::User);
pub const UPDATE_USER: Route =
    counted_in_database("update-user", Method::PATCH, "/users/{id}", Access::User);
pub const DELETE_USER: Route = route("delete-user", Method::DELETE, "/users/{id}", Access::User);
pub const LIST_POSTS: Route = route("list-posts", Method::GET, "/posts", Access::User);
pub const CREATE_POST: Route =
    counted_in_database("create-post", Method::POST, "/posts", Access::User);
pub const GET_POST: Route = route("get-post", Method::GET, "/posts/{id}", Access::User);
pub const UPDATE_POST: Route =
    counted_in_database("update-post", Method::PATCH, "/posts/{id}", Access::User);
pub const DELETE_POST: Route =
    counted_in_database("delete-post", Method::DELETE, "/posts/{id}", Access::User);
pub const PUBLISH_POST: Route = counted_in_database(
    "publish-post",
    Method::POST,
    "/posts/{id}/publish",
    Access::User,
);
pub const GET_SETTINGS: Route = route("get-settings", Method::GET, "/settings", Access::User);
pub const UPDATE_SETTINGS: Route =
    counted_in_database("update-settings", Method::PUT, "/settings", Access::User);
pub const LIST_AUDIT_LOG: Route = route("list-audit-log", Method::GET, "/audit-log", Access::User);
pub const CREATE_UPLOAD: Route =
    counted_in_database("create-upload", Method::POST, "/uploads", Access::User);
pub const LIST_UPLOADS: Route = route("list-uploads", Method::GET, "/uploads", Access::User);
pub const GET_UPLOAD: Route = route("get-upload", Method::GET, "/uploads/{id}", Access::User);
pub const DELETE_UPLOAD: Route = route(
    "delete-upload",
    Method::DELETE,
    "/uploads/{id}",
    Access::User,
);
pub const COMPLETE_UPLOAD: Route = route(
    "complete-upload",
    Method::POST,
    "/uploads/{id}/complete",
    Access::User,
);

/// Served by a Function URL with response streaming, not by the HttpApi.
pub const STREAM: Route = route("stream", Method::GET, "/stream", Access::User);
/// Routes behind Function URLs (template.yaml FunctionUrlConfig).
pub const STREAMING: &[Route] = &[STREAM];

pub const ALL: &[Route] = &[
    HEALTH,
    LIST_WORKSPACES,
    CREATE_WORKSPACE,
    ADD_WORKSPACE_MEMBER,
    REMOVE_WORKSPACE_MEMBER,
    LIST_PROJECTS,
    CREATE_PROJECT,
    GET_PROJECT,
    UPDATE_PROJECT,
    DELETE_PROJECT,
    SIGN_IN,
    REFRESH_SESSION,
    SIGN_OUT,
    ME,
    LIST_USERS,
    CREATE_USER,
    GET_USER,
    UPDATE_USER,
    DELETE_USER,
    LIST_POSTS,
    CREATE_POST,
    GET_POST,
    UPDATE_POST,
    DELETE_POST,
    PUBLISH_POST,
    GET_SETTINGS,
    UPDATE_SETTINGS,
    LIST_AUDIT_LOG,
    CREATE_UPLOAD,
    LIST_UPLOADS,
    GET_UPLOAD,
    DELETE_UPLOAD,
    COMPLETE_UPLOAD,
];
