//! The process's clients, built once at cold start ([`App`]), and the services a route
//! calls through them: PostgREST as the caller (so row-level security applies) or as
//! the service, Supabase Auth, S3, and Secrets Manager at cold start. All of them go
//! through the process's one reqwest client ([`http_client`]).

pub mod postgrest;
pub mod secrets;
pub mod sigv4;
pub mod sql;
pub mod storage;
pub mod supabase_auth;

mod app;

pub use app::{http_client, App, KeysAtStart};
