//! [`App`]: the clients a process builds once, at cold start.

use std::sync::Arc;

use crate::auth::{self, jwks};
use crate::clients::{postgrest, secrets, storage};
use crate::config::{Config, ConfigError};

/// The clients a route needs, built once per process at cold start and shared by every
/// request the process serves (cloning is cheap: everything inside is reference-counted).
#[derive(Clone)]
pub struct App {
    pub config: Arc<Config>,
    pub tokens: Arc<auth::TokenVerifier>,
    pub db: postgrest::Db,
    /// The process's HTTP client (Supabase Auth calls; PostgREST and JWKS share it).
    pub http: reqwest::Client,
    /// S3 for uploads, built on first use ([`App::storage`]): only the upload
    /// functions reference the S3 client, so no other binary links it.
    storage: Arc<std::sync::OnceLock<Option<storage::Storage>>>,
}

impl App {
    /// Reads and validates the configuration; a bad value fails the cold start.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::new(Config::from_env()?)
    }

    /// As a Lambda cold start builds it: secrets whose ARNs are configured are read from
    /// Secrets Manager first ([`secrets`]), then the configuration is read and validated.
    pub async fn from_env_and_secrets() -> Result<Self, ConfigError> {
        Self::from_lookup_and_secrets(|name| std::env::var(name).ok()).await
    }

    /// As [`App::from_env_and_secrets`], with the variables from `get`.
    pub async fn from_lookup_and_secrets(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        // A client for Secrets Manager only when a secret is to be read: building one
        // (its TLS roots) is a measurable part of a cold start.
        let secrets = if secrets::any_configured(&get) {
            let bootstrap = reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(5))
                .build()
                .map_err(|_| ConfigError::new("SUPABASE_URL", "could not build an HTTP client"))?;
            secrets::resolve(&get, &bootstrap).await?
        } else {
            Default::default()
        };
        Self::new(Config::from_lookup(|name| {
            secrets.get(name).cloned().or_else(|| get(name))
        })?)
    }

    pub fn new(config: Config) -> Result<Self, ConfigError> {
        Self::with_jwks_policy(config, jwks::JwksPolicy::default())
    }

    /// As [`App::new`], with another JWKS cache policy (tests use short intervals).
    pub fn with_jwks_policy(config: Config, policy: jwks::JwksPolicy) -> Result<Self, ConfigError> {
        let client = http_client(&config)?;
        let tokens = auth::TokenVerifier::with_policy(&config, client.clone(), policy)?;
        let db = postgrest::Db::new(&config, client.clone())?;
        Ok(Self {
            storage: Arc::default(),
            config: Arc::new(config),
            tokens: Arc::new(tokens),
            db,
            http: client,
        })
    }

    /// S3 for uploads, when UPLOADS_BUCKET is configured; built once, on first use (the
    /// first upload request of a warm instance pays for it, a few microseconds).
    pub fn storage(&self) -> Option<&storage::Storage> {
        self.storage
            .get_or_init(|| storage::Storage::from_config(&self.config, self.http.clone()))
            .as_ref()
    }
}

/// The one HTTP client of the process (PostgREST, JWKS, Supabase Auth): pooled
/// connections, rustls, a timeout on every call.
pub fn http_client(config: &Config) -> Result<reqwest::Client, ConfigError> {
    reqwest::Client::builder()
        .timeout(config.upstream_timeout)
        .connect_timeout(
            config
                .upstream_timeout
                .min(std::time::Duration::from_secs(2)),
        )
        .pool_idle_timeout(std::time::Duration::from_secs(50))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|_| ConfigError {
            var: "SUPABASE_URL",
            problem: "could not build an HTTP client".into(),
        })
}
