//! Everything the routes have in common, in five layers, each importing only those
//! below it (`make lint` checks that no module imports one above it):
//!
//! - [`base`]: what every layer shares: one error type and its JSON shape
//!   ([`base::error`]), paging ([`base::paging`]), header names ([`base::headers`]) and
//!   the request's context ([`base::caller`]), carried explicitly to every client call.
//! - [`config`]: the environment, read and validated once.
//! - [`auth`]: who is calling. Supabase access tokens and their verification ([`auth`]),
//!   the signing keys ([`auth::jwks`]), the @supabase/ssr session cookie
//!   ([`auth::cookies`]), roles and permissions ([`auth::permissions`]). No I/O but the
//!   key set's fetch.
//! - [`clients`]: the process's clients ([`App`]) and the services a route calls with
//!   them: PostgREST ([`clients::postgrest`]), Supabase Auth ([`clients::supabase_auth`]),
//!   S3 ([`clients::storage`], signed with [`clients::sigv4`]) and Secrets Manager
//!   ([`clients::secrets`]).
//! - [`policy`]: rules that hold across routes: rate limits ([`policy::rate_limit`]),
//!   audit events ([`policy::audit`]), the database's word on a permission
//!   ([`policy::authorize`]) and the answer time of sign-in ([`policy::answer_time`]).
//! - [`pipeline`]: how a request is served. The route table's types ([`pipeline::route`]),
//!   the stages every request runs through ([`pipeline`]), the Lambda runtime loop
//!   ([`pipeline::runtime`]), scheduled jobs ([`pipeline::job`]), server-sent events
//!   ([`pipeline::sse`]), typed input ([`pipeline::input`]), the success envelopes
//!   ([`pipeline::response`]), logs and metrics ([`pipeline::telemetry`],
//!   [`pipeline::metrics`]).

pub mod auth;
pub mod base;
pub mod clients;
pub mod config;
pub mod pipeline;
pub mod policy;

pub use auth::{AuthUser, SignedIn};
pub use base::caller::Caller;
pub use base::error::ApiError;
pub use clients::{http_client, App};
pub use config::{Config, ConfigError};
pub use pipeline::route::{Access, Handler, Route, WriteLimit};
