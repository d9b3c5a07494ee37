//! The request pipeline every route runs through, in four stages ([`dispatch_with`]):
//!
//! 1. admit: request id, CORS (a preflight is answered here), method check,
//!    credentials (bearer header, else the session cookie) and their verification,
//!    CSRF check for cookie credentials on unsafe methods, anonymous writes refused,
//!    the rate-limit hit of routes counted before the handler;
//! 2. the handler ([`Caller`] on public routes, [`SignedIn`] on user routes);
//! 3. finish: error envelope, security and CORS headers, RateLimit headers;
//! 4. one log line, and an audit event for a 401 or 403.
//!
//! The streaming runner ([`crate::pipeline::sse`]) runs the same stages around its admission.

pub mod contract;
pub mod dispatch;
pub mod events;
pub mod input;
pub mod job;
pub mod metrics;
pub mod response;
pub mod route;
pub mod runtime;
pub mod sse;
pub mod telemetry;
pub mod typed;

pub use crate::auth::SignedIn;
pub use crate::base::caller::Caller;
pub use dispatch::{
    check_csrf, client_ip, cold_start, dispatch, dispatch_with, idempotency_key, rejected, serve,
    CORS_ALLOW_HEADERS, CORS_ALLOW_METHODS, CORS_EXPOSE_HEADERS, CORS_MAX_AGE_SECONDS,
    IDEMPOTENCY_KEY_MAX, SECURITY_HEADERS,
};
pub use route::{Access, Handler, Route, WriteLimit};
