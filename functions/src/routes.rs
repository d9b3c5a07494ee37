//! The route table, the single source of every route: the function (binary) name,
//! method, path, who may call it, its handler, where its writes are counted, and what
//! docs/routes.md, template.yaml and the `cargo lambda invoke` fixtures say of it.
//!
//! `make routes` (tools/xtask) writes from this table the binaries in `src/bin/`, their
//! `[[bin]]` entries, the `cargo lambda watch` router in Cargo.toml, template.yaml's
//! functions, `functions/events/*.json` and the route table of docs/routes.md; tests/tests/api/routes.rs
//! fails when a committed file differs from what it writes. Adding a route is a handler,
//! one entry here (and in [`ALL`]), and `make routes` (docs/adding-a-route.md).

use lambda_http::http::Method;
use shared::pipeline::contract::{Bare, Security};
use shared::pipeline::job::{Job, MetricAlarm};
use shared::pipeline::route::S3Grant;
use shared::{handler, job, producer, Route};

use crate::{
    audit_log, auth_links, document, health, not_found, posts, projects, sessions, settings,
    stream, sweep, uploads, users, workspaces,
};

// Refusals that several routes share (each route lists its own in `.refuses`; those of
// every route of its kind are functions/src/openapi.rs's).
const NOT_MEMBER: (u16, &str) = (
    404,
    "NOT_FOUND: no such workspace, or the caller is not a member",
);
const EDITOR: (u16, &str) = (403, "FORBIDDEN: the caller's workspace role is too low");
const NO_PROJECT: (u16, &str) = (404, "NOT_FOUND: no such project the caller can see");
const NO_POST: (u16, &str) = (404, "NOT_FOUND: no such post the caller can see");
const NO_USER: (u16, &str) = (404, "NOT_FOUND: no such user the caller can see");
const NO_UPLOAD: (u16, &str) = (404, "NOT_FOUND: no such upload of the caller's");
const LAST_ADMIN: (u16, &str) = (
    409,
    "CONFLICT: the account is the last admin of workspaces that have other members (details.workspaces names them)",
);
const PERMISSION: (u16, &str) = (403, "FORBIDDEN: the caller's role lacks the permission");
const LINK_REFUSALS: &[(u16, &str)] = &[
    (403, "CSRF_FAILED: a browser request from an origin that is not allowed"),
    (429, "RATE_LIMITED: too many links asked for from this address or for this email; see Retry-After"),
];
/// The session cookie a sign-in sets.
const SESSION_COOKIE: &str = "The session cookie (@supabase/ssr format), HttpOnly, SameSite=Lax.";
/// The cookie of every request for an email link.
const EMAIL_LINK_COOKIE: &str = "The email-link cookie (`<session cookie>-email-link`), HttpOnly, SameSite=Lax, one hour: the link signs in at once only in this browser.";

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
.without_secrets()
.bare(Bare::Document);

pub const LIST_WORKSPACES: Route = Route::user(
    "list-workspaces",
    Method::GET,
    "/workspaces",
    handler!(workspaces::list),
)
.doc("any user; own workspaces with own role");

pub const CREATE_WORKSPACE: Route = Route::user(
    "create-workspace",
    Method::POST,
    "/workspaces",
    handler!(workspaces::create),
)
.idempotent()
.counted_in_database()
.doc("any user; becomes the workspace's admin");

pub const ADD_WORKSPACE_MEMBER: Route = Route::user(
    "add-workspace-member",
    Method::POST,
    "/workspaces/{id}/members",
    handler!(workspaces::add_member),
)
.counted_in_database()
.doc("workspace admin; body `{userId, role}` (admin, editor, member)")
.refuses(&[
    (403, "FORBIDDEN: only the workspace's admins add members"),
    NOT_MEMBER,
    (409, "CONFLICT: the user is already a member"),
]);

pub const REMOVE_WORKSPACE_MEMBER: Route = Route::user(
    "remove-workspace-member",
    Method::DELETE,
    "/workspaces/{id}/members/{userId}",
    handler!(workspaces::remove_member),
)
.counted_in_database()
.doc("workspace admin; the last admin cannot be removed (409)")
.refuses(&[
    (403, "FORBIDDEN: only the workspace's admins remove members"),
    (
        404,
        "NOT_FOUND: no such workspace or member the caller can see",
    ),
    (409, "CONFLICT: a workspace must keep at least one admin"),
]);

