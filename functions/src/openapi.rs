//! The OpenAPI 3.1 document of the API (`openapi.json`), and `GET /openapi.json`.
//!
//! [`document`] builds it from the route table (every path, method, operation id, who
//! may call it) and from the handlers' own types through utoipa: request bodies, query
//! parameters and answers are the structs the handlers deserialize and serialize, and
//! string bounds are the [`crate::validate`] kinds the validators check. Per route, the
//! [`contract`] below names those types and the refusals that route adds to the ones
//! every route of its kind has. `make routes` writes the document;
//! tests/tests/api/routes.rs fails when the committed file is stale. The function serves
//! the committed file ([`crate::document`]), so the binaries carry none of this code.
//!
//! The operation skeleton is written as JSON by hand: utoipa's builders have no
//! `required` on response headers and no reusable header components in 3.1, which the
//! security headers need.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use shared::base::error::ErrorEnvelope;
use shared::base::paging::{PageQuery, Pagination};
use shared::pipeline::route::{Access, Route};
use shared::pipeline::SECURITY_HEADERS;
use utoipa::openapi::path::ParameterIn;
use utoipa::{IntoParams, ToSchema};

use crate::routes;
use crate::{
    audit_log, auth_links, health, posts, projects, sessions, settings, stream, uploads, users,
    workspaces,
};

pub use crate::document::DOCUMENT;

/// The document, pretty-printed with a final newline, as committed.
pub fn json() -> String {
    let mut text = serde_json::to_string_pretty(&document()).expect("the document serializes");
    text.push('\n');
    text
}

/// The whole document.
pub fn document() -> Value {
    let mut schemas = Schemas::default();
    schemas.add::<ErrorEnvelope>();
    schemas.add::<Pagination>();
    let mut paths: Map<String, Value> = Map::new();
    for route in routes::ALL.iter().chain(routes::STREAMING) {
        let operation = contract(route, &mut schemas).render(route);
        let item = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| json!({}));
        item[route.method.as_str().to_ascii_lowercase()] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "supa-lambda API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": concat!(
                "A Supabase-authenticated API on AWS Lambda. Every answer is JSON with the ",
                "security headers: `{\"data\": ...}` (lists add `pagination`) or ",
                "`{\"error\": {code, message, requestId, details?}}`. A path or method not ",
                "listed here is 404 NOT_FOUND. Sign in with a Supabase access token ",
                "(`Authorization: Bearer`) or the @supabase/ssr session cookie; cookie ",
                "writes must come from an allowed Origin. `/stream` is served by a Lambda ",
                "Function URL, not the HTTP API."
            ),
            "license": { "name": "MIT", "identifier": "MIT" },
        },
        "servers": [{ "url": "/", "description": "the API's own origin" }],
        "paths": paths,
        "components": {
            "schemas": schemas.0,
            "headers": headers(),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A Supabase access token (HS256 or the project's JWKS)."
                },
                "sessionCookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "sb-<project-ref>-auth-token",
                    "description": concat!(
                        "The @supabase/ssr session cookie that POST /auth/sign-in sets ",
                        "(possibly split into .0, .1, ... chunks). Unsafe methods need an ",
                        "allowed Origin (CSRF)."
                    )
                }
            }
        }
    })
}

