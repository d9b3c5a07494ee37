//! The request pipeline every route runs through (see [`crate::pipeline`]).

use std::convert::Infallible;
use std::future::Future;
use std::time::Instant;

use http::{HeaderMap, HeaderValue, Method, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{service_fn, Body, Request, RequestExt, Response};
use uuid::Uuid;

use crate::auth::{credential, AuthUser, CredentialSource, Rejection, SignedIn};
use crate::base::caller::Caller;
use crate::base::error::{ApiError, ErrorCode};
use crate::clients::{App, KeysAtStart};
use crate::config::ConfigError;
use crate::pipeline::response::{json_response, ApiResult};
use crate::pipeline::route::{Access, Handler, Route, WriteLimit};
use crate::policy::audit::{self, AuditEvent};

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

/// Methods and request headers a browser may use cross-origin (allowed origins only).
pub const CORS_ALLOW_METHODS: &str = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
pub const CORS_ALLOW_HEADERS: &[&str] = &[
    "authorization",
    "content-type",
    "apikey",
    "x-client-info",
    "x-request-id",
    "idempotency-key",
];
pub const CORS_EXPOSE_HEADERS: &str =
    "x-request-id, retry-after, ratelimit, ratelimit-policy, idempotent-replayed";
pub const CORS_MAX_AGE_SECONDS: &str = "600";

fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Runs one request through the pipeline to the route's own handler (as [`serve`] runs
/// it). Never fails: every error becomes an error response.
pub async fn dispatch(app: &App, route: &Route, req: Request) -> Response<Body> {
    match route.handler {
        Handler::Public(handler) => {
            dispatch_with(app, route, req, |app, caller, _, req| {
                handler(app, caller, req)
            })
            .await
        }
        Handler::User(handler) => {
            dispatch_with(app, route, req, |app, caller, user, req| async move {
                handler(app, signed_in(caller, user)?, req).await
            })
            .await
        }
        Handler::Stream { .. } => {
            let cause = format!(
                "{} is a streaming route (sse::dispatch_stream)",
                route.function
            );
            dispatch_with(app, route, req, |_, _, _, _| async {
                Err(ApiError::internal(cause))
            })
            .await
        }
    }
}

/// The signed-in caller of a [`Route::user`] route: the pipeline has verified the user.
pub(crate) fn signed_in(caller: Caller, user: Option<AuthUser>) -> Result<SignedIn, ApiError> {
    let user =
        user.ok_or_else(|| ApiError::unauthorized("route called without a verified user"))?;
    Ok(SignedIn::new(user, caller))
}

/// The request as the pipeline reads it before anything else.
struct Incoming {
    started: Instant,
    request_id: String,
    method: Method,
    /// The request's Origin if it is on the allowlist.
    origin: Option<String>,
    ip: Option<String>,
    /// The request's context, for the handler and every client call it makes.
    caller: Caller,
}

impl Incoming {
    fn read(app: &App, req: &Request) -> Self {
        let request_id = request_id(req);
        let ip = client_ip(req);
        let user_agent = req
            .headers()
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(512).collect::<String>());
        let trace = crate::pipeline::telemetry::current_trace();
        Self {
            started: Instant::now(),
            caller: Caller::new(request_id.clone(), ip.clone(), user_agent, trace),
            request_id,
            method: req.method().clone(),
            origin: allowed_origin(app, req.headers()),
            ip,
        }
    }
}

/// What admission found out, for the handler, the response and the log line (also when
/// it refused the request).
struct Admission {
    user: Option<AuthUser>,
    /// The request's context as admission leaves it (the rate-limit pass, the
    /// idempotency key).
    caller: Caller,
    /// RateLimit headers of the pipeline's own rate-limit hit.
    limit_headers: Vec<(http::HeaderName, HeaderValue)>,
}

