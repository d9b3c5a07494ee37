//! The route table, the single source of every route: the function (binary) name,
//! method, path, who may call it, its handler, where its writes are counted, and what
//! README, template.yaml and the `cargo lambda invoke` fixtures say of it.
//!
//! `make routes` (tools/xtask) writes from this table the binaries in `src/bin/`, their
//! `[[bin]]` entries, the `cargo lambda watch` router in Cargo.toml, template.yaml's
//! functions, `functions/events/*.json` and README's route table; tests/tests/api/routes.rs
//! fails when a committed file differs from what it writes. Adding a route is a handler,
//! one entry here (and in [`ALL`]), and `make routes` (README, Routes).

use lambda_http::http::Method;
use shared::pipeline::job::{Job, MetricAlarm};
use shared::pipeline::route::S3Grant;
use shared::{handler, job, producer, Route};

use crate::{
    audit_log, auth_links, document, health, not_found, posts, projects, sessions, settings,
    stream, sweep, uploads, users, workspaces,
};

pub const HEALTH: Route =
    Route::public("health", Method::GET, "/health", handler!(health::handler))
        .doc("anyone (no token, no database)")
        .without_secrets();

pub const OPENAPI: Route = Route::public(
    "openapi",
    Method::GET,
    "/openapi.json",
    handler!(document::handler),
)
.doc("anyone; this API's OpenAPI 3.1 document (no token, no database)")
.without_secrets();

pub const LIST_WORKSPACES: Route = Route::user(
    "list-workspaces",
    Method::GET,
    "/workspaces",
    handler!(workspaces::list),
)
.query("page=&pageSize=")
.doc("any user; own workspaces with own role");

