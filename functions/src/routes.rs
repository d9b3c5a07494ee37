//! The route table: function (binary) name, method, path, access. template.yaml and the
//! `cargo lambda watch` router in Cargo.toml list the same routes (tests/tests/routes.rs).

use lambda_http::http::Method;
use shared::{Access, Route};

const fn route(
    function: &'static str,
    method: Method,
    path: &'static str,
    access: Access,
) -> Route {
    Route {
        function,
        method,
        path,
        access,
    }
}

pub const HEALTH: Route = route("health", Method::GET, "/health", Access::Public);
pub const LIST_WORKSPACES: Route =
    route("list-workspaces", Method::GET, "/workspaces", Access::User);
pub const CREATE_WORKSPACE: Route = route(
    "create-workspace",
    Method::POST,
    "/workspaces",
    Access::User,
);
pub const ADD_WORKSPACE_MEMBER: Route = route(
    "add-workspace-member",
    Method::POST,
    "/workspaces/{id}/members",
    Access::User,
);
pub const REMOVE_WORKSPACE_MEMBER: Route = route(
    "remove-workspace-member",
    Method::DELETE,
    "/workspaces/{id}/members/{userId}",
    Access::User,
);
pub const LIST_PROJECTS: Route = route("list-projects", Method::GET, "/projects", Access::User);
pub const CREATE_PROJECT: Route = route("create-project", Method::POST, "/projects", Access::User);
pub const GET_PROJECT: Route = route("get-project", Method::GET, "/projects/{id}", Access::User);
pub const UPDATE_PROJECT: Route = route(
    "update-project",
    Method::PATCH,
    "/projects/{id}",
    Access::User,
);
pub const DELETE_PROJECT: Route = route(
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
pub const SIGN_OUT: Route = route("sign-out", Method::POST, "/auth/sign-out", Access::User);

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
];
