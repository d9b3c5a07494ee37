//! The stand-in's configuration, read once at start from the environment, and `Api`, the
//! state every handler shares (GoTrue's API struct: its configuration and database).
//!
//! Variables: DATABASE_URL (superuser URL of the app database), SUPABASE_ANON_KEY,
//! SUPABASE_SERVICE_ROLE_KEY, AUTH_ISSUER (GoTrue's API_EXTERNAL_URL + /auth/v1: also the
//! base of the fake provider's pages), AUTH_SIGNING_KEY (PKCS#8 PEM private key: EC
//! P-256 signs ES256, RSA signs RS256), AUTH_SIGNING_KID, optional AUTH_EXTRA_PUBLIC_KEYS
//! (`kid=path.pem,...`: published and accepted, never used to sign), and, each optional
//! with GoTrue's meaning (GOTRUE_... without the prefix):
//!   AUTH_REFRESH_TOKEN_REUSE_INTERVAL   seconds, default 10
//!   AUTH_SITE_URL                       default http://localhost:3000
//!   AUTH_URI_ALLOW_LIST                 comma-separated; default none
//!   AUTH_MAILER_AUTOCONFIRM             true|false, default false
//!   AUTH_MAILER_OTP_EXP                 seconds an email link stays valid, default 3600
//!                                       (Supabase's default; GoTrue's own is 86400)
//!   AUTH_SMTP_MAX_FREQUENCY             seconds between two emails of a kind to a user,
//!                                       default 60; 0 = no limit (GoTrue has no 0)
//!   AUTH_EXTERNAL_PROVIDERS             enabled OAuth providers, default github,google
//!   AUTH_HOOK_BEFORE_USER_CREATED_URI   pg-functions://postgres/<schema>/<function>

use chrono::Utc;
use serde_json::json;

use super::db::Db;
use super::hooks::{parse_pg_hook, PgHook};
use super::keys::{load_key, Keys};
use super::urls::origin;

/// The OAuth providers GoTrue knows (any other name "could not be found").
pub const KNOWN_PROVIDERS: [&str; 25] = [
    "apple",
    "azure",
    "bitbucket",
    "discord",
    "facebook",
    "figma",
    "fly",
    "github",
    "gitlab",
    "google",
    "kakao",
    "keycloak",
    "linkedin",
    "linkedin_oidc",
    "notion",
    "snapchat",
    "spotify",
    "slack",
    "slack_oidc",
    "twitch",
    "twitter",
    "x",
    "vercel_marketplace",
    "workos",
    "zoom",
];

pub struct Config {
    pub database_url: String,
    pub anon_key: String,
    pub service_key: String,
    /// The access tokens' `iss`, and the base URL of the stand-in's own pages.
    pub issuer: String,
    pub keys: Keys,
    /// Seconds a rotated refresh token stays usable.
    pub reuse_interval: f64,
    pub site_url: String,
    /// AUTH_URI_ALLOW_LIST's entries as prefixes (a trailing `*` removed).
    pub allow_list: Vec<String>,
    pub autoconfirm: bool,
    /// Seconds an email link stays valid.
    pub otp_exp: f64,
    /// Seconds between two emails of a kind to a user (0: no limit).
    pub max_frequency: f64,
    /// Enabled OAuth providers, lower-case.
    pub providers: Vec<String>,
    pub before_user_created: Option<PgHook>,
}

