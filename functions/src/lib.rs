//! Route handlers. Each is a plain async function of (app, caller, request), named by
//! its entry in the route table ([`routes`]); the binaries in `src/bin/` (written by
//! `make routes`) serve one entry each, and tests call the same entries in-process
//! through `shared::pipeline::dispatch`.

pub mod audit_log;
pub mod auth_links;
pub mod document;
pub mod fuzzing;
pub mod health;
pub(crate) mod links;
pub mod not_found;
pub mod openapi;
pub mod posts;
pub mod projects;
pub mod routes;
pub mod sessions;
pub mod settings;
pub mod sql;
pub mod stream;
pub mod sweep;
pub mod uploads;
pub mod users;
pub mod validate;
mod workspace_role;
pub mod workspaces;
