//! Header names this API, PostgREST's database functions and the clients agree on.

use http::HeaderName;

/// The RateLimit headers of the IETF draft (`ratelimit`, `ratelimit-policy`), set by
/// the pipeline and by the database's request gate.
pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
pub const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

/// The header that carries a rate-limit pass to the database's request gate
/// (`private.check_request`).
pub const RATE_LIMIT_PASS: &str = "x-rate-limit-pass";

/// The header that carries a create's idempotency key to the database's create
/// functions (`private.idempotent_replay`), as clients send it to PostgREST directly.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The header the database sets on the answer of a create it replayed (the first
/// answer to the same key and request).
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// The header that carries the X-Ray trace to the services the function calls.
pub const TRACE_HEADER: &str = "x-amzn-trace-id";
