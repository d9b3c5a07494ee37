//! The request pipeline every route runs through:
//! request id -> method check -> credentials -> token verification -> handler ->
//! error mapping -> JSON envelope -> security headers -> one log line.

use std::convert::Infallible;
use std::future::Future;
use std::time::Instant;

use http::{HeaderValue, Method, StatusCode};
use lambda_http::{service_fn, Body, Request, RequestExt, Response};
use uuid::Uuid;

use crate::auth::{bearer_token, AuthUser, Rejection};
use crate::error::{ApiError, ErrorCode};
use crate::response::{json_response, ApiResult};
use crate::App;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No credentials read at all.
    Public,
    /// A verified Supabase user access token is required.
    User,
}

/// One HTTP route: the function name (binary and template.yaml), method and path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub function: &'static str,
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
}

/// What the pipeline knows about a request before the handler runs.
#[derive(Debug, Clone)]
pub struct Caller {
    pub request_id: String,
    user: Option<AuthUser>,
}

impl Caller {
    /// The verified user. Always present on [`Access::User`] routes.
    pub fn user(&self) -> Result<&AuthUser, ApiError> {
        self.user
            .as_ref()
            .ok_or_else(|| ApiError::unauthorized("route called without a verified user"))
    }
}

/// Headers on every response, errors included.
pub const SECURITY_HEADERS: &[(&str, &str)] = &[
    ("cache-control", "no-store"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
    ("referrer-policy", "no-referrer"),
    (
        "strict-transport-security",
        "max-age=63072000; includeSubDomains",
    ),
    ("cross-origin-resource-policy", "same-origin"),
    (
        "permissions-policy",
        "geolocation=(), camera=(), microphone=()",
    ),
];

/// Runs one request through the pipeline and the handler. Never fails: every error
/// becomes an error response. Tests call this directly with a built `Request`.
pub async fn dispatch<F, Fut>(app: &App, route: &Route, req: Request, handler: F) -> Response<Body>
where
    F: FnOnce(App, Caller, Request) -> Fut,
    Fut: Future<Output = ApiResult>,
{
    let started = Instant::now();
    let request_id = request_id(&req);
    let method = req.method().clone();

    let (result, user_id) = match authenticate(app, route, &req).await {
        Err(e) => (Err(e), None),
        Ok(user) => {
            let user_id = user.as_ref().map(|u| u.id);
            let caller = Caller {
                request_id: request_id.clone(),
                user,
            };
            if method != route.method {
                (
                    Err(ApiError::method_not_allowed(
                        route.method.as_str().to_owned(),
                    )),
                    user_id,
                )
            } else {
                (handler(app.clone(), caller, req).await, user_id)
            }
        }
    };

    let (mut response, cause) = match result {
        Ok(response) => (response, None),
        Err(error) => (error_response(&error, &request_id), error.cause.clone()),
    };
    finish_headers(&mut response, &request_id);

    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_millis() as u64;
    let user_id = user_id.map(|id| id.to_string());
    if status >= 500 {
        tracing::error!(
            request_id, route = route.function, method = %method, status, latency_ms,
            user_id, cause = cause.as_deref(), "request"
        );
    } else if status == 401 || status == 403 {
        tracing::warn!(
            request_id, route = route.function, method = %method, status, latency_ms,
            user_id, cause = cause.as_deref(), security_event = true, "request"
        );
    } else {
        tracing::info!(
            request_id, route = route.function, method = %method, status, latency_ms,
            user_id, cause = cause.as_deref(), "request"
        );
    }
    response
}

/// Starts the Lambda runtime for one route: telemetry, the clients (once, at cold
/// start; a bad configuration stops the start with a message naming the variable),
/// then every invocation through [`dispatch`].
pub async fn run<F, Fut>(route: Route, handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(App, Caller, Request) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = ApiResult> + Send,
{
    crate::telemetry::init();
    let app = App::from_env().inspect_err(|e| {
        tracing::error!(route = route.function, error = %e, "cold start failed");
    })?;
    let app = &app;
    let route = &route;
    lambda_http::run(service_fn(move |req: Request| async move {
        Ok::<_, Infallible>(dispatch(app, route, req, handler).await)
    }))
    .await
}

async fn authenticate(
    app: &App,
    route: &Route,
    req: &Request,
) -> Result<Option<AuthUser>, ApiError> {
    if route.access == Access::Public {
        return Ok(None);
    }
    let token = bearer_token(req).map_err(rejected)?;
    let user = app.tokens.verify(token).await.map_err(rejected)?;
    Ok(Some(user))
}

fn rejected(rejection: Rejection) -> ApiError {
    ApiError::unauthorized(rejection.reason())
}

fn request_id(req: &Request) -> String {
    if let Some(ctx) = req.lambda_context_ref() {
        if !ctx.request_id.is_empty() {
            return ctx.request_id.clone();
        }
    }
    Uuid::new_v4().to_string()
}

fn error_response(error: &ApiError, request_id: &str) -> Response<Body> {
    let mut response = json_response(error.status(), &error.body(request_id));
    let headers = response.headers_mut();
    if error.code == ErrorCode::Unauthorized {
        let value = if error.cause.as_deref() == Some(Rejection::Missing.reason()) {
            "Bearer"
        } else {
            "Bearer error=\"invalid_token\""
        };
        headers.insert(
            http::header::WWW_AUTHENTICATE,
            HeaderValue::from_static(value),
        );
    }
    if let Some(allow) = error
        .allow
        .as_deref()
        .and_then(|a| HeaderValue::from_str(a).ok())
    {
        headers.insert(http::header::ALLOW, allow);
    }
    response
}

fn finish_headers(response: &mut Response<Body>, request_id: &str) {
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.insert(*name, HeaderValue::from_static(value));
    }
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-request-id", v);
    }
    if response.status() != StatusCode::NO_CONTENT
        && !response.headers().contains_key("content-type")
    {
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
    }
}
