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

/// Whether a cold start fetches the project's JWKS ([`App::from_env_and_secrets`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeysAtStart {
    /// The process verifies access tokens: fetch the keys (and open the connection to
    /// the project) during the init.
    Fetch,
    /// A public route or a job: no token to verify.
    Skip,
}

impl App {
    /// Reads and validates the configuration; a bad value fails the cold start.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::new(Config::from_env()?)
    }

    /// As a Lambda cold start builds it: the configuration read and validated, the HTTP
    /// client built, then everything the first request needs fetched at once: the
    /// secrets whose ARNs are configured ([`secrets`]) and the project's JWKS, whose
    /// fetch also opens the TLS connection to the project that PostgREST's calls reuse
    /// (same host). A secret that cannot be read fails the cold start; a JWKS that cannot
    /// be read is fetched again on first need. `keys`: whether the process verifies
    /// tokens (a public route or a job does not fetch the JWKS).
    pub async fn from_env_and_secrets(keys: KeysAtStart) -> Result<Self, ConfigError> {
        Self::from_lookup_and_secrets(|name| std::env::var(name).ok(), keys).await
    }

    /// As [`App::from_env_and_secrets`], with the variables from `get`.
    pub async fn from_lookup_and_secrets(
        get: impl Fn(&str) -> Option<String>,
        keys: KeysAtStart,
    ) -> Result<Self, ConfigError> {
        // Without the secrets held by ARN (both are optional settings); they are checked
        // like any value once read.
        let config = Config::from_lookup(&get)?;
        let client = http_client(&config)?;
        let jwks = jwks::JwksCache::new(
            config.jwks_url.to_string(),
            client.clone(),
            jwks::JwksPolicy::default(),
        );
        let prefetch = async {
            if keys == KeysAtStart::Fetch {
                jwks.prefetch().await;
            }
        };
        // With no ARN configured, resolve has nothing to fetch and is done at once.
        let (secrets, ()) = tokio::join!(secrets::resolve(&get, &client), prefetch);
        let config = config.with_secrets(&secrets?)?;
        Self::assemble(config, client, jwks)
    }

    pub fn new(config: Config) -> Result<Self, ConfigError> {
        Self::with_jwks_policy(config, jwks::JwksPolicy::default())
    }

    /// As [`App::new`], with another JWKS cache policy (tests use short intervals).
    pub fn with_jwks_policy(config: Config, policy: jwks::JwksPolicy) -> Result<Self, ConfigError> {
        let client = http_client(&config)?;
        let jwks = jwks::JwksCache::new(config.jwks_url.to_string(), client.clone(), policy);
        Self::assemble(config, client, jwks)
    }

    fn assemble(
        config: Config,
        client: reqwest::Client,
        jwks: jwks::JwksCache,
    ) -> Result<Self, ConfigError> {
        let tokens = auth::TokenVerifier::with_jwks(&config, jwks)?;
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
    key_exchange_x25519_first();
    let mut builder = reqwest::Client::builder();
    for cert in &config.extra_ca_certs {
        builder = builder.add_root_certificate(cert.clone());
    }
    builder
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

/// rustls's ring provider (0.23.48) offers P-384 first, and a P-384 key share cost 0.7 ms
/// of CPU and 2.6 ms of wall time more per TLS handshake than X25519 here (measured
/// against a local TLS server; the cold start, which opens two or three connections, lost
/// 4 to 7 ms). X25519 first, as browsers and TLS 1.3 servers prefer, then P-256 and P-384:
/// the same provider in another order, for the whole process (reqwest uses the installed
/// one). Installed once; a second call changes nothing. (rustls deprecates the ring
/// provider for having no post-quantum key exchange; that is aws-lc-rs's, a C build, which
/// this project avoids as it does for jsonwebtoken. reqwest builds the same provider.)
#[allow(deprecated)]
fn key_exchange_x25519_first() {
    use rustls::crypto::{ring, CryptoProvider};
    let provider = CryptoProvider {
        kx_groups: vec![
            ring::kx_group::X25519,
            ring::kx_group::SECP256R1,
            ring::kx_group::SECP384R1,
        ],
        ..ring::default_provider()
    };
    let _ = provider.install_default();
}