/// Runs one request through the pipeline with `handler`, which gets the caller and, on
/// [`Access::User`] routes, the verified user. Tests call this with handlers of their
/// own; every route's handler runs through [`dispatch`].
///
/// The stages, in order: admit (CORS preflight, method, credentials, CSRF, anonymous
/// writes, rate limit), then the handler, then finish (error envelope, security and
/// CORS headers, rate-limit headers), then log and audit.
pub async fn dispatch_with<F, Fut>(
    app: &App,
    route: &Route,
    req: Request,
    handler: F,
) -> Response<Body>
where
    F: FnOnce(App, Caller, Option<AuthUser>, Request) -> Fut,
    Fut: Future<Output = ApiResult>,
{
    let incoming = Incoming::read(app, &req);
    let mut admission = Admission {
        user: None,
        caller: incoming.caller.clone(),
        limit_headers: Vec::new(),
    };
    let admitted = admit(app, route, &incoming, &req, &mut admission).await;
    let user_id = admission.user.as_ref().map(|u| u.id);
    let result = match admitted {
        Err(refusal) => Err(refusal),
        Ok(Some(preflight)) => Ok(preflight),
        Ok(None) => {
            // The user and the context move into the handler; the log line keeps the
            // id, and the answer the headers the services set on the way.
            let kept = admission.caller.clone();
            // Boxed: a handler's future can be large (the S3 client's are).
            let result =
                Box::pin(handler(app.clone(), admission.caller, admission.user, req)).await;
            admission.limit_headers.extend(kept.take_kept_headers());
            result
        }
    };
    let (response, refusal) = finish(result, &incoming, admission.limit_headers);
    log_and_audit(app, route, &incoming, user_id, &response, refusal).await;
    response
}

/// Admission: `Ok(Some(response))` answers the request here (a CORS preflight),
/// `Ok(None)` lets the handler run, `Err` refuses it. What it learns goes into
/// `admission` as it goes, so a refusal is logged with the user it was refused to.
async fn admit(
    app: &App,
    route: &Route,
    incoming: &Incoming,
    req: &Request,
    admission: &mut Admission,
) -> Result<Option<Response<Body>>, ApiError> {
    let method = &incoming.method;
    if route.fallback {
        return Ok(None);
    }
    if method == Method::OPTIONS {
        return preflight(incoming.origin.as_deref(), req.headers()).map(Some);
    }
    if *method != route.method {
        return Err(ApiError::method_not_allowed(
            route.method.as_str().to_owned(),
        ));
    }
    let (user, source) = authenticate(app, route, req, &incoming.caller).await?;
    admission.user = user;
    if source == Some(CredentialSource::Cookie) && is_unsafe(method) {
        check_csrf(app, req.headers())?;
    }
    refuse_anonymous_writes(admission.user.as_ref(), method)?;
    if route.idempotent && admission.user.is_some() {
        admission
            .caller
            .set_idempotency_key(idempotency_key(req.headers())?);
    }
    // Writes of signed-in users count against their route's limit.
    if let Some(user) = admission.user.as_ref() {
        if is_unsafe(method) && route.limit == WriteLimit::BeforeHandler {
            let caller = SignedIn::new(user.clone(), admission.caller.clone());
            let quota = crate::policy::rate_limit::hit_route(app, &caller, route.function).await?;
            admission.limit_headers =
                crate::policy::rate_limit::headers(std::slice::from_ref(&quota));
            admission.caller.set_rate_limit_pass(quota.pass);
        }
    }
    Ok(None)
}

/// Longest `Idempotency-Key` accepted (the database checks the same).
pub const IDEMPOTENCY_KEY_MAX: usize = 255;

/// The request's `Idempotency-Key`, if it sent one: 1 to 255 visible ASCII characters
/// (a UUID, say), once. Anything else is a 400 naming the header.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let mut values = headers.get_all("idempotency-key").iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let invalid = |message| Err(ApiError::invalid_field("Idempotency-Key", message));
    if values.next().is_some() {
        return invalid("must be sent once");
    }
    let bytes = value.as_bytes();
    if bytes.is_empty() || bytes.len() > IDEMPOTENCY_KEY_MAX {
        return invalid("must be 1 to 255 characters");
    }
    if !bytes.iter().all(|b| (0x21..=0x7e).contains(b)) {
        return invalid("must be visible ASCII characters (no spaces)");
    }
    Ok(value.to_str().ok().map(str::to_owned))
}

/// Finish: the error envelope for a refusal, then the headers every response carries,
/// then the rate-limit headers (the handler's own win).
fn finish(
    result: ApiResult,
    incoming: &Incoming,
    limit_headers: Vec<(http::HeaderName, HeaderValue)>,
) -> (Response<Body>, Option<ApiError>) {
    let (mut response, refusal) = match result {
        Ok(response) => (response, None),
        Err(error) => (error_response(&error, &incoming.request_id), Some(error)),
    };
    finish_headers(
        &mut response,
        &incoming.request_id,
        incoming.origin.as_deref(),
    );
    for (name, value) in limit_headers {
        response.headers_mut().entry(name).or_insert(value);
    }
    (response, refusal)
}