impl Config {
    pub fn from_env() -> Result<Config, String> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// The configuration from the variables `var` finds; the first problem is the error.
    /// The signing key must sign and verify with this build's crypto backend.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        let env = |name: &str| {
            var(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| format!("{name} is not set"))
        };
        let env_opt = |name: &str| {
            var(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        // Seconds (a whole number), or the default when unset.
        let env_seconds = |name: &str, default: u32| match env_opt(name) {
            None => Ok(f64::from(default)),
            Some(v) => v
                .parse::<u32>()
                .map(f64::from)
                .map_err(|_| format!("{name} is malformed (seconds): {v}")),
        };
        // Go's strconv.ParseBool.
        let env_bool = |name: &str| match env_opt(name).as_deref() {
            None => Ok(false),
            Some("1" | "t" | "T" | "TRUE" | "true" | "True") => Ok(true),
            Some("0" | "f" | "F" | "FALSE" | "false" | "False") => Ok(false),
            Some(v) => Err(format!("{name} is malformed (true or false): {v}")),
        };
        let list = |name: &str| -> Vec<String> {
            env_opt(name)
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(str::to_string)
                .collect()
        };

        let database_url = env("DATABASE_URL")?;
        database_url
            .parse::<tokio_postgres::Config>()
            .map_err(|e| format!("DATABASE_URL is malformed: {e}"))?;
        let issuer = env("AUTH_ISSUER")?;
        if !issuer.starts_with("http://") && !issuer.starts_with("https://") {
            return Err(format!(
                "AUTH_ISSUER is malformed (want an http(s) URL): {issuer}"
            ));
        }
        let signer_kid = env("AUTH_SIGNING_KID")?;
        let (signer, public) =
            load_key("AUTH_SIGNING_KEY", &signer_kid, &env("AUTH_SIGNING_KEY")?)?;
        let mut keys = Keys::new(signer, public);
        let extra = var("AUTH_EXTRA_PUBLIC_KEYS").unwrap_or_default();
        for entry in extra.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let name = "AUTH_EXTRA_PUBLIC_KEYS";
            let (kid, path) = entry
                .split_once('=')
                .filter(|(k, p)| !k.trim().is_empty() && !p.trim().is_empty())
                .ok_or_else(|| format!("{name} is malformed: want kid=path.pem, got {entry:?}"))?;
            if keys.has_kid(kid.trim()) {
                return Err(format!("{name}: kid {kid:?} is used twice"));
            }
            keys.publish(load_key(name, kid.trim(), path.trim())?.1);
        }
        let reuse_interval = env_seconds("AUTH_REFRESH_TOKEN_REUSE_INTERVAL", 10)?;
        let site_url = env_opt("AUTH_SITE_URL").unwrap_or_else(|| "http://localhost:3000".into());
        if origin(&site_url).is_none_or(|o| o.scheme != "http" && o.scheme != "https") {
            return Err(format!(
                "AUTH_SITE_URL is malformed (want an http(s) URL): {site_url}"
            ));
        }
        let allow_list = list("AUTH_URI_ALLOW_LIST")
            .into_iter()
            .map(|e| e.trim_end_matches('*').to_string())
            .filter(|e| !e.is_empty())
            .collect();
        let providers: Vec<String> = match env_opt("AUTH_EXTERNAL_PROVIDERS") {
            None => vec!["github".into(), "google".into()],
            Some(_) => list("AUTH_EXTERNAL_PROVIDERS")
                .into_iter()
                .map(|p| p.to_lowercase())
                .collect(),
        };
        if let Some(p) = providers
            .iter()
            .find(|p| !KNOWN_PROVIDERS.contains(&p.as_str()))
        {
            return Err(format!(
                "AUTH_EXTERNAL_PROVIDERS: {p:?} is not one of GoTrue's providers ({})",
                KNOWN_PROVIDERS.join(", ")
            ));
        }
        let before_user_created = env_opt("AUTH_HOOK_BEFORE_USER_CREATED_URI")
            .map(|uri| parse_pg_hook("AUTH_HOOK_BEFORE_USER_CREATED_URI", &uri))
            .transpose()?;
        let config = Config {
            database_url,
            anon_key: env("SUPABASE_ANON_KEY")?,
            service_key: env("SUPABASE_SERVICE_ROLE_KEY")?,
            issuer,
            keys,
            reuse_interval,
            site_url,
            allow_list,
            autoconfirm: env_bool("AUTH_MAILER_AUTOCONFIRM")?,
            otp_exp: env_seconds("AUTH_MAILER_OTP_EXP", 3600)?,
            max_frequency: env_seconds("AUTH_SMTP_MAX_FREQUENCY", 60)?,
            providers,
            before_user_created,
        };
        let now = Utc::now().timestamp();
        let probe = config
            .keys
            .sign(&json!({ "iss": config.issuer, "exp": now + 60 }))?;
        config
            .keys
            .verify(&probe, &config.issuer)
            .map_err(|e| format!("AUTH_SIGNING_KEY: self-check failed: {e}"))?;
        Ok(config)
    }
}

/// What every handler shares: the configuration and the database.
pub struct Api {
    pub config: Config,
    pub db: Db,
}

impl Api {
    pub fn new(config: Config) -> Api {
        let db = Db::new(&config.database_url);
        Api { config, db }
    }
}