pub const CREATE_WORKSPACE: Route = Route::user(
    "create-workspace",
    Method::POST,
    "/workspaces",
    handler!(workspaces::create),
)
.idempotent()
.counted_in_database()
.doc("any user; becomes the workspace's admin")
.example_body(r#"{"name":"Acme"}"#);

pub const ADD_WORKSPACE_MEMBER: Route = Route::user(
    "add-workspace-member",
    Method::POST,
    "/workspaces/{id}/members",
    handler!(workspaces::add_member),
)
.counted_in_database()
.doc("workspace admin; body `{userId, role}` (admin, editor, member)")
.example_body(r#"{"userId":"00000000-0000-4000-8000-000000000002","role":"editor"}"#);

pub const REMOVE_WORKSPACE_MEMBER: Route = Route::user(
    "remove-workspace-member",
    Method::DELETE,
    "/workspaces/{id}/members/{userId}",
    handler!(workspaces::remove_member),
)
.counted_in_database()
.doc("workspace admin; the last admin cannot be removed (409)");

pub const LIST_PROJECTS: Route = Route::user(
    "list-projects",
    Method::GET,
    "/projects",
    handler!(projects::list),
)
.query("workspaceId=&page=&pageSize=")
.doc("workspace members; newest first; without workspaceId, all own workspaces")
.example_query("workspaceId=00000000-0000-4000-8000-000000000100&page=1&pageSize=20");

pub const CREATE_PROJECT: Route = Route::user(
    "create-project",
    Method::POST,
    "/projects",
    handler!(projects::create),
)
.idempotent()
.counted_in_database()
.doc("workspace admin or editor; `{name 1..100, description? <= 1000, workspaceId}`")
.example_body(concat!(
    r#"{"name":"Launch","description":"First project","#,
    r#""workspaceId":"00000000-0000-4000-8000-000000000100"}"#
));

pub const GET_PROJECT: Route = Route::user(
    "get-project",
    Method::GET,
    "/projects/{id}",
    handler!(projects::get),
)
.doc("workspace members");

pub const UPDATE_PROJECT: Route = Route::user(
    "update-project",
    Method::PATCH,
    "/projects/{id}",
    handler!(projects::update),
)
.counted_in_database()
.doc("workspace admin or editor; `{name?, description?}` (null clears)")
.example_body(r#"{"name":"Launch v2"}"#);

pub const DELETE_PROJECT: Route = Route::user(
    "delete-project",
    Method::DELETE,
    "/projects/{id}",
    handler!(projects::delete),
)
.counted_in_database()
.doc("workspace admin");

pub const SIGN_IN: Route = Route::public(
    "sign-in",
    Method::POST,
    "/auth/sign-in",
    handler!(sessions::sign_in),
)
.doc("anyone; `{email, password}`; sets the session cookie; rate limited")
.example_body(r#"{"email":"alice@example.com","password":"REPLACE_WITH_PASSWORD"}"#);

pub const SIGN_UP: Route = Route::public(
    "sign-up",
    Method::POST,
    "/auth/sign-up",
    handler!(sessions::sign_up),
)
.doc(concat!(
    "anyone while signupsEnabled is on; `{email, password, name}`; ",
    "signed in at once (201, cookie) or a confirmation email (202); rate limited"
))
.example_body(
    r#"{"email":"new@example.com","password":"REPLACE_WITH_PASSWORD","name":"New User"}"#,
);

pub const OAUTH_START: Route = Route::public(
    "oauth-start",
    Method::GET,
    "/auth/oauth/{provider}",
    handler!(auth_links::oauth_start),
)
.query("next=")
.doc("anyone; PKCE sign-in with github, google or another enabled provider; redirects to Supabase Auth")
.without_secrets();

pub const OAUTH_CALLBACK: Route = Route::public(
    "oauth-callback",
    Method::GET,
    "/auth/callback",
    handler!(auth_links::oauth_callback),
)
.query("code=&next=")
.doc("the browser back from Supabase Auth; exchanges the code, sets the session cookie, redirects to next");

pub const MAGIC_LINK: Route = Route::public(
    "magic-link",
    Method::POST,
    "/auth/magic-link",
    handler!(auth_links::magic_link),
)
.doc("anyone; `{email, next?}`; an email link through Supabase Auth, the same 202 for any address; rate limited")
.example_body(r#"{"email":"alice@example.com","next":"/"}"#);

pub const RECOVER: Route = Route::public(
    "recover",
    Method::POST,
    "/auth/recover",
    handler!(auth_links::recover),
)
.doc("anyone; `{email, next?}`; a password-recovery link through Supabase Auth, the same 202 for any address; rate limited")
.example_body(r#"{"email":"alice@example.com","next":"/account/password"}"#);

pub const CONFIRM_EMAIL_LINK: Route = Route::public(
    "confirm-email-link",
    Method::GET,
    "/auth/confirm",
    handler!(auth_links::confirm),
)
.query("token_hash=&type=&next=&flow=")
.doc(concat!(
    "the browser from an email link (sign-up, magic link, recovery, invite, email change); ",
    "in the browser that asked for it, sets the session cookie and redirects to next; ",
    "anywhere else, redirects to next's confirmation step without signing in"
));

pub const COMPLETE_EMAIL_LINK: Route = Route::public(
    "complete-email-link",
    Method::POST,
    "/auth/confirm",
    handler!(auth_links::confirm_here),
)
.doc(concat!(
    "anyone, same-site; `{tokenHash, type}`: the confirmation step of an email link opened ",
    "in another browser; sets the session cookie"
))
.example_body(r#"{"tokenHash":"REPLACE_WITH_TOKEN_HASH","type":"magiclink"}"#);

pub const SET_PASSWORD: Route = Route::user(
    "set-password",
    Method::POST,
    "/auth/password",
    handler!(auth_links::set_password),
)
.doc("any user; `{password}`; a new password (after a recovery link)")
.example_body(r#"{"password":"REPLACE_WITH_PASSWORD"}"#);

pub const REFRESH_SESSION: Route = Route::public(
    "refresh-session",
    Method::POST,
    "/auth/refresh",
    handler!(sessions::refresh),
)
.doc("the session cookie; renews it")
.example_cookie();

pub const SIGN_OUT: Route = Route::public(
    "sign-out",
    Method::POST,
    "/auth/sign-out",
    handler!(sessions::sign_out),
)
.query("scope=")
.doc(concat!(
    "anyone; ends this session (`scope=local`, the default, also with an expired ",
    "access token), every session (`global`) or every other (`others`); clears the ",
    "cookie but for `others`"
))
.example_cookie();

pub const ME: Route = Route::user("me", Method::GET, "/me", handler!(users::me))
    .doc("signed in; own profile, role and permissions");

pub const LIST_MY_SESSIONS: Route = Route::user(
    "list-my-sessions",
    Method::GET,
    "/me/sessions",
    handler!(users::sessions::list),
)
.query("page=&pageSize=")
.doc("signed in; own sessions, newest first: created, last active, user agent, address, which is current");

pub const REVOKE_MY_SESSION: Route = Route::user(
    "revoke-my-session",
    Method::DELETE,
    "/me/sessions/{id}",
    handler!(users::sessions::revoke),
)
.counted_in_database()
.doc(
    "signed in; ends one of their own sessions (its tokens are refused from the next request); 204",
);

pub const EXPORT_MY_DATA: Route = Route::user(
    "export-my-data",
    Method::GET,
    "/me/export",
    handler!(users::export::export),
)
.query("part=&page=&pageSize=")
.doc(concat!(
    "signed in; a copy of everything they own or wrote, one part a page (at most 50): ",
    "account (with each part's count), memberships, workspaces they administer, ",
    "projects they created, posts, uploads (fresh download URLs), their audit events"
))
.s3(
    "Presigns the download (GET of files/<user>/<id>) of each ready upload exported.",
    &[S3Grant {
        sid: "PresignFilesGet",
        actions: &["s3:GetObject"],
        prefixes: &["files/"],
    }],
)
.example_query("part=posts&page=1&pageSize=50");

pub const DELETE_MY_ACCOUNT: Route = Route::user(
    "delete-my-account",
    Method::DELETE,
    "/me",
    handler!(users::delete_own),
)
.doc(concat!(
    "signed in within 10 minutes, or body `{password}`; deletes the account, its rows ",
    "and files; 409 while the last admin of a workspace with other members; 204, the ",
    "cookie cleared"
));

pub const LIST_USERS: Route =
    Route::user("list-users", Method::GET, "/users", handler!(users::list))
        .query("page=&pageSize=&search=")
        .doc("users.read; name or email, case-insensitive, newest first")
        .example_query("search=bob&page=1&pageSize=20");

pub const CREATE_USER: Route = Route::user(
    "create-user",
    Method::POST,
    "/users",
    handler!(users::create),
)
.idempotent()
.doc(concat!(
    "users.write; `{email, name, role}`; ",
    "creates the auth user via the Auth admin API"
))
.example_body(r#"{"email":"erin@example.com","name":"Erin","role":"editor"}"#);

pub const GET_USER: Route =
    Route::user("get-user", Method::GET, "/users/{id}", handler!(users::get)).doc(concat!(
        "self, a public profile (no email), or users.read; ",
        "with the 5 newest published posts"
    ));

pub const UPDATE_USER: Route = Route::user(
    "update-user",
    Method::PATCH,
    "/users/{id}",
    handler!(users::update),
)
.counted_in_database()
.doc(concat!(
    "self or users.write; `{name?, bio?, website?, publicProfile?}`, ",
    "anything else 422"
))
.example_body(concat!(
    r#"{"name":"Bob Editor","bio":"<p>Hello</p>","#,
    r#""website":"https://bob.example.com","publicProfile":true}"#
));

pub const DELETE_USER: Route = Route::user(
    "delete-user",
    Method::DELETE,
    "/users/{id}",
    handler!(users::delete),
)
.doc("users.delete; not oneself; 409 while the last admin of a workspace with other members; 204");

pub const LIST_POSTS: Route =
    Route::user("list-posts", Method::GET, "/posts", handler!(posts::list))
        .query("page=&pageSize=")
        .doc("published posts, own drafts, all for posts.publish")
        .example_query("page=1&pageSize=20");

pub const CREATE_POST: Route = Route::user(
    "create-post",
    Method::POST,
    "/posts",
    handler!(posts::create),
)
.idempotent()
.counted_in_database()
.doc("posts.write; `{title 1..200, body? <= 20000}`")
.example_body(r#"{"title":"Launch notes","body":"We shipped."}"#);

pub const GET_POST: Route =
    Route::user("get-post", Method::GET, "/posts/{id}", handler!(posts::get))
        .doc("as the list; others' drafts are 404");

pub const UPDATE_POST: Route = Route::user(
    "update-post",
    Method::PATCH,
    "/posts/{id}",
    handler!(posts::update),
)
.counted_in_database()
.doc("the author, or posts.publish holders; `{title?, body?}`")
.example_body(r#"{"title":"Launch notes (edited)"}"#);

pub const DELETE_POST: Route = Route::user(
    "delete-post",
    Method::DELETE,
    "/posts/{id}",
    handler!(posts::delete),
)
.counted_in_database()
.doc("the author, or posts.delete");

pub const PUBLISH_POST: Route = Route::user(
    "publish-post",
    Method::POST,
    "/posts/{id}/publish",
    handler!(posts::publish),
)
.idempotent()
.counted_in_database()
.doc("posts.publish");

pub const GET_SETTINGS: Route = Route::user(
    "get-settings",
    Method::GET,
    "/settings",
    handler!(settings::get),
)
.doc("settings.read");

pub const UPDATE_SETTINGS: Route = Route::user(
    "update-settings",
    Method::PUT,
    "/settings",
    handler!(settings::put),
)
.counted_in_database()
.doc(concat!(
    "settings.write; ",
    "`{siteName, supportEmail, maintenanceMode, signupsEnabled}`"
))
.example_body(concat!(
    r#"{"siteName":"Acme","supportEmail":"support@acme.example","#,
    r#""maintenanceMode":false,"signupsEnabled":true}"#
));

pub const LIST_AUDIT_LOG: Route = Route::user(
    "list-audit-log",
    Method::GET,
    "/audit-log",
    handler!(audit_log::list),
)
.query("page=&pageSize=")
.doc("admins; newest first")
.example_query("page=1&pageSize=20");

pub const CREATE_UPLOAD: Route = Route::user(
    "create-upload",
    Method::POST,
    "/uploads",
    handler!(uploads::create),
)
.idempotent()
.counted_in_database()
.doc(concat!(
    "signed in; `{filename, contentType, size}`; ",
    "a presigned PUT; rate limited"
))
.s3(
    "Presigns the client's PUT to pending/<user>/<id>: the URL carries this role's rights.",
    &[S3Grant {
        sid: "PresignPendingPut",
        actions: &["s3:PutObject"],
        prefixes: &["pending/"],
    }],
)
.example_body(r#"{"filename":"photo.png","contentType":"image/png","size":1234}"#);

pub const LIST_UPLOADS: Route = Route::user(
    "list-uploads",
    Method::GET,
    "/uploads",
    handler!(uploads::list),
)
.query("page=&pageSize=")
.doc("own uploads, newest first")
.example_query("page=1&pageSize=20");

pub const GET_UPLOAD: Route = Route::user(
    "get-upload",
    Method::GET,
    "/uploads/{id}",
    handler!(uploads::get),
)
.doc("owner; metadata and, once ready, a download URL")
.s3(
    "Presigns the download (GET of files/<user>/<id>) of a verified upload.",
    &[S3Grant {
        sid: "PresignFilesGet",
        actions: &["s3:GetObject"],
        prefixes: &["files/"],
    }],
);

pub const DELETE_UPLOAD: Route = Route::user(
    "delete-upload",
    Method::DELETE,
    "/uploads/{id}",
    handler!(uploads::delete),
)
.doc("owner; object and row")
.s3(
    "Deletes the object wherever it is (pending or verified), then the row.",
    &[S3Grant {
        sid: "DeleteObjects",
        actions: &["s3:DeleteObject"],
        prefixes: &["pending/", "files/"],
    }],
);

pub const COMPLETE_UPLOAD: Route = Route::user(
    "complete-upload",
    Method::POST,
    "/uploads/{id}/complete",
    handler!(uploads::complete),
)
.doc("owner; verifies size and magic bytes")
.s3(
    concat!(
        "HEAD and ranged GET of the pending object, CopyObject pending/ -> files/ ",
        "(read the source, write the target), then DeleteObject of the pending object ",
        "(also on rejection). The download URL it returns is a GET of files/<user>/<id>."
    ),
    &[
        S3Grant {
            sid: "ReadPending",
            actions: &["s3:GetObject"],
            prefixes: &["pending/"],
        },
        S3Grant {
            sid: "DeletePending",
            actions: &["s3:DeleteObject"],
            prefixes: &["pending/"],
        },
        S3Grant {
            sid: "WriteAndPresignFiles",
            actions: &["s3:PutObject", "s3:GetObject"],
            prefixes: &["files/"],
        },
    ],
);

/// Every path and method no route above serves: API Gateway's `$default` route.
pub const NOT_FOUND: Route = Route::fallback("not-found", handler!(not_found::handler))
    .doc("anyone; every other method and path: 404 with the error envelope");
/// The routes of no path of their own (template.yaml: an HttpApi event without Path).
pub const FALLBACKS: &[Route] = &[NOT_FOUND];

/// Served by a Function URL with response streaming, not by the HttpApi.
pub const STREAM: Route = Route::stream(
    "stream",
    Method::GET,
    "/stream",
    handler!(stream::admit),
    producer!(stream::produce),
)
.query("count=&intervalMs=&heartbeatMs=")
.doc(concat!(
    "signed in; server-sent events through a Function URL (response streaming), ",
    "not the HttpApi; (count - 1) x intervalMs at most 50 s"
))
.timeout(60)
.example_query("count=3&intervalMs=100");
/// Routes behind Function URLs (template.yaml FunctionUrlConfig).
pub const STREAMING: &[Route] = &[STREAM];

pub const SWEEP_STORAGE: Job = Job::scheduled(
    "sweep-storage",
    "rate(5 minutes)",
    job!(sweep::sweep_storage),
)
.doc(concat!(
    "deletes from S3 the objects whose upload rows are gone (queued by the database in ",
    "the row's own transaction), removes expired pending uploads and bookkeeping"
))
.s3(
    "Deletes the queued objects, under pending/ and files/ only.",
    &[S3Grant {
        sid: "DeleteQueuedObjects",
        actions: &["s3:DeleteObject"],
        prefixes: &["pending/", "files/"],
    }],
)
.timeout(120)
.alarm(MetricAlarm {
    metric: shared::pipeline::metrics::STORAGE_BACKLOG,
    threshold: "StorageBacklogThreshold",
    description: concat!(
        "Objects queued for deletion from the uploads bucket after the sweep: ",
        "S3 keeps refusing the deletes, or the sweep stopped running"
    ),
});

/// Scheduled functions (EventBridge Scheduler), not HTTP routes: `make routes` writes
/// their binaries and template.yaml functions too.
pub const JOBS: &[Job] = &[SWEEP_STORAGE];

/// The HttpApi's routes, in README's order.
pub const ALL: &[Route] = &[
    HEALTH,
    OPENAPI,
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
    SIGN_UP,
    OAUTH_START,
    OAUTH_CALLBACK,
    MAGIC_LINK,
    RECOVER,
    CONFIRM_EMAIL_LINK,
    COMPLETE_EMAIL_LINK,
    SET_PASSWORD,
    REFRESH_SESSION,
    SIGN_OUT,
    ME,
    LIST_MY_SESSIONS,
    REVOKE_MY_SESSION,
    EXPORT_MY_DATA,
    DELETE_MY_ACCOUNT,
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