/// One log line and the request metrics ([`crate::pipeline::metrics::record_request`])
/// per request; 401 and 403 are security events, and an audit row unless the handler
/// already wrote one.
async fn log_and_audit(
    app: &App,
    route: &Route,
    incoming: &Incoming,
    user_id: Option<uuid::Uuid>,
    response: &Response<Body>,
    refusal: Option<ApiError>,
) {
    let Incoming {
        request_id,
        method,
        ip,
        ..
    } = incoming;
    let status = response.status().as_u16();
    let elapsed = incoming.started.elapsed();
    let latency_ms = elapsed.as_millis() as u64;
    let cause = refusal.as_ref().and_then(|e| e.cause.clone());
    let user = user_id.map(|id| id.to_string());
    let code = refusal.as_ref().map(|e| e.code.as_str());
    crate::pipeline::metrics::record_request(status, elapsed, code);
    if status >= 500 {
        tracing::error!(
            request_id, route = route.function, method = %method, status, latency_ms,
            user_id = user, cause = cause.as_deref(), "request"
        );
        return;
    }
    if status != 401 && status != 403 {
        tracing::info!(
            request_id, route = route.function, method = %method, status, latency_ms,
            user_id = user, cause = cause.as_deref(), "request"
        );
        return;
    }
    tracing::warn!(
        request_id, route = route.function, method = %method, status, latency_ms,
        user_id = user, cause = cause.as_deref(), ip = ip.as_deref(),
        security_event = true, "request"
    );
    let Some(error) = refusal.as_ref().filter(|e| !e.audited) else {
        return;
    };
    let action = match error.code {
        ErrorCode::Unauthorized => "AUTH_REFUSED",
        ErrorCode::CsrfFailed => "CSRF_FAILED",
        _ => "ACCESS_DENIED",
    };
    let event = AuditEvent::new(action, &incoming.caller)
        .actor(user_id)
        .target(route.function)
        .metadata(serde_json::json!({
            "reason": cause.as_deref().unwrap_or(error.code.as_str()),
            "method": method.as_str(),
            "status": status,
            "requestId": request_id,
        }))
        .coalesced();
    audit::record(app, event).await;
}

/// Starts the Lambda runtime for a JSON route of the table: telemetry, the clients
/// (once, at cold start; a bad configuration stops the start with a message naming the
/// variable), then every invocation through [`dispatch`]. Its binary's whole `main`.
pub fn serve(route: Route) -> Result<(), lambda_http::Error> {
    if route.is_streaming() {
        let message = format!(
            "{} is a streaming route: serve it with shared::pipeline::sse::serve",
            route.function
        );
        return Err(message.into());
    }
    crate::pipeline::runtime::start(async move {
        let app = cold_start(&route).await?;
        let (app, route) = (&app, &route);
        let service = service_fn(move |req: Request| async move {
            Ok::<_, Infallible>(dispatch(app, route, req).await)
        });
        crate::pipeline::runtime::serve(lambda_http::Adapter::from(service)).await
    })
}

/// Telemetry and the clients, once per execution environment. A bad configuration
/// stops the start with a message naming the variable (and no request is served).
pub async fn cold_start(route: &Route) -> Result<App, ConfigError> {
    crate::pipeline::runtime::init(route.function);
    let keys = if route.access() == Access::Public {
        KeysAtStart::Skip
    } else {
        KeysAtStart::Fetch
    };
    App::from_env_and_secrets(keys).await.inspect_err(|e| {
        tracing::error!(route = route.function, error = %e, "cold start failed");
    })
}

async fn authenticate(
    app: &App,
    route: &Route,
    req: &Request,
    caller: &Caller,
) -> Result<(Option<AuthUser>, Option<CredentialSource>), ApiError> {
    if route.access() == Access::Public {
        return Ok((None, None));
    }
    let (token, source) = credential(req, &app.config.auth_cookie_name).map_err(rejected)?;
    let user = app
        .tokens
        .verify(&token, caller.trace())
        .await
        .map_err(rejected)?;
    Ok((Some(user), Some(source)))
}

/// Anonymous sign-ins read; their writes are 403 (the database's request gate refuses
/// them too).
fn refuse_anonymous_writes(user: Option<&AuthUser>, method: &Method) -> Result<(), ApiError> {
    match user {
        Some(u) if u.is_anonymous() && is_unsafe(method) => Err(ApiError::forbidden(
            "Anonymous users cannot do this: sign up with an email address first",
        )
        .with_cause("anonymous user write")),
        _ => Ok(()),
    }
}

