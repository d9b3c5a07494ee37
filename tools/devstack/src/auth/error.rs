//! The error answers: GoTrue's `{"code", "error_code", "msg"}` and Kong's `{"message",
//! "hint"}` (the gateway in front of GoTrue). A leaf: it imports no other module of the
//! stand-in.

use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// An answer that is not a success: its status and JSON body.
#[derive(Debug)]
pub struct ApiError {
    pub status: u16,
    pub body: Value,
    /// From a hook's output: GoTrue's HTTPError without an error code (JSON answers say
    /// "unknown"/"unexpected_failure"; OAuth error redirects carry an empty error_code).
    pub hook: bool,
}

/// GoTrue's error shape.
pub fn err(status: u16, error_code: &str, msg: impl Into<String>) -> ApiError {
    let body = json!({ "code": status, "error_code": error_code, "msg": msg.into() });
    ApiError {
        status,
        body,
        hook: false,
    }
}

/// Kong's error shape (API key checks and unknown routes, in front of GoTrue).
pub fn kong(status: u16, message: &str, hint: Option<&str>) -> ApiError {
    let mut body = json!({ "message": message });
    if let Some(hint) = hint {
        body["hint"] = json!(hint);
    }
    ApiError {
        status,
        body,
        hook: false,
    }
}

/// GoTrue's 500: the context in the answer, the cause in the log only.
pub fn internal(context: &str, e: impl std::fmt::Display) -> ApiError {
    eprintln!("auth-standin: {context}: {e}");
    err(500, "unexpected_failure", context)
}

/// GoTrue's answer to a route it does not have (any method, with a valid API key).
pub fn no_route() -> ApiError {
    err(404, "not_found", "Not Found")
}

/// The handler of every route the stand-in does not have.
pub async fn not_found() -> ApiError {
    no_route()
}

/// tokio-postgres's Display says only "db error"; the server's message is the source.
pub fn pg_message(e: &tokio_postgres::Error) -> String {
    match std::error::Error::source(e) {
        Some(source) => format!("{e}: {source}"),
        None => e.to_string(),
    }
}

impl From<tokio_postgres::Error> for ApiError {
    fn from(e: tokio_postgres::Error) -> Self {
        internal("Database error", pg_message(&e))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        respond(self.status, Some(&self.body))
    }
}

/// A status and, when given, a compact JSON body (`application/json`).
pub fn respond(status: u16, body: Option<&Value>) -> Response {
    let text = body.map(Value::to_string).unwrap_or_default();
    let mut resp = Response::new(Body::from(text));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if body.is_some() {
        let json = HeaderValue::from_static("application/json");
        resp.headers_mut().insert(CONTENT_TYPE, json);
    }
    resp
}
