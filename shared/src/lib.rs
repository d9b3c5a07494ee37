//! Everything the routes have in common: the request pipeline (`http`), the Supabase
//! access-token check (`auth`), typed input (`input`), PostgREST as the caller (`db`),
//! and one response and error shape (`response`, `error`).

pub mod auth;
pub mod config;
pub mod db;
pub mod error;
pub mod http;
pub mod input;
pub mod response;
pub mod telemetry;

use std::sync::Arc;

pub use auth::AuthUser;
pub use config::{Config, ConfigError};
pub use error::ApiError;
pub use http::{Access, Caller, Route};

/// The clients a route needs, built once per process at cold start and shared by every
/// request the process serves (cloning is cheap: everything inside is reference-counted).
#[derive(Clone)]
pub struct App {
    pub config: Arc<Config>,
    pub tokens: Arc<auth::TokenVerifier>,
    pub db: db::Db,
}

impl App {
    /// Reads and validates the configuration; a bad value fails the cold start.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::new(Config::from_env()?)
    }

    pub fn new(config: Config) -> Result<Self, ConfigError> {
        let tokens = auth::TokenVerifier::new(&config)?;
        let db = db::Db::new(&config)?;
        Ok(Self {
            config: Arc::new(config),
            tokens: Arc::new(tokens),
            db,
        })
    }
}