pub const LIST_PROJECTS: Route = Route::user(
    "list-projects",
    Method::GET,
    "/projects",
    handler!(projects::list),
)
.doc("workspace members; newest first; without workspaceId, all own workspaces")
.example_query("workspaceId=00000000-0000-4000-8000-000000000100&page=1&pageSize=20")
.refuses(&[NOT_MEMBER]);

pub const CREATE_PROJECT: Route = Route::user(
    "create-project",
    Method::POST,
    "/projects",
    handler!(projects::create),
)
.idempotent()
.counted_in_database()
.doc("workspace admin or editor; `{name, description?, workspaceId}` (bounds: openapi.json)")
.refuses(&[EDITOR, NOT_MEMBER]);

pub const GET_PROJECT: Route = Route::user(
    "get-project",
    Method::GET,
    "/projects/{id}",
    handler!(projects::get),
)
.doc("workspace members")
.refuses(&[NO_PROJECT]);

pub const UPDATE_PROJECT: Route = Route::user(
    "update-project",
    Method::PATCH,
    "/projects/{id}",
    handler!(projects::update),
)
.counted_in_database()
.doc("workspace admin or editor; `{name?, description?}` (null clears)")
.refuses(&[EDITOR, NO_PROJECT]);

pub const DELETE_PROJECT: Route = Route::user(
    "delete-project",
    Method::DELETE,
    "/projects/{id}",
    handler!(projects::delete),
)
.counted_in_database()
.doc("workspace admin")
.refuses(&[
    (
        403,
        "FORBIDDEN: only the workspace's admins delete projects",
    ),
    NO_PROJECT,
]);

pub const SIGN_IN: Route = Route::public(
    "sign-in",
    Method::POST,
    "/auth/sign-in",
    handler!(sessions::sign_in),
)
.doc("anyone; `{email, password}`; sets the session cookie; rate limited")
.refuses(&[
    (401, "UNAUTHORIZED: wrong email or password"),
    (
        429,
        "RATE_LIMITED: too many attempts from this address or for this email; see Retry-After",
    ),
])
.sets_cookie(SESSION_COOKIE);

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

.refuses(&[
    (403, "FORBIDDEN: sign-ups are closed (signupsEnabled is off)"),
    (403, "CSRF_FAILED: a browser request from an origin that is not allowed"),
    (409, "CONFLICT: the address already has an account (only when the project confirms emails itself)"),
    (429, "RATE_LIMITED: too many sign-ups from this address, or emails to this one; see Retry-After"),
    (503, "MAINTENANCE: the site is in maintenance mode; see Retry-After"),
])
.sets_cookie("With 201: the session cookie (@supabase/ssr format), HttpOnly, SameSite=Lax.")
.also(
    "Accepted: a confirmation email was sent (also the answer for an address that already has an account)",
    Some(EMAIL_LINK_COOKIE),
);

pub const OAUTH_START: Route = Route::public(
    "oauth-start",
    Method::GET,
    "/auth/oauth/{provider}",
    handler!(auth_links::oauth_start),
)
.doc("anyone; PKCE sign-in with github, google or another enabled provider; redirects to Supabase Auth")
.without_secrets()
.bare(Bare::Redirect(
    302,
    "To Supabase Auth's /authorize with the PKCE challenge; the code verifier is set in a 10-minute HttpOnly cookie",
))
.sets_cookie("The PKCE code verifier (`<session cookie>-code-verifier`), HttpOnly, SameSite=Lax, 10 minutes.")
.refuses(&[(422, "VALIDATION_ERROR: next is not a path or a URL on an allowed origin")]);

pub const OAUTH_CALLBACK: Route = Route::public(
    "oauth-callback",
    Method::GET,
    "/auth/callback",
    handler!(auth_links::oauth_callback),
)
.doc("the browser back from Supabase Auth; exchanges the code, sets the session cookie, redirects to next")
.bare(Bare::Redirect(
    303,
    "To `next` (new_user=true on a first sign-in) with the session cookie; on any failure to `next` (or the app) with `error` and `error_description`, the verifier cleared either way",
))
.sets_cookie("The session cookie, and the code verifier cleared (on failure, only the latter).")
.security(Security::OptionalCookie);

pub const MAGIC_LINK: Route = Route::public(
    "magic-link",
    Method::POST,
    "/auth/magic-link",
    handler!(auth_links::magic_link),
)
.doc("anyone; `{email, next?}`; an email link through Supabase Auth, the same 202 for any address; rate limited")

