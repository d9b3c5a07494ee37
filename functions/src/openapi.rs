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
use shared::base::paging::Pagination;
use shared::pipeline::contract::{Bare, Own, Schemas, Security, Signature, Success};
use shared::pipeline::route::{Access, Route};
use shared::pipeline::SECURITY_HEADERS;

use crate::routes;

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

/// What one route takes and answers, beyond what every route of its kind has: its
/// handler's signature ([`Route::describe`]) and its table entry's own part
/// ([`Route::own`]).
struct Contract {
    sig: Signature,
    own: Own,
    security: Security,
    /// Operations to follow with this answer's `data.id`: (link name, operationId, parameter).
    links: Vec<(String, &'static str, &'static str)>,
}

/// Each route's contract, from its handler's types and its entry in the table.
fn contract(route: &Route, schemas: &mut Schemas) -> Contract {
    let mut sig = Signature {
        schemas: std::mem::take(schemas),
        ..Signature::default()
    };
    (route.describe)(&mut sig);
    *schemas = std::mem::take(&mut sig.schemas);
    let security = route.own.security.unwrap_or(match route.access() {
        Access::User => Security::User,
        Access::Public => Security::None,
    });
    Contract {
        links: links(route, &sig),
        sig,
        own: route.own,
        security,
    }
}

/// A create's links: the operations on what it created, the routes of `<path>/{id}`
/// (and below it, with no other path parameter).
fn links(route: &Route, sig: &Signature) -> Vec<(String, &'static str, &'static str)> {
    if !matches!(sig.success, Some(Success::Created(_))) {
        return Vec::new();
    }
    let item = format!("{}/{{id}}", route.path);
    routes::ALL
        .iter()
        .filter(|r| {
            r.path == item
                || (r.path.starts_with(&format!("{item}/")) && r.path.matches('{').count() == 1)
        })
        .map(|r| (pascal_case(r.function), r.function, "id"))
        .collect()
}

/// `get-project` -> `GetProject`.
fn pascal_case(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

impl Contract {
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
        let upstream = !matches!(self.security, Security::None) || self.sig.body.is_some();

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
        if self.sig.body.is_some() {
            add(400, "BAD_REQUEST: the body is not JSON");
            add(413, "PAYLOAD_TOO_LARGE: the body is over 64 KiB");
            add(
                415,
                "UNSUPPORTED_MEDIA_TYPE: the body is not application/json",
            );
            add(422, "VALIDATION_ERROR: a field is missing, unknown, of the wrong type or out of bounds (details.fields names it)");
        }
        if !self.sig.query.is_empty() {
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
        for (status, what) in self.own.refuses {
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
        let (status, mut success) = self.success_response(route, unsafe_method && user);
        if route.idempotent {
            success["headers"]["Idempotent-Replayed"] = json!({
                "description": "`true` when this is the first answer to the same Idempotency-Key and request, replayed",
                "schema": { "type": "string", "enum": ["true"] }
            });
        }
        responses.insert(status.to_string(), success);
        if let (Some((what, cookie)), Some(also)) = (self.own.also, &self.sig.also) {
            let (status, schema) = match also {
                Success::Ok(schema) => (200, schema),
                Success::Created(schema) => (201, schema),
                Success::Accepted(schema) => (202, schema),
                other => panic!(
                    "{}: a second answer must be Data, Created or Accepted, not {other:?}",
                    route.function
                ),
            };
            let mut headers = common_headers();
            if let Some(cookie) = cookie {
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
        parameters.extend(self.sig.query.iter().cloned());
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
        if let Some(body) = &self.sig.body {
            let mut content = json!({ "schema": body });
            // The body type's example (also the `cargo lambda invoke` fixture's body).
            if let Some(example) = self.sig.body_example_json() {
                content["example"] = example;
            }
            op["requestBody"] = json!({
                "required": !self.sig.body_optional,
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

    fn success_response(&self, route: &Route, counted: bool) -> (u16, Value) {
        let mut headers = common_headers();
        if counted {
            headers.insert("RateLimit".into(), header_ref("RateLimit"));
            headers.insert("RateLimit-Policy".into(), header_ref("RateLimitPolicy"));
        }
        if let Some(what) = self.own.cookie {
            headers.insert(
                "Set-Cookie".into(),
                json!({ "description": what, "required": !self.own.cookie_sometimes, "schema": { "type": "string" } }),
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
        let success = match (&self.sig.success, self.own.bare) {
            (_, Some(bare)) => Answered::Bare(bare),
            (Some(success), None) => Answered::Typed(success.clone()),
            (None, None) => panic!(
                "{}: its handler answers a bare response; say what it is with .bare(..)",
                route.function
            ),
        };
        let (status, description, content) = match &success {
            Answered::Typed(Success::Ok(schema)) => (200, "OK", Some(json_content(data(schema)))),
            Answered::Typed(Success::Created(schema)) => (201, "Created", Some(json_content(data(schema)))),
            Answered::Typed(Success::Page(schema)) => (
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
            Answered::Typed(Success::PageOf(schema)) => (
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
            Answered::Typed(Success::NoContent) => (204, "Done; no body", None),
            Answered::Typed(Success::Accepted(schema)) => (
                202,
                "Accepted: a link is on its way if the address may sign in (the same answer for any address)",
                Some(json_content(data(schema))),
            ),
            Answered::Bare(Bare::Redirect(status, what)) => {
                headers.insert(
                    "Location".into(),
                    json!({ "description": "Where the browser goes next", "required": true, "schema": { "type": "string" } }),
                );
                (*status, *what, None)
            }
            Answered::Typed(Success::Events(progress)) => (
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
            Answered::Bare(Bare::Document) => (
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
                    name.clone(),
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

/// A success as the document shows it.
enum Answered {
    Typed(Success),
    Bare(Bare),
}