/// What one route takes and answers, beyond what every route of its kind has.
#[derive(Default)]
struct Contract {
    body: Option<Value>,
    query: Vec<Value>,
    success: Success,
    /// Refusals of this route: status and what it means here.
    fails: Vec<(u16, &'static str)>,
    /// Operations to follow with this answer's `data.id`: (link name, operationId, parameter).
    links: Vec<(&'static str, &'static str, &'static str)>,
    cookie: Option<&'static str>,
    security: Security,
    /// Another success of this route: status, what it means, its `data`'s schema.
    also: Option<(u16, &'static str, Value)>,
    /// The success sets its cookie only sometimes (an email link that is no longer valid).
    cookie_sometimes: bool,
    /// The cookie the `also` answer sets.
    also_cookie: Option<&'static str>,
    /// The body may be left out.
    body_optional: bool,
}

#[derive(Default)]
enum Success {
    Ok(Value),
    Created(Value),
    Page(Value),
    /// A page whose `data` is an object naming what its items are (with `pagination`).
    PageOf(Value),
    #[default]
    NoContent,
    Events(Value),
    Document,
    /// A redirect (status, where to and why).
    Redirect(u16, &'static str),
    /// 202 with a body.
    Accepted(Value),
}

#[derive(Default, PartialEq)]
enum Security {
    /// Bearer token or session cookie (every user route).
    #[default]
    User,
    /// No credentials.
    None,
    /// The session cookie only.
    Cookie,
    /// The session cookie if there is one.
    OptionalCookie,
}

impl Contract {
    fn new() -> Self {
        Self::default()
    }
    fn body<T: ToSchema>(mut self, schemas: &mut Schemas) -> Self {
        self.body = Some(schemas.add::<T>());
        self
    }
    fn query<T: IntoParams>(mut self) -> Self {
        self.query.extend(
            T::into_params(|| Some(ParameterIn::Query))
                .into_iter()
                .map(|p| serde_json::to_value(p).expect("a parameter serializes")),
        );
        self
    }
    fn ok<T: ToSchema>(mut self, schemas: &mut Schemas) -> Self {
        self.success = Success::Ok(schemas.add::<T>());
        self
    }
    fn ok_schema(mut self, schema: Value) -> Self {
        self.success = Success::Ok(schema);
        self
    }
    fn created<T: ToSchema>(mut self, schemas: &mut Schemas) -> Self {
        self.success = Success::Created(schemas.add::<T>());
        self
    }
    fn page<T: ToSchema>(self, schemas: &mut Schemas) -> Self {
        let mut this = self.query::<PageQuery>();
        this.success = Success::Page(schemas.add::<T>());
        this
    }
    fn fails(mut self, fails: &[(u16, &'static str)]) -> Self {
        self.fails.extend_from_slice(fails);
        self
    }
    fn links(mut self, links: &[(&'static str, &'static str, &'static str)]) -> Self {
        self.links.extend_from_slice(links);
        self
    }
    fn cookie(mut self, what: &'static str) -> Self {
        self.cookie = Some(what);
        self
    }
    fn security(mut self, security: Security) -> Self {
        self.security = security;
        self
    }
    fn also<T: ToSchema>(mut self, status: u16, what: &'static str, schemas: &mut Schemas) -> Self {
        self.also = Some((status, what, schemas.add::<T>()));
        self
    }
}

/// The cookie of every request for an email link.
const EMAIL_LINK_COOKIE: &str = "The email-link cookie (`<session cookie>-email-link`), HttpOnly, SameSite=Lax, one hour: the link signs in at once only in this browser.";

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

/// Each route's contract, by function name. A route without one fails `make routes`.
fn contract(route: &Route, s: &mut Schemas) -> Contract {
    use Security as S;
    let project_links: &[(&str, &str, &str)] = &[
        ("GetProject", "get-project", "id"),
        ("UpdateProject", "update-project", "id"),
        ("DeleteProject", "delete-project", "id"),
    ];
    let post_links: &[(&str, &str, &str)] = &[
        ("GetPost", "get-post", "id"),
        ("UpdatePost", "update-post", "id"),
        ("PublishPost", "publish-post", "id"),
        ("DeletePost", "delete-post", "id"),
    ];
    let upload_links: &[(&str, &str, &str)] = &[
        ("GetUpload", "get-upload", "id"),
        ("CompleteUpload", "complete-upload", "id"),
        ("DeleteUpload", "delete-upload", "id"),
    ];
    let user_links: &[(&str, &str, &str)] = &[
        ("GetUser", "get-user", "id"),
        ("UpdateUser", "update-user", "id"),
        ("DeleteUser", "delete-user", "id"),
    ];
    let c = Contract::new();
    match route.function {
        "health" => c.ok::<health::Health>(s).security(S::None),
        "openapi" => Contract {
            success: Success::Document,
            security: S::None,
            ..Contract::new()
        },
        "list-workspaces" => c.page::<workspaces::Workspace>(s),
        "create-workspace" => c
            .body::<workspaces::NewWorkspace>(s)
            .created::<workspaces::Workspace>(s)
            .links(&[("AddMember", "add-workspace-member", "id")]),
        "add-workspace-member" => c
            .body::<workspaces::NewMember>(s)
            .created::<workspaces::Member>(s)
            .fails(&[
                (403, "FORBIDDEN: only the workspace's admins add members"),
                NOT_MEMBER,
                (409, "CONFLICT: the user is already a member"),
            ]),
        "remove-workspace-member" => c.fails(&[
            (403, "FORBIDDEN: only the workspace's admins remove members"),
            (404, "NOT_FOUND: no such workspace or member the caller can see"),
            (409, "CONFLICT: a workspace must keep at least one admin"),
        ]),
        "list-projects" => c
            .query::<projects::ListQuery>()
            .page::<projects::Project>(s)
            .fails(&[NOT_MEMBER]),
        "create-project" => c
            .body::<projects::NewProject>(s)
            .created::<projects::Project>(s)
            .fails(&[EDITOR, NOT_MEMBER])
            .links(project_links),
        "get-project" => c.ok::<projects::Project>(s).fails(&[NO_PROJECT]),
        "update-project" => c
            .body::<projects::ProjectChanges>(s)
            .ok::<projects::Project>(s)
            .fails(&[EDITOR, NO_PROJECT]),
        "delete-project" => c.fails(&[
            (403, "FORBIDDEN: only the workspace's admins delete projects"),
            NO_PROJECT,
        ]),
        "sign-in" => c
            .body::<sessions::Credentials>(s)
            .ok::<sessions::SignedIn>(s)
            .fails(&[
                (401, "UNAUTHORIZED: wrong email or password"),
                (429, "RATE_LIMITED: too many attempts from this address or for this email; see Retry-After"),
            ])
            .cookie("The session cookie (@supabase/ssr format), HttpOnly, SameSite=Lax.")
            .security(S::None),
        "sign-up" => c
            .body::<sessions::NewAccount>(s)
            .created::<sessions::SignedIn>(s)
            .also::<sessions::ConfirmationSent>(
                202,
                "Accepted: a confirmation email was sent (also the answer for an address that already has an account)",
                s,
            )
            .fails(&[
                (403, "FORBIDDEN: sign-ups are closed (signupsEnabled is off)"),
                (403, "CSRF_FAILED: a browser request from an origin that is not allowed"),
                (409, "CONFLICT: the address already has an account (only when the project confirms emails itself)"),
                (429, "RATE_LIMITED: too many sign-ups from this address, or emails to this one; see Retry-After"),
                (503, "MAINTENANCE: the site is in maintenance mode; see Retry-After"),
            ])
            .cookie("With 201: the session cookie (@supabase/ssr format), HttpOnly, SameSite=Lax.")
            .tap(|c| c.also_cookie = Some(EMAIL_LINK_COOKIE))
            .security(S::None),
        "oauth-start" => c
            .query::<auth_links::OAuthQuery>()
            .tap(|c| {
                c.success = Success::Redirect(
                    302,
                    "To Supabase Auth's /authorize with the PKCE challenge; the code verifier is set in a 10-minute HttpOnly cookie",
                )
            })
            .cookie("The PKCE code verifier (`<session cookie>-code-verifier`), HttpOnly, SameSite=Lax, 10 minutes.")
            .fails(&[(422, "VALIDATION_ERROR: next is not a path or a URL on an allowed origin")])
            .security(S::None),
        "oauth-callback" => c
            .query::<auth_links::CallbackQuery>()
            .tap(|c| {
                c.success = Success::Redirect(
                    303,
                    "To `next` (new_user=true on a first sign-in) with the session cookie; on any failure to `next` (or the app) with `error` and `error_description`, the verifier cleared either way",
                )
            })
            .cookie("The session cookie, and the code verifier cleared (on failure, only the latter).")
            .security(S::OptionalCookie),
        // The same answer and refusals for both link requests (auth_links::send_link).
        "magic-link" | "recover" => c
            .body::<auth_links::LinkRequest>(s)
            .tap(|c| c.success = Success::Accepted(s.add::<auth_links::LinkSent>()))
            .cookie(EMAIL_LINK_COOKIE)
            .fails(&[
                (403, "CSRF_FAILED: a browser request from an origin that is not allowed"),
                (429, "RATE_LIMITED: too many links asked for from this address or for this email; see Retry-After"),
            ])
            .security(S::None),
        "confirm-email-link" => c
            .query::<auth_links::ConfirmQuery>()
            .tap(|c| {
                c.success = Success::Redirect(
                    303,
                    "In the browser that asked for the link (its email-link cookie matches `flow`): to `next` with the session cookie (new_user=true on a first sign-in, set_password=true when a password set before the confirmation was cleared), an invalid, used or expired link with `error=otp_expired`. Anywhere else: to `next` with `#confirm_token_hash=...&confirm_type=...`, the confirmation step, nothing verified",
                )
            })
            .cookie("In the browser that asked for a valid link: the session cookie, and the email-link cookie cleared.")
            .tap(|c| c.cookie_sometimes = true)
            .security(S::None),
        "complete-email-link" => c
            .body::<auth_links::LinkConfirmation>(s)
            .ok::<auth_links::Confirmed>(s)
            .fails(&[
                (401, "UNAUTHORIZED: the link is invalid, used or expired"),
                (403, "CSRF_FAILED: a browser request from an origin that is not allowed"),
            ])
            .cookie("The session cookie (@supabase/ssr format), HttpOnly, SameSite=Lax.")
            .security(S::None),
        "set-password" => c
            .body::<auth_links::NewPassword>(s)
            .fails(&[(422, "VALIDATION_ERROR: the password is too short, too long or too weak")]),
        "refresh-session" => c
            .ok::<sessions::SignedIn>(s)
            .fails(&[
                (401, "UNAUTHORIZED: no session cookie, or its refresh token is no longer valid (the cookie is cleared)"),
                (403, "CSRF_FAILED: not from an allowed origin"),
                (429, "RATE_LIMITED: too many refreshes from this address; see Retry-After"),
            ])
            .cookie("The renewed session cookie.")
            .security(S::Cookie),
        "sign-out" => c
            .query::<sessions::SignOutQuery>()
            .fails(&[
                (401, "UNAUTHORIZED: an Authorization header without a valid access token"),
                (403, "CSRF_FAILED: not from an allowed origin"),
            ])
            .cookie("Clears the session cookie (Max-Age=0), but with scope=others.")
            .tap(|c| c.cookie_sometimes = true)
            .security(S::OptionalCookie),
        "me" => c.ok::<users::profiles::Me>(s),
        "list-my-sessions" => c.page::<users::sessions::Session>(s),
        "revoke-my-session" => c.fails(&[(
            404,
            "NOT_FOUND: no such session of the caller's",
        )]),
        "list-users" => c
            .query::<users::profiles::ListQuery>()
            .page::<users::Profile>(s)
            .fails(&[PERMISSION]),
        "create-user" => c
            .body::<users::accounts::NewUser>(s)
            .created::<users::accounts::CreatedUser>(s)
            .fails(&[
                PERMISSION,
                (409, "CONFLICT: a user with this email already exists"),
                // Supabase Auth is outside the database's transaction: the claim of the
                // key commits first, so a duplicate meanwhile is refused, not queued.
                (
                    409,
                    "IDEMPOTENCY_IN_PROGRESS: a request with this Idempotency-Key is still running; see Retry-After",
                ),
            ])
            .links(user_links),
        "get-user" => c
            .ok_schema(json!({
                "anyOf": [
                    s.add::<users::profiles::UserWithPosts>(),
                    s.add::<users::profiles::PublicUserWithPosts>(),
                ]
            }))
            .fails(&[NO_USER]),
        "update-user" => c
            .body::<users::profiles::ProfileChanges>(s)
            .ok::<users::Profile>(s)
            .fails(&[
                (403, "FORBIDDEN: another user's profile needs users.write"),
                NO_USER,
            ]),
        "delete-user" => c.fails(&[
            (403, "FORBIDDEN: needs users.delete, and no one deletes themselves here"),
            NO_USER,
            LAST_ADMIN,
        ]),
        "export-my-data" => c
            .query::<users::export::ExportQuery>()
            .tap(|c| c.success = Success::PageOf(s.add::<users::export::ExportItems>())),
        "delete-my-account" => c
            .body::<users::accounts::AccountDeletion>(s)
            .tap(|c| c.body_optional = true)
            .fails(&[
                (403, "REAUTHENTICATION_NEEDED: the session signed in over 10 minutes ago and no password, or a wrong one, was sent"),
                LAST_ADMIN,
                (429, "RATE_LIMITED: too many wrong passwords for this account from this address; see Retry-After"),
            ])
            .cookie("Clears the session cookie (Max-Age=0) when the request carried it.")
            .tap(|c| c.cookie_sometimes = true),
        "list-posts" => c.page::<posts::Post>(s),
        "create-post" => c
            .body::<posts::NewPost>(s)
            .created::<posts::Post>(s)
            .fails(&[PERMISSION])
            .links(post_links),
        "get-post" => c.ok::<posts::Post>(s).fails(&[NO_POST]),
        "update-post" => c
            .body::<posts::PostChanges>(s)
            .ok::<posts::Post>(s)
            .fails(&[
                (403, "FORBIDDEN: only the author or posts.publish holders edit it"),
                NO_POST,
            ]),
        "delete-post" => c.fails(&[
            (403, "FORBIDDEN: only the author or posts.delete holders delete it"),
            NO_POST,
        ]),
        "publish-post" => c.ok::<posts::Post>(s).fails(&[PERMISSION, NO_POST]),
        "get-settings" => c.ok::<settings::Settings>(s).fails(&[PERMISSION]),
        "update-settings" => c
            .body::<settings::Settings>(s)
            .ok::<settings::Settings>(s)
            .fails(&[PERMISSION]),
        "list-audit-log" => c
            .page::<audit_log::Entry>(s)
            .fails(&[(403, "FORBIDDEN: only admins read the audit log")]),
        "create-upload" => c
            .body::<uploads::NewUpload>(s)
            .created::<uploads::CreatedUpload>(s)
            .fails(&[(409, "CONFLICT: 20 uploads are in progress already; complete or delete one")])
            .links(upload_links),
        "list-uploads" => c.page::<uploads::Upload>(s),
        "get-upload" => c.ok::<uploads::Upload>(s).fails(&[NO_UPLOAD]),
        "delete-upload" => c.fails(&[NO_UPLOAD]),
        "complete-upload" => c.ok::<uploads::Upload>(s).fails(&[
            NO_UPLOAD,
            (409, "CONFLICT: the upload is not pending, or no file was sent"),
            (422, "VALIDATION_ERROR: the file's size or type is not what was declared (the upload is rejected and the file deleted)"),
        ]),
        "stream" => {
            let progress = s.add::<stream::Progress>();
            c.query::<stream::StreamQuery>()
                .fails(&[(429, "RATE_LIMITED: too many streams")])
                .tap(|c| c.success = Success::Events(progress))
        }
        other => panic!("route {other} has no contract in functions/src/openapi.rs"),
    }
}

impl Contract {
    fn tap(mut self, f: impl FnOnce(&mut Self)) -> Self {
        f(&mut self);
        self
    }

    /// The operation object: the route's own contract plus what every route of its
    /// kind answers.
    fn render(self, route: &Route) -> Value {
        let user = route.access() == Access::User;
        let unsafe_method = !matches!(route.method.as_str(), "GET" | "HEAD");
        let path_params: Vec<&str> = route
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        let upstream = !matches!(self.security, Security::None) || self.body.is_some();

        // Refusals: status -> descriptions.
        let mut errors: BTreeMap<u16, Vec<&'static str>> = BTreeMap::new();
        let mut add =
            |status: u16, what: &'static str| errors.entry(status).or_default().push(what);
        if user {
            add(
                401,
                "UNAUTHORIZED: no credentials, or a token that is invalid or expired",
            );
        }
        if user && unsafe_method {
            add(403, "FORBIDDEN: anonymous users cannot write");
            add(
                403,
                "CSRF_FAILED: a cookie-authenticated write from an origin that is not allowed",
            );
            add(
                429,
                "RATE_LIMITED: too many writes of this kind; see Retry-After",
            );
            add(
                503,
                "MAINTENANCE: the site is in maintenance mode and the caller is not an admin; see Retry-After",
            );
        }
        if self.body.is_some() {
            add(400, "BAD_REQUEST: the body is not JSON");
            add(413, "PAYLOAD_TOO_LARGE: the body is over 64 KiB");
            add(
                415,
                "UNSUPPORTED_MEDIA_TYPE: the body is not application/json",
            );
            add(422, "VALIDATION_ERROR: a field is missing, unknown, of the wrong type or out of bounds (details.fields names it)");
        }
        if !self.query.is_empty() {
            add(400, "BAD_REQUEST: the query string is malformed");
            add(422, "VALIDATION_ERROR: a query parameter is unknown, repeated or out of bounds (details.fields names it)");
        }
        if path_params.contains(&"provider") {
            add(
                404,
                "NOT_FOUND: a provider this API does not enable (AUTH_PROVIDERS)",
            );
        } else if !path_params.is_empty() {
            add(404, "NOT_FOUND: an id that is not a UUID");
        }
        for (status, what) in &self.fails {
            add(*status, what);
        }
        if route.idempotent {
            add(422, "VALIDATION_ERROR: the Idempotency-Key header is empty, over 255 characters or not visible ASCII (details.fields names it)");
            add(
                422,
                "IDEMPOTENCY_KEY_REUSED: this Idempotency-Key was already used for a different request",
            );
        }
        if upstream {
            add(
                500,
                "INTERNAL_ERROR: an unexpected error (the log has the cause)",
            );
            add(503, "SERVICE_UNAVAILABLE: Postgres, PostgREST, Supabase Auth or S3 did not answer in time");
        }

        let mut responses = Map::new();
        let (status, mut success) = self.success_response(unsafe_method && user);
        if route.idempotent {
            success["headers"]["Idempotent-Replayed"] = json!({
                "description": "`true` when this is the first answer to the same Idempotency-Key and request, replayed",
                "schema": { "type": "string", "enum": ["true"] }
            });
        }
        responses.insert(status.to_string(), success);
        if let Some((status, what, schema)) = &self.also {
            let mut headers = common_headers();
            if let Some(cookie) = self.also_cookie {
                headers.insert(
                    "Set-Cookie".into(),
                    json!({ "description": cookie, "required": true, "schema": { "type": "string" } }),
                );
            }
            responses.insert(
                status.to_string(),
                json!({
                    "description": what,
                    "headers": headers,
                    "content": json_content(json!({
                        "type": "object",
                        "required": ["data"],
                        "properties": { "data": schema },
                        "additionalProperties": false
                    }))
                }),
            );
        }
        for (status, whats) in errors {
            responses.insert(status.to_string(), error_response(status, &whats));
        }

        let mut parameters: Vec<Value> = path_params
            .iter()
            .map(|name| {
                let schema = if *name == "provider" {
                    json!({
                        "type": "string",
                        "description": "github, google, or another provider AUTH_PROVIDERS lists",
                        "examples": ["github", "google"]
                    })
                } else {
                    json!({ "type": "string", "format": "uuid" })
                };
                json!({ "name": name, "in": "path", "required": true, "schema": schema })
            })
            .collect();
        parameters.extend(self.query);
        if route.idempotent {
            parameters.push(json!({
                "name": "Idempotency-Key",
                "in": "header",
                "required": false,
                "description": concat!(
                    "A key of the client's choosing (a UUID) that makes a retry safe: the same ",
                    "user, key and request within 24 hours get the first answer back ",
                    "(`Idempotent-Replayed: true`); the key for a different request is 422; a ",
                    "duplicate sent while the first runs waits for it. Also honoured by ",
                    "PostgREST's own endpoints for the same functions."
                ),
                "schema": { "type": "string", "pattern": "^[!-~]{1,255}$" }
            }));
        }

        let mut op = json!({
            "operationId": route.function,
            "summary": summary(route),
            "description": format!("Who may call it, and what it does: {}. (Function `{}`.)", route.doc, route.function),
            "tags": [tag(route)],
            "responses": responses,
        });
        if !parameters.is_empty() {
            op["parameters"] = Value::Array(parameters);
        }
        if let Some(body) = self.body {
            let mut content = json!({ "schema": body });
            // The route table's example request (also its `cargo lambda invoke` fixture).
            if let Some(example) = route.example.body {
                content["example"] =
                    serde_json::from_str(example).expect("a route's example body is JSON");
            }
            op["requestBody"] = json!({
                "required": !self.body_optional,
                "content": { "application/json": content }
            });
        }
        op["security"] = match self.security {
            Security::User => json!([{ "bearer": [] }, { "sessionCookie": [] }]),
            Security::None => json!([]),
            Security::Cookie => json!([{ "sessionCookie": [] }]),
            Security::OptionalCookie => json!([{}, { "sessionCookie": [] }]),
        };
        op
    }

    fn success_response(&self, counted: bool) -> (u16, Value) {
        let mut headers = common_headers();
        if counted {
            headers.insert("RateLimit".into(), header_ref("RateLimit"));
            headers.insert("RateLimit-Policy".into(), header_ref("RateLimitPolicy"));
        }
        if let Some(what) = self.cookie {
            headers.insert(
                "Set-Cookie".into(),
                json!({ "description": what, "required": !self.cookie_sometimes, "schema": { "type": "string" } }),
            );
        }
        let data = |schema: &Value| {
            json!({
                "type": "object",
                "required": ["data"],
                "properties": { "data": schema },
                "additionalProperties": false
            })
        };
        let (status, description, content) = match &self.success {
            Success::Ok(schema) => (200, "OK", Some(json_content(data(schema)))),
            Success::Created(schema) => (201, "Created", Some(json_content(data(schema)))),
            Success::Page(schema) => (
                200,
                "One page of the list",
                Some(json_content(json!({
                    "type": "object",
                    "required": ["data", "pagination"],
                    "properties": {
                        "data": { "type": "array", "items": schema },
                        "pagination": { "$ref": "#/components/schemas/Pagination" }
                    },
                    "additionalProperties": false
                }))),
            ),
            Success::PageOf(schema) => (
                200,
                "One page",
                Some(json_content(json!({
                    "type": "object",
                    "required": ["data", "pagination"],
                    "properties": {
                        "data": schema,
                        "pagination": { "$ref": "#/components/schemas/Pagination" }
                    },
                    "additionalProperties": false
                }))),
            ),
            Success::NoContent => (204, "Done; no body", None),
            Success::Accepted(schema) => (
                202,
                "Accepted: a link is on its way if the address may sign in (the same answer for any address)",
                Some(json_content(data(schema))),
            ),
            Success::Redirect(status, what) => {
                headers.insert(
                    "Location".into(),
                    json!({ "description": "Where the browser goes next", "required": true, "schema": { "type": "string" } }),
                );
                (*status, *what, None)
            }
            Success::Events(progress) => (
                200,
                "Server-sent events: `data: <StreamProgress JSON>` messages, `: keep-alive` comments, then `data: [DONE]`",
                Some(json!({
                    "text/event-stream": {
                        "schema": {
                            "type": "string",
                            "description": "An SSE stream; each message's data is a StreamProgress, the last one `[DONE]`.",
                            "x-sse-data": progress
                        }
                    }
                })),
            ),
            Success::Document => (
                200,
                "This document",
                Some(json_content(json!({ "type": "object", "required": ["openapi", "paths"] }))),
            ),
        };
        let mut response = json!({ "description": description, "headers": headers });
        if let Some(content) = content {
            response["content"] = content;
        }
        let links: Map<String, Value> = self
            .links
            .iter()
            .map(|(name, op, param)| {
                (
                    (*name).to_owned(),
                    json!({
                        "operationId": op,
                        "parameters": { *param: "$response.body#/data/id" }
                    }),
                )
            })
            .collect();
        if !links.is_empty() {
            response["links"] = Value::Object(links);
        }
        (status, response)
    }
}

fn json_content(schema: Value) -> Value {
    json!({ "application/json": { "schema": schema } })
}

fn error_response(status: u16, whats: &[&'static str]) -> Value {
    let mut headers = common_headers();
    match status {
        401 => {
            headers.insert(
                "WWW-Authenticate".into(),
                json!({
                    "description": "`Bearer`, or `Bearer error=\"invalid_token\"` for a token that was refused",
                    "required": true,
                    "schema": { "type": "string", "pattern": "^Bearer" }
                }),
            );
        }
        429 => {
            headers.insert("Retry-After".into(), header_ref("RetryAfter"));
            headers.insert("RateLimit".into(), header_ref("RateLimit"));
            headers.insert("RateLimit-Policy".into(), header_ref("RateLimitPolicy"));
        }
        409 if whats
            .iter()
            .any(|w| w.starts_with("IDEMPOTENCY_IN_PROGRESS:")) =>
        {
            headers.insert(
                "Retry-After".into(),
                json!({
                    "description": "With IDEMPOTENCY_IN_PROGRESS: seconds to wait before retrying",
                    "schema": { "type": "string", "pattern": "^[0-9]+$" }
                }),
            );
        }
        503 if whats.iter().any(|w| w.starts_with("MAINTENANCE:")) => {
            headers.insert(
                "Retry-After".into(),
                json!({
                    "description": "With MAINTENANCE: seconds to wait before writing again",
                    "schema": { "type": "string", "pattern": "^[0-9]+$" }
                }),
            );
        }
        _ => {}
    }
    let codes: Vec<&str> = whats.iter().filter_map(|w| w.split(':').next()).collect();
    let mut description = whats.join("; ");
    description.push('.');
    json!({
        "description": description,
        "headers": headers,
        "content": json_content(json!({
            "allOf": [{ "$ref": "#/components/schemas/Error" }],
            "properties": {
                "error": { "properties": { "code": { "enum": dedup(codes) } } }
            }
        }))
    })
}

fn dedup(mut codes: Vec<&str>) -> Vec<&str> {
    codes.sort_unstable();
    codes.dedup();
    codes
}

/// The headers every answer carries: the security headers and `x-request-id`.
fn common_headers() -> Map<String, Value> {
    let mut headers = Map::new();
    for (name, _) in SECURITY_HEADERS {
        headers.insert(header_name(name), header_ref(&component_name(name)));
    }
    headers.insert("X-Request-Id".into(), header_ref("XRequestId"));
    headers
}

fn header_ref(component: &str) -> Value {
    json!({ "$ref": format!("#/components/headers/{component}") })
}

/// `components.headers`: each security header with its exact value, and the others.
fn headers() -> Value {
    let mut headers = Map::new();
    for (name, value) in SECURITY_HEADERS {
        headers.insert(
            component_name(name),
            json!({
                "description": "A security header every answer carries.",
                "required": true,
                "schema": { "type": "string", "const": value }
            }),
        );
    }
    headers.insert(
        "XRequestId".into(),
        json!({
            "description": "The request's id (also `error.requestId`); quote it to support.",
            "required": true,
            "schema": { "type": "string", "minLength": 1 }
        }),
    );
    headers.insert(
        "RateLimit".into(),
        json!({
            "description": "IETF httpapi RateLimit: what is left of the quota, e.g. `\"create-project\";r=29;t=60`.",
            "schema": { "type": "string" }
        }),
    );
    headers.insert(
        "RateLimitPolicy".into(),
        json!({
            "description": "IETF httpapi RateLimit-Policy: the quota, e.g. `\"create-project\";q=30;w=60`.",
            "schema": { "type": "string" }
        }),
    );
    headers.insert(
        "RetryAfter".into(),
        json!({
            "description": "Seconds until the quota allows another request.",
            "required": true,
            "schema": { "type": "string", "pattern": "^[0-9]+$" }
        }),
    );
    Value::Object(headers)
}

/// `x-content-type-options` -> `X-Content-Type-Options`.
fn header_name(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// `x-content-type-options` -> `XContentTypeOptions`.
fn component_name(name: &str) -> String {
    header_name(name).replace('-', "")
}

fn summary(route: &Route) -> String {
    let mut words = route.function.replace('-', " ");
    if let Some(first) = words.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    words
}

fn tag(route: &Route) -> &'static str {
    let first = route
        .path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("");
    match first {
        "workspaces" => "workspaces",
        "projects" => "projects",
        "auth" | "me" => "sessions",
        "users" => "users",
        "posts" => "posts",
        "settings" | "audit-log" => "admin",
        "uploads" => "uploads",
        "stream" => "stream",
        _ => "meta",
    }
}

/// `components.schemas`, filled as contracts name types.
#[derive(Default)]
struct Schemas(BTreeMap<String, Value>);

impl Schemas {
    /// Adds `T` (and every schema it refers to) and answers a `$ref` to it.
    fn add<T: ToSchema>(&mut self) -> Value {
        let mut found = Vec::new();
        T::schemas(&mut found);
        found.push((T::name().into_owned(), T::schema()));
        for (name, schema) in found {
            let schema = serde_json::to_value(schema).expect("a schema serializes");
            self.0.entry(name).or_insert(schema);
        }
        json!({ "$ref": format!("#/components/schemas/{}", T::name()) })
    }
}
