//! Route handlers. Each is a plain async function of (app, caller, request); the
//! binaries in `src/bin/` only hand one of them to `shared::http::run`, and tests call
//! them in-process through `shared::http::dispatch`.

mod access;
pub mod audit_log;
pub mod health;
pub mod posts;
pub mod projects;
pub mod routes;
pub mod sessions;
pub mod settings;
pub mod stream;
pub mod uploads;
pub mod users;
pub mod validate;
pub mod workspaces;