.sets_cookie(EMAIL_LINK_COOKIE)
.refuses(LINK_REFUSALS);

pub const RECOVER: Route = Route::public(
    "recover",
    Method::POST,
    "/auth/recover",
    handler!(auth_links::recover),
)
.doc("anyone; `{email, next?}`; a password-recovery link through Supabase Auth, the same 202 for any address; rate limited")

.sets_cookie(EMAIL_LINK_COOKIE)
.refuses(LINK_REFUSALS);

pub const CONFIRM_EMAIL_LINK: Route = Route::public(
    "confirm-email-link",
    Method::GET,
    "/auth/confirm",
    handler!(auth_links::confirm),
)
.doc(concat!(
    "the browser from an email link (sign-up, magic link, recovery, invite, email change); ",
    "in the browser that asked for it, sets the session cookie and redirects to next; ",
    "anywhere else, redirects to next's confirmation step without signing in"
))
.bare(Bare::Redirect(
    303,
    "In the browser that asked for the link (its email-link cookie matches `flow`): to `next` with the session cookie (new_user=true on a first sign-in, set_password=true when a password set before the confirmation was cleared), an invalid, used or expired link with `error=otp_expired`. Anywhere else: to `next` with `#confirm_token_hash=...&confirm_type=...`, the confirmation step, nothing verified",
))
.sets_cookie("In the browser that asked for a valid link: the session cookie, and the email-link cookie cleared.")
.sometimes();

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
.refuses(&[
    (401, "UNAUTHORIZED: the link is invalid, used or expired"),
    (
        403,
        "CSRF_FAILED: a browser request from an origin that is not allowed",
    ),
])
.sets_cookie(SESSION_COOKIE);

pub const SET_PASSWORD: Route = Route::user(
    "set-password",
    Method::POST,
    "/auth/password",
    handler!(auth_links::set_password),
)
.doc("any user; `{password}`; a new password (after a recovery link)")
.refuses(&[(
    422,
    "VALIDATION_ERROR: the password is too short, too long or too weak",
)]);

pub const REFRESH_SESSION: Route = Route::public(
    "refresh-session",
    Method::POST,
    "/auth/refresh",
    handler!(sessions::refresh),
)
.doc("the session cookie; renews it")
.example_cookie()
.refuses(&[
    (401, "UNAUTHORIZED: no session cookie, or its refresh token is no longer valid (the cookie is cleared)"),
    (403, "CSRF_FAILED: not from an allowed origin"),
    (429, "RATE_LIMITED: too many refreshes from this address; see Retry-After"),
])
.sets_cookie("The renewed session cookie.")
.security(Security::Cookie);

pub const SIGN_OUT: Route = Route::public(
    "sign-out",
    Method::POST,
    "/auth/sign-out",
    handler!(sessions::sign_out),
)
.doc(concat!(
    "anyone; ends this session (`scope=local`, the default, also with an expired ",
    "access token), every session (`global`) or every other (`others`); clears the ",
    "cookie but for `others`"
))
.example_cookie()
.refuses(&[
    (
        401,
        "UNAUTHORIZED: an Authorization header without a valid access token",
    ),
    (403, "CSRF_FAILED: not from an allowed origin"),
])
.sets_cookie("Clears the session cookie (Max-Age=0), but with scope=others.")
.sometimes()
.security(Security::OptionalCookie);

pub const ME: Route = Route::user("me", Method::GET, "/me", handler!(users::me))
    .doc("signed in; own profile, role and permissions");

pub const LIST_MY_SESSIONS: Route = Route::user(
    "list-my-sessions",
    Method::GET,
    "/me/sessions",
    handler!(users::sessions::list),
)
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
)
.refuses(&[(404, "NOT_FOUND: no such session of the caller's")]);

pub const EXPORT_MY_DATA: Route = Route::user(
    "export-my-data",
    Method::GET,
    "/me/export",
    handler!(users::export::export),
)
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
))
.refuses(&[
    (403, "REAUTHENTICATION_NEEDED: the session signed in over 10 minutes ago and no password, or a wrong one, was sent"),
    LAST_ADMIN,
    (429, "RATE_LIMITED: too many wrong passwords for this account from this address; see Retry-After"),
])
.sets_cookie("Clears the session cookie (Max-Age=0) when the request carried it.")
.sometimes();

pub const LIST_USERS: Route =
    Route::user("list-users", Method::GET, "/users", handler!(users::list))
        .doc("users.read; name or email, case-insensitive, newest first")
        .example_query("search=bob&page=1&pageSize=20")
        .refuses(&[PERMISSION]);

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