/// A refused credential is 401; a key set that could never be fetched is 503.
pub fn rejected(rejection: Rejection) -> ApiError {
    match rejection {
        Rejection::KeysUnavailable => ApiError::unavailable(rejection.reason()),
        _ => ApiError::unauthorized(rejection.reason()),
    }
}

/// CSRF defence for cookie credentials on unsafe methods: the request must come from
/// an allowed origin (Origin, or without it the Referer), and must not be marked
/// cross-site by the browser (`Sec-Fetch-Site`).
pub fn check_csrf(app: &App, headers: &HeaderMap) -> Result<(), ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if header("sec-fetch-site") == Some("cross-site") {
        return Err(ApiError::csrf("cross-site request"));
    }
    let origin = match header("origin") {
        Some(origin) if origin != "null" => Some(origin.to_owned()),
        Some(_) => None,
        None => header("referer")
            .and_then(|r| reqwest::Url::parse(r).ok())
            .map(|u| u.origin().ascii_serialization()),
    };
    match origin {
        Some(origin) if app.config.allowed_origins.contains(&origin) => Ok(()),
        Some(_) => Err(ApiError::csrf("origin not allowed")),
        None => Err(ApiError::csrf("no origin or referer")),
    }
}

/// The request's Origin if it is on the allowlist.
fn allowed_origin(app: &App, headers: &HeaderMap) -> Option<String> {
    let origin = headers.get(http::header::ORIGIN)?.to_str().ok()?;
    app.config
        .allowed_origins
        .iter()
        .find(|o| o.as_str() == origin)
        .cloned()
}

/// A CORS preflight: allowed origins get the methods and headers; others a 403
/// without any Access-Control-Allow-* header.
fn preflight(origin: Option<&str>, headers: &HeaderMap) -> ApiResult {
    let Some(origin) = origin else {
        return Err(ApiError::forbidden("This origin is not allowed").with_cause("cors origin"));
    };
    if !headers.contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD) {
        return Err(ApiError::method_not_allowed(CORS_ALLOW_METHODS.into()));
    }
    let requested = headers
        .get(http::header::ACCESS_CONTROL_REQUEST_HEADERS)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let allowed_headers: Vec<&str> = requested
        .split(',')
        .map(str::trim)
        .filter(|h| CORS_ALLOW_HEADERS.contains(&h.to_ascii_lowercase().as_str()))
        .collect();
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(origin) {
        h.insert(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
    h.insert(
        http::header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(CORS_ALLOW_METHODS),
    );
    let list = if allowed_headers.is_empty() {
        CORS_ALLOW_HEADERS.join(", ")
    } else {
        allowed_headers.join(", ")
    };
    if let Ok(v) = HeaderValue::from_str(&list) {
        h.insert(http::header::ACCESS_CONTROL_ALLOW_HEADERS, v);
    }
    h.insert(
        http::header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(CORS_MAX_AGE_SECONDS),
    );
    Ok(response)
}

fn request_id(req: &Request) -> String {
    if let Some(ctx) = req.lambda_context_ref() {
        if !ctx.request_id.is_empty() {
            return ctx.request_id.clone();
        }
    }
    Uuid::new_v4().to_string()
}

/// The source IP API Gateway recorded (not a client-supplied header).
pub fn client_ip(req: &Request) -> Option<String> {
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(ctx) => ctx.http.source_ip.clone(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

fn error_response(error: &ApiError, request_id: &str) -> Response<Body> {
    let mut response = json_response(error.status(), &error.body(request_id));
    let headers = response.headers_mut();
    if error.code == ErrorCode::Unauthorized {
        // `invalid_token` only when a token was presented and refused.
        let no_token = [Rejection::Missing.reason(), "invalid_credentials"];
        let value = if error.cause.as_deref().is_none_or(|c| no_token.contains(&c)) {
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
    for (name, value) in error.extra_headers.iter().flat_map(|h| h.iter()) {
        headers.append(name.clone(), value.clone());
    }
    if let Some(seconds) = error.retry_after {
        headers.insert(http::header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

fn finish_headers(response: &mut Response<Body>, request_id: &str, origin: Option<&str>) {
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.insert(*name, HeaderValue::from_static(value));
    }
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-request-id", v);
    }
    // Responses differ by Origin: caches must key on it.
    headers.append(http::header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = origin.and_then(|o| HeaderValue::from_str(o).ok()) {
        headers.insert(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            http::header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        headers.insert(
            http::header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(CORS_EXPOSE_HEADERS),
        );
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
