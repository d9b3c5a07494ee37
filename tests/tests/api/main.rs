//! The integration tests, one binary: every route in-process through the shared
//! pipeline and the real handlers, the database straight through PostgREST, and the
//! compiled functions over HTTP under `cargo lambda watch`, against the real local stack
//! (scripts/test.sh starts it). Helpers live in the library (tests/src/lib.rs).
//!
//! `stream_hangup` is a binary of its own, run after this one: nothing may use the
//! stream function after its hang-up.

mod accounts;
mod attacks;
mod auth;
mod auth_links;
mod browser;
mod direct_postgrest;
mod enumeration;
mod health;
mod http_watch;
mod idempotency;
mod jwks;
mod not_found;
mod openapi;
mod posts;
mod projects;
mod rate_limits;
mod rbac;
mod revocation;
mod round_trips;
mod routes;
mod secrets;
mod sessions;
mod sign_up;
mod sql_functions;
mod stream;
mod text_kinds;
mod todays_keys;
mod uploads;
mod users;
mod workspaces;