.refuses(&[
    PERMISSION,
    (409, "CONFLICT: a user with this email already exists"),
    // Supabase Auth is outside the database's transaction: the claim of the key commits
    // first, so a duplicate meanwhile is refused, not queued.
    (
        409,
        "IDEMPOTENCY_IN_PROGRESS: a request with this Idempotency-Key is still running; see Retry-After",
    ),
]);

pub const GET_USER: Route =
    Route::user("get-user", Method::GET, "/users/{id}", handler!(users::get))
        .doc(concat!(
            "self, a public profile (no email), or users.read; ",
            "with the 5 newest published posts"
        ))
        .refuses(&[NO_USER]);

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
.refuses(&[
    (403, "FORBIDDEN: another user's profile needs users.write"),
    NO_USER,
]);

pub const DELETE_USER: Route = Route::user(
    "delete-user",
    Method::DELETE,
    "/users/{id}",
    handler!(users::delete),
)
.doc("users.delete; not oneself; 409 while the last admin of a workspace with other members; 204")
.refuses(&[
    (
        403,
        "FORBIDDEN: needs users.delete, and no one deletes themselves here",
    ),
    NO_USER,
    LAST_ADMIN,
]);

pub const LIST_POSTS: Route =
    Route::user("list-posts", Method::GET, "/posts", handler!(posts::list))
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
.doc("posts.write; `{title, body?}` (bounds: openapi.json)")
.refuses(&[PERMISSION]);

pub const GET_POST: Route =
    Route::user("get-post", Method::GET, "/posts/{id}", handler!(posts::get))
        .doc("as the list; others' drafts are 404")
        .refuses(&[NO_POST]);

pub const UPDATE_POST: Route = Route::user(
    "update-post",
    Method::PATCH,
    "/posts/{id}",
    handler!(posts::update),
)
.counted_in_database()
.doc("the author, or posts.publish holders; `{title?, body?}`")
.refuses(&[
    (
        403,
        "FORBIDDEN: only the author or posts.publish holders edit it",
    ),
    NO_POST,
]);

pub const DELETE_POST: Route = Route::user(
    "delete-post",
    Method::DELETE,
    "/posts/{id}",
    handler!(posts::delete),
)
.counted_in_database()
.doc("the author, or posts.delete")
.refuses(&[
    (
        403,
        "FORBIDDEN: only the author or posts.delete holders delete it",
    ),
    NO_POST,
]);

pub const PUBLISH_POST: Route = Route::user(
    "publish-post",
    Method::POST,
    "/posts/{id}/publish",
    handler!(posts::publish),
)
.idempotent()
.counted_in_database()
.doc("posts.publish")
.refuses(&[PERMISSION, NO_POST]);

pub const GET_SETTINGS: Route = Route::user(
    "get-settings",
    Method::GET,
    "/settings",
    handler!(settings::get),
)
.doc("settings.read")
.refuses(&[PERMISSION]);

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
.refuses(&[PERMISSION]);

pub const LIST_AUDIT_LOG: Route = Route::user(
    "list-audit-log",
    Method::GET,
    "/audit-log",
    handler!(audit_log::list),
)
.doc("admins; newest first")
.example_query("page=1&pageSize=20")
.refuses(&[(403, "FORBIDDEN: only admins read the audit log")]);

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
.refuses(&[(
    409,
    "CONFLICT: 20 uploads are in progress already; complete or delete one",
)]);

pub const LIST_UPLOADS: Route = Route::user(
    "list-uploads",
    Method::GET,
    "/uploads",
    handler!(uploads::list),
)
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
)
.refuses(&[NO_UPLOAD]);

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
)
.refuses(&[NO_UPLOAD]);

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
)
.refuses(&[
    NO_UPLOAD,
    (409, "CONFLICT: the upload is not pending, or no file was sent"),
    (422, "VALIDATION_ERROR: the file's size or type is not what was declared (the upload is rejected and the file deleted)"),
]);

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
.doc(concat!(
    "signed in; server-sent events through a Function URL (response streaming), ",
    "not the HttpApi; (count - 1) x intervalMs at most 50 s"
))
.timeout(60)
.example_query("count=3&intervalMs=100")
.refuses(&[(429, "RATE_LIMITED: too many streams")]);
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

/// The HttpApi's routes, in the order of docs/routes.md's route table.
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
