//! A STAND-IN for Supabase Auth (GoTrue), used only by local development and tests, where
//! the real service cannot be installed. It is not Supabase Auth: it follows GoTrue's
//! documented request and response shapes (and its behaviour, where noted) for the few
//! endpoints this project uses, and nothing else. Never expose it to real users.
//!
//! Endpoints (under /auth/v1, behind a Kong-like `apikey` check, except where marked open
//! as Supabase's Kong leaves them):
//!   GET    /.well-known/jwks.json                 open; public keys (signing key + AUTH_EXTRA_PUBLIC_KEYS)
//!   POST   /token?grant_type=password             {email, password}
//!   POST   /token?grant_type=refresh_token        {refresh_token}
//!   POST   /token?grant_type=pkce                 {auth_code, code_verifier}
//!   POST   /logout[?scope=global|local|others]    user's bearer token; 204
//!   GET    /user                                  user's bearer token
//!   PUT    /user                                  user's bearer token; {email?, password?, data?}
//!   POST   /signup[?redirect_to=]                 {email, password, data?, code_challenge?, code_challenge_method?}
//!   POST   /otp[?redirect_to=]                    {email, create_user?, data?, code_challenge?, code_challenge_method?}
//!   POST   /recover[?redirect_to=]                {email}
//!   POST   /verify                                open; {type, token_hash}
//!   GET    /authorize?provider=&redirect_to=&code_challenge=&code_challenge_method=
//!                                                 open; 302 to the fake provider's consent page
//!   POST   /invite[?redirect_to=]                 service role bearer; {email, data?}
//!   POST   /admin/users                           service role bearer; {email, password?, ...}
//!   DELETE /admin/users/<uuid>                    service role bearer
//! STAND-IN ONLY (no GoTrue equivalent):
//!   GET    /_fake-provider/<p>/authorize?state=[&email=][&name=][&deny=1]
//!                                                 open; the user at GitHub/Google consenting
//!                                                 (or not): 302 to redirect_to with ?code=
//!   GET    /_dev/mailbox?email=                   service role bearer; the emails "sent" to
//!   DELETE /_dev/mailbox?email=                   the address (all without email), newest first
//!
//! Usage: auth-standin --port <port> (0 = any free port). Prints
//! `listening on http://127.0.0.1:<port>` once ready; stops on SIGTERM/SIGINT.
//! Env: DATABASE_URL (superuser URL of the app database), SUPABASE_ANON_KEY,
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
//! The database needs supabase/local/bootstrap.sql and supabase/local/auth-standin.sql.
//!
//! As GoTrue does: writes and hooks run as supabase_auth_admin; each sign-in is a row of
//! auth.sessions with the client's User-Agent and address (the first X-Forwarded-For
//! entry, else the peer), which a refresh updates with refreshed_at (UTC, without a zone);
//! a refresh of a session past its not_after is 400 session_expired; logout ends this
//! session, all of them or all others (scope local, global, others); refresh tokens rotate, a
//! rotated token stays usable while it is the parent of the session's active token or
//! within the reuse interval, and any other reuse revokes the session's tokens (400
//! refresh_token_already_used); the before-user-created hook runs before sign-up, OTP
//! sign-up, invite and an OAuth first sign-in (not before POST /admin/users), in a
//! transaction of its own, and its `{"error": {"http_code", "message"}}` stops the
//! creation; email links carry GoTrue's token hash (hex SHA-224 of address + 6-digit OTP)
//! in auth.one_time_tokens, single use, expiring AUTH_MAILER_OTP_EXP after *_sent_at; an
//! email to a confirmed address at POST /signup answers an obfuscated user (no mail) unless
//! autoconfirm is on (422 user_already_exists); OAuth accounts link by verified email.
//!
//! Simplified, knowingly:
//! - No SMTP: every email is a row of auth_standin.mailbox (type confirmation, magiclink,
//!   recovery, email_change or invite, its token hash and redirect URL), read over
//!   /_dev/mailbox. Links are built by the reader: {SiteURL}/auth/confirm?token_hash=&type=
//!   as in Supabase's server-side email templates.
//! - POST /verify takes token_hash only (not {email, token}, not GET /verify links).
//! - PKCE applies to OAuth only: signup/otp/recover accept and check code_challenge but
//!   their links are verified with token_hash, never exchanged for a code.
//! - Email change ("secure email change" in GoTrue mails both addresses) mails the NEW
//!   address only, and one confirmation applies it.
//! - OAuth: the fake provider's page is the provider and GoTrue's /callback in one: it
//!   answers the redirect GoTrue's callback would. Its users have verified emails; the
//!   subject is derived from provider + email. No scopes, no provider refresh tokens.
//! - AUTH_URI_ALLOW_LIST entries are prefixes (trailing `*` ignored), not GoTrue's globs.
//! - No phone, SSO, MFA, anonymous users, captcha or IP rate limits (the per-address email
//!   frequency limit is kept).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderMap, HeaderValue, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;
use tokio_postgres::{Client, NoTls, Row, Transaction};
use uuid::Uuid;

const ACCESS_TOKEN_TTL: i64 = 3600;
const HOOK_URI: &str = "pg-functions://postgres/public/custom_access_token_hook";
/// The claims GoTrue requires in a custom access token hook's output.
const REQUIRED_CLAIMS: [&str; 10] = [
    "aud",
    "exp",
    "iat",
    "sub",
    "email",
    "phone",
    "role",
    "aal",
    "session_id",
    "is_anonymous",
];
/// GoTrue's user JSON: the row and its identities (timestamps as Go writes them, in UTC).
const USER_COLUMNS: &str = "id, aud, role, email, phone, email_confirmed_at, \
    phone_confirmed_at, last_sign_in_at, raw_app_meta_data, raw_user_meta_data, created_at, \
    updated_at, banned_until, is_anonymous, coalesce(banned_until > now(), false) as banned, \
    confirmation_sent_at, recovery_sent_at, email_change_sent_at, email_change, invited_at, \
    (select coalesce(jsonb_agg(jsonb_build_object('identity_id', i.id, 'id', i.provider_id, \
        'user_id', i.user_id, 'identity_data', i.identity_data, 'provider', i.provider, \
        'last_sign_in_at', to_char(i.last_sign_in_at at time zone 'UTC', \
            'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), \
        'created_at', to_char(i.created_at at time zone 'UTC', \
            'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), \
        'updated_at', to_char(i.updated_at at time zone 'UTC', \
            'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), \
        'email', i.email) order by i.created_at, i.id), '[]'::jsonb) \
     from auth.identities i where i.user_id = users.id) as identities";
/// GoTrue's FlowStateExpiryDuration (its minimum and default): 5 minutes.
const FLOW_STATE_EXPIRY: f64 = 300.0;
/// The OAuth providers GoTrue knows (any other name "could not be found").
const KNOWN_PROVIDERS: [&str; 25] = [
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

type Resp = Response<Full<Bytes>>;

// ---------- errors and responses ----------

struct ApiError {
    status: u16,
    body: Value,
    /// From a hook's output: GoTrue's HTTPError without an error code (JSON answers say
    /// "unknown"/"unexpected_failure"; OAuth error redirects carry an empty error_code).
    hook: bool,
}

/// GoTrue's error shape.
fn err(status: u16, error_code: &str, msg: impl Into<String>) -> ApiError {
    let body = json!({ "code": status, "error_code": error_code, "msg": msg.into() });
    ApiError {
        status,
        body,
        hook: false,
    }
}

/// Kong's error shape (API key checks and unknown routes, in front of GoTrue).
fn kong(status: u16, message: &str, hint: Option<&str>) -> ApiError {
    let mut body = json!({ "message": message });
    if let Some(hint) = hint {
        body["hint"] = json!(hint);
    }
    ApiError {
        status,
        body,
        hook: false,
    }
}

fn internal(context: &str, e: impl std::fmt::Display) -> ApiError {
    eprintln!("auth-standin: {context}: {e}");
    err(500, "unexpected_failure", context)
}

/// tokio-postgres's Display says only "db error"; the server's message is the source.
fn pg_message(e: &tokio_postgres::Error) -> String {
    match std::error::Error::source(e) {
        Some(source) => format!("{e}: {source}"),
        None => e.to_string(),
    }
}

impl From<tokio_postgres::Error> for ApiError {
    fn from(e: tokio_postgres::Error) -> Self {
        internal("Database error", pg_message(&e))
    }
}

fn respond(status: u16, body: Option<&Value>) -> Resp {
    let mut resp = Response::new(Full::new(Bytes::from(
        body.map(Value::to_string).unwrap_or_default(),
    )));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if body.is_some() {
        let json = HeaderValue::from_static("application/json");
        resp.headers_mut().insert(CONTENT_TYPE, json);
    }
    resp
}

fn ok(body: Value) -> Result<Resp, ApiError> {
    Ok(respond(200, Some(&body)))
}

fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        err(
            400,
            "bad_json",
            format!("Could not parse request body as JSON: {e}"),
        )
    })
}

/// The first value of a query parameter, percent-decoded.
fn query_param(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(k, _)| percent_decode(k) == name)
        .map(|(_, v)| percent_decode(v))
}

/// `Authorization: Bearer <token>`, as GoTrue's `^(?:B|b)earer (\S+$)`.
fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .filter(|t| !t.is_empty() && !t.contains(char::is_whitespace))
        .ok_or_else(|| {
            err(
                401,
                "no_authorization",
                "This endpoint requires a valid Bearer token",
            )
        })
}

// ---------- keys and tokens ----------

struct PublicKey {
    kid: String,
    alg: Algorithm,
    decoding: DecodingKey,
    jwk: Value,
}

struct State {
    db: Db,
    anon_key: String,
    service_key: String,
    issuer: String,
    signer: EncodingKey,
    signer_kid: String,
    signer_alg: Algorithm,
    /// Published in the JWKS and accepted on bearer tokens; the first one signs.
    keys: Vec<PublicKey>,
    reuse_interval: f64,
    site_url: String,
    allow_list: Vec<String>,
    autoconfirm: bool,
    otp_exp: f64,
    max_frequency: f64,
    providers: Vec<String>,
    before_user_created: Option<PgHook>,
}

/// A pg-functions:// hook: its URI (for errors) and the call.
struct PgHook {
    uri: String,
    sql: String,
}

/// `pg-functions://postgres/<schema>/<function>` as GoTrue reads it ("schema"."function").
fn parse_pg_hook(var: &str, uri: &str) -> Result<PgHook, String> {
    let bad =
        || format!("{var} is malformed (want pg-functions://postgres/<schema>/<function>): {uri}");
    let rest = uri.strip_prefix("pg-functions://").ok_or_else(bad)?;
    let (_host, path) = rest.split_once('/').ok_or_else(bad)?;
    let parts: Vec<&str> = path.split('/').collect();
    if parts.len() != 2 || parts.iter().any(|p| p.is_empty()) {
        return Err(bad());
    }
    let quote = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
    Ok(PgHook {
        uri: uri.to_string(),
        sql: format!("select {}.{}($1::jsonb)", quote(parts[0]), quote(parts[1])),
    })
}

fn env_opt(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Seconds (a whole number), or the default when unset.
fn env_seconds(name: &str, default: u32) -> Result<f64, String> {
    match env_opt(name) {
        None => Ok(f64::from(default)),
        Some(v) => v
            .parse::<u32>()
            .map(f64::from)
            .map_err(|_| format!("{name} is malformed (seconds): {v}")),
    }
}

/// Go's strconv.ParseBool.
fn env_bool(name: &str) -> Result<bool, String> {
    match env_opt(name).as_deref() {
        None => Ok(false),
        Some("1" | "t" | "T" | "TRUE" | "true" | "True") => Ok(true),
        Some("0" | "f" | "F" | "FALSE" | "false" | "False") => Ok(false),
        Some(v) => Err(format!("{name} is malformed (true or false): {v}")),
    }
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| format!("{name} is not set"))
}

/// Reads a PEM private key: EC P-256 (ES256) or RSA (RS256), and its public JWK.
fn load_key(var: &str, kid: &str, path: &str) -> Result<(EncodingKey, PublicKey), String> {
    let pem = std::fs::read(path).map_err(|e| format!("{var}: cannot read {path}: {e}"))?;
    let (key, alg) = if let Ok(key) = EncodingKey::from_ec_pem(&pem) {
        (key, Algorithm::ES256)
    } else if let Ok(key) = EncodingKey::from_rsa_pem(&pem) {
        (key, Algorithm::RS256)
    } else {
        return Err(format!(
            "{var}: {path} is not a PEM private key (EC P-256 or RSA)"
        ));
    };
    let bad = |e: jsonwebtoken::errors::Error| format!("{var}: unusable key {path}: {e}");
    let jwk = Jwk::from_encoding_key(&key, alg).map_err(bad)?;
    let decoding = DecodingKey::from_jwk(&jwk).map_err(bad)?;
    let mut public = serde_json::to_value(&jwk).map_err(|e| format!("{var}: {e}"))?;
    if alg == Algorithm::ES256 && public["crv"] != "P-256" {
        return Err(format!("{var}: {path} is an EC key but not on curve P-256"));
    }
    public["kid"] = json!(kid);
    public["use"] = json!("sig");
    public["key_ops"] = json!(["verify"]);
    public["ext"] = json!(true);
    let kid = kid.to_string();
    Ok((
        key,
        PublicKey {
            kid,
            alg,
            decoding,
            jwk: public,
        },
    ))
}

impl State {
    fn from_env() -> Result<State, String> {
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
        let signer_alg = public.alg;
        let mut keys = vec![public];
        let extra = std::env::var("AUTH_EXTRA_PUBLIC_KEYS").unwrap_or_default();
        for entry in extra.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let var = "AUTH_EXTRA_PUBLIC_KEYS";
            let (kid, path) = entry
                .split_once('=')
                .filter(|(k, p)| !k.trim().is_empty() && !p.trim().is_empty())
                .ok_or_else(|| format!("{var} is malformed: want kid=path.pem, got {entry:?}"))?;
            if keys.iter().any(|k| k.kid == kid.trim()) {
                return Err(format!("{var}: kid {kid:?} is used twice"));
            }
            keys.push(load_key(var, kid.trim(), path.trim())?.1);
        }
        let reuse_interval = env_seconds("AUTH_REFRESH_TOKEN_REUSE_INTERVAL", 10)?;
        let site_url = env_opt("AUTH_SITE_URL").unwrap_or_else(|| "http://localhost:3000".into());
        if origin(&site_url).is_none_or(|o| o.scheme != "http" && o.scheme != "https") {
            return Err(format!(
                "AUTH_SITE_URL is malformed (want an http(s) URL): {site_url}"
            ));
        }
        let list = |name: &str| -> Vec<String> {
            env_opt(name)
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(str::to_string)
                .collect()
        };
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
        let state = State {
            db: Db {
                url: database_url,
                idle: Mutex::new(Vec::new()),
            },
            anon_key: env("SUPABASE_ANON_KEY")?,
            service_key: env("SUPABASE_SERVICE_ROLE_KEY")?,
            issuer,
            signer,
            signer_kid,
            signer_alg,
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
        // The key must sign and verify with this build's crypto backend.
        let now = Utc::now().timestamp();
        let probe = state.sign(&json!({ "iss": state.issuer, "exp": now + 60 }))?;
        state
            .verify(&probe)
            .map_err(|e| format!("AUTH_SIGNING_KEY: self-check failed: {e}"))?;
        Ok(state)
    }

    fn sign(&self, claims: &Value) -> Result<String, String> {
        let mut header = Header::new(self.signer_alg);
        header.kid = Some(self.signer_kid.clone());
        jsonwebtoken::encode(&header, claims, &self.signer).map_err(|e| e.to_string())
    }

    /// Verifies a bearer token against the published keys (by kid), with no leeway as
    /// GoTrue. Errors read like GoTrue's (golang-jwt) messages.
    fn verify(&self, token: &str) -> Result<Value, String> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| format!("token is malformed: {e}"))?;
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.keys.iter().find(|k| k.kid == kid))
            .ok_or_else(|| {
                let kid = header.kid.as_deref().unwrap_or("<nil>");
                format!("unrecognized JWT kid {kid} for algorithm {:?}", header.alg)
            })?;
        let mut validation = Validation::new(key.alg);
        validation.leeway = 0;
        validation.validate_aud = false;
        validation.set_issuer(&[&self.issuer]);
        jsonwebtoken::decode::<Value>(token, &key.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => "token has invalid claims: token is expired".into(),
                ErrorKind::ImmatureSignature => {
                    "token has invalid claims: token is not valid yet".into()
                }
                ErrorKind::InvalidIssuer => {
                    "token has invalid claims: token has invalid issuer".into()
                }
                ErrorKind::InvalidSignature => {
                    "token signature is invalid: signature is invalid".into()
                }
                ErrorKind::InvalidAlgorithm => {
                    format!(
                        "token signature is invalid: signing method {:?} is invalid",
                        header.alg
                    )
                }
                _ => format!("token is malformed: {e}"),
            })
    }

    fn jwks(&self) -> Value {
        json!({ "keys": self.keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
    }
}

/// GoTrue's legacy refresh tokens: 12 random lower-case base32 characters.
fn new_refresh_token() -> Result<String, ApiError> {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut bytes = [0u8; 12];
    getrandom::getrandom(&mut bytes).map_err(|e| internal("Error generating refresh token", e))?;
    Ok(bytes
        .iter()
        .map(|b| ALPHABET[usize::from(b & 31)] as char)
        .collect())
}

// ---------- database ----------

/// A few idle connections, reused; more are opened on demand.
struct Db {
    url: String,
    idle: Mutex<Vec<Client>>,
}

struct Conn<'a> {
    db: &'a Db,
    client: Option<Client>,
}

impl Db {
    async fn get(&self) -> Result<Conn<'_>, ApiError> {
        let pooled = {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            idle.retain(|c| !c.is_closed());
            idle.pop()
        };
        let client = match pooled {
            Some(client) => client,
            None => {
                let (client, connection) = tokio_postgres::connect(&self.url, NoTls).await?;
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        eprintln!("auth-standin: database connection: {e}");
                    }
                });
                client
            }
        };
        Ok(Conn {
            db: self,
            client: Some(client),
        })
    }
}

impl Conn<'_> {
    async fn begin(&mut self) -> Result<Transaction<'_>, ApiError> {
        let client = self
            .client
            .as_mut()
            .expect("connection is present until drop");
        Ok(client.transaction().await?)
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        if let Some(client) = self.client.take().filter(|c| !c.is_closed()) {
            let mut idle = self.db.idle.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < 8 {
                idle.push(client);
            }
        }
    }
}

/// GoTrue connects as supabase_auth_admin: its writes (and the triggers they fire) and
/// the access token hook run with that role's rights. Until the transaction ends.
async fn as_auth_admin(tx: &Transaction<'_>) -> Result<(), ApiError> {
    Ok(tx
        .batch_execute("set local role supabase_auth_admin")
        .await?)
}

struct User {
    id: Uuid,
    aud: String,
    role: String,
    email: String,
    phone: String,
    app_metadata: Value,
    user_metadata: Value,
    is_anonymous: bool,
    confirmed: bool,
    banned: bool,
    json: Value,
}

/// A row of USER_COLUMNS, and its JSON as GoTrue's models.User serializes it.
fn user_from_row(row: &Row) -> User {
    let text = |c: &str| row.get::<_, Option<String>>(c).unwrap_or_default();
    let meta = |c: &str| match row.get::<_, Option<Value>>(c) {
        Some(v @ Value::Object(_)) => v,
        _ => json!({}),
    };
    let time = |c: &str| row.get::<_, Option<DateTime<Utc>>>(c);
    let (email_confirmed, phone_confirmed) =
        (time("email_confirmed_at"), time("phone_confirmed_at"));
    let user = User {
        id: row.get("id"),
        aud: text("aud"),
        role: text("role"),
        email: text("email"),
        phone: text("phone"),
        app_metadata: meta("raw_app_meta_data"),
        user_metadata: meta("raw_user_meta_data"),
        is_anonymous: row.get("is_anonymous"),
        confirmed: email_confirmed.is_some(),
        banned: row.get("banned"),
        json: Value::Null,
    };
    // GoTrue omits an identity's empty fields (last_sign_in_at, email).
    let identities: Vec<Value> = match row.get::<_, Option<Value>>("identities") {
        Some(Value::Array(list)) => list
            .into_iter()
            .map(|mut identity| {
                if let Some(map) = identity.as_object_mut() {
                    map.retain(|_, v| !v.is_null());
                }
                identity
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut json = json!({
        "id": user.id,
        "aud": user.aud,
        "role": user.role,
        "email": user.email,
        "phone": user.phone,
        "app_metadata": user.app_metadata,
        "user_metadata": user.user_metadata,
        "identities": identities,
        "created_at": time("created_at"),
        "updated_at": time("updated_at"),
        "is_anonymous": user.is_anonymous,
    });
    // Supabase's generated confirmed_at = least(email_confirmed_at, phone_confirmed_at).
    let confirmed_at = email_confirmed.into_iter().chain(phone_confirmed).min();
    for (name, value) in [
        ("email_confirmed_at", email_confirmed),
        ("phone_confirmed_at", phone_confirmed),
        ("confirmed_at", confirmed_at),
        ("last_sign_in_at", time("last_sign_in_at")),
        ("banned_until", time("banned_until")),
        ("confirmation_sent_at", time("confirmation_sent_at")),
        ("recovery_sent_at", time("recovery_sent_at")),
        ("email_change_sent_at", time("email_change_sent_at")),
        ("invited_at", time("invited_at")),
    ] {
        if let Some(value) = value {
            json[name] = json!(value);
        }
    }
    let new_email = text("email_change");
    if !new_email.is_empty() {
        json["new_email"] = json!(new_email);
    }
    User { json, ..user }
}

async fn load_user(tx: &Transaction<'_>, id: Uuid) -> Result<Option<User>, ApiError> {
    let sql = format!("select {USER_COLUMNS} from auth.users where id = $1");
    Ok(tx
        .query_opt(&sql, &[&id])
        .await?
        .as_ref()
        .map(user_from_row))
}

// ---------- sessions ----------

/// Signs an access token for the session (through the custom access token hook when
/// public.custom_access_token_hook(jsonb) exists) and builds GoTrue's token response.
async fn token_response(
    st: &State,
    tx: &Transaction<'_>,
    user: &User,
    session_id: Uuid,
    refresh_token: &str,
    authentication_method: &str,
) -> Result<Value, ApiError> {
    // The session's methods, newest first (GoTrue's amr); sessions from before
    // auth.mfa_amr_claims existed signed in with a password.
    let amr: Vec<Value> = tx
        .query(
            "select authentication_method, extract(epoch from created_at)::float8
             from auth.mfa_amr_claims where session_id = $1 order by created_at desc",
            &[&session_id],
        )
        .await?
        .iter()
        .map(|r| json!({ "method": r.get::<_, String>(0), "timestamp": r.get::<_, f64>(1) as i64 }))
        .collect();
    let amr = if amr.is_empty() {
        let session = tx
            .query_one(
                "select created_at from auth.sessions where id = $1",
                &[&session_id],
            )
            .await?;
        let signed_in_at = session
            .get::<_, Option<DateTime<Utc>>>(0)
            .unwrap_or_else(Utc::now);
        vec![json!({ "method": "password", "timestamp": signed_in_at.timestamp() })]
    } else {
        amr
    };
    let now = Utc::now().timestamp();
    let expires_at = now + ACCESS_TOKEN_TTL;
    let mut claims = json!({
        "iss": st.issuer,
        "aud": user.aud,
        "exp": expires_at,
        "iat": now,
        "sub": user.id,
        "email": user.email,
        "phone": user.phone,
        "app_metadata": user.app_metadata,
        "user_metadata": user.user_metadata,
        "role": user.role,
        "aal": "aal1",
        "amr": amr,
        "session_id": session_id,
        "is_anonymous": user.is_anonymous,
    });
    let hook: bool = tx
        .query_one(
            "select to_regprocedure('public.custom_access_token_hook(jsonb)') is not null",
            &[],
        )
        .await?
        .get(0);
    if hook {
        let input = json!({
            "user_id": user.id,
            "claims": claims,
            "authentication_method": authentication_method,
        });
        let output = tx
            .query_one(
                "select public.custom_access_token_hook($1::jsonb)",
                &[&input],
            )
            .await
            .map_err(|e| {
                internal(
                    &format!("Error running hook URI: {HOOK_URI}"),
                    pg_message(&e),
                )
            })?
            .get::<_, Option<Value>>(0)
            .unwrap_or(Value::Null);
        if let Some(e) = hook_error(&output) {
            return Err(e);
        }
        claims = match output.get("claims") {
            Some(c @ Value::Object(map))
                if REQUIRED_CLAIMS.iter().all(|k| map.contains_key(*k)) =>
            {
                c.clone()
            }
            _ => {
                return Err(internal(
                    "output claims do not conform to the expected schema",
                    output,
                ))
            }
        };
    }
    let access_token = st
        .sign(&claims)
        .map_err(|e| internal("error generating jwt token", e))?;
    Ok(json!({
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": ACCESS_TOKEN_TTL,
        "expires_at": expires_at,
        "refresh_token": refresh_token,
        "user": user.json,
    }))
}

#[derive(Deserialize)]
struct PasswordGrant {
    email: Option<String>,
    phone: Option<String>,
    password: Option<String>,
}

async fn password_grant(st: &State, req: &Req<'_>) -> Result<Resp, ApiError> {
    let params: PasswordGrant = parse_body(req.body)?;
    let email = params.email.unwrap_or_default();
    let password = params.password.unwrap_or_default();
    let invalid = || err(400, "invalid_credentials", "Invalid login credentials");
    match (
        email.is_empty(),
        params.phone.unwrap_or_default().is_empty(),
    ) {
        (false, false) => {
            let msg = "Only an email address or phone number should be provided on login.";
            return Err(err(400, "validation_failed", msg));
        }
        (true, false) => {
            return Err(err(
                422,
                "phone_provider_disabled",
                "Phone logins are disabled",
            ))
        }
        (true, true) => return Err(err(400, "validation_failed", "missing email or phone")),
        (false, true) => {}
    }
    let mut conn = st.db.get().await?;
    let tx = conn.begin().await?;
    // As the superuser: supabase_auth_admin has no usage on schema extensions (pgcrypto).
    let sql = format!(
        "select {USER_COLUMNS}, coalesce(encrypted_password, '') <> '' as has_password,
           case when encrypted_password like '$2%'
             then encrypted_password = extensions.crypt($2, encrypted_password)
             else false end as password_ok
         from auth.users
         where lower(email) = lower($1) and aud = 'authenticated'
           and deleted_at is null and not is_sso_user
         order by created_at limit 1"
    );
    let row = tx
        .query_opt(&sql, &[&email, &password])
        .await?
        .ok_or_else(invalid)?;
    if !row.get::<_, bool>("has_password") {
        return Err(invalid());
    }
    let user = user_from_row(&row);
    if user.banned {
        return Err(err(400, "user_banned", "User is banned"));
    }
    if !row.get::<_, bool>("password_ok") {
        return Err(invalid());
    }
    if !user.confirmed {
        return Err(err(400, "email_not_confirmed", "Email not confirmed"));
    }

    as_auth_admin(&tx).await?;
    let body = issue_session(st, &tx, &EndUser::of(req), user.id, "password", None).await?;
    tx.commit().await?;
    ok(body)
}

/// Who is signing in, as GoTrue records it on the session (models.GrantParams): the
/// request's User-Agent and address (the first X-Forwarded-For entry, else the peer).
struct EndUser {
    user_agent: Option<String>,
    ip: String,
}

impl EndUser {
    fn of(req: &Req<'_>) -> Self {
        Self {
            user_agent: req
                .headers
                .get(hyper::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            ip: client_ip(req),
        }
    }
}

/// GoTrue's IssueRefreshToken: a new session (aal1, the method as its amr, the client's
/// user agent and address), its first refresh token, last_sign_in_at, and the token
/// response. As supabase_auth_admin.
async fn issue_session(
    st: &State,
    tx: &Transaction<'_>,
    client: &EndUser,
    user_id: Uuid,
    authentication_method: &str,
    provider_token: Option<&str>,
) -> Result<Value, ApiError> {
    let session_id = Uuid::new_v4();
    tx.execute(
        "insert into auth.sessions (id, user_id, aal, user_agent, ip)
         values ($1, $2, 'aal1', $3, $4::text::inet)",
        &[&session_id, &user_id, &client.user_agent, &client.ip],
    )
    .await?;
    tx.execute(
        "insert into auth.mfa_amr_claims (id, session_id, created_at, updated_at,
                                          authentication_method)
         values ($1, $2, now(), now(), $3)",
        &[&Uuid::new_v4(), &session_id, &authentication_method],
    )
    .await?;
    let refresh_token = new_refresh_token()?;
    tx.execute(
        "insert into auth.refresh_tokens (token, user_id, session_id) values ($1, $2, $3)",
        &[&refresh_token, &user_id, &session_id],
    )
    .await?;
    let sql = format!(
        "update auth.users set last_sign_in_at = now() where id = $1 returning {USER_COLUMNS}"
    );
    let user = user_from_row(&tx.query_one(&sql, &[&user_id]).await?);
    let mut body = token_response(
        st,
        tx,
        &user,
        session_id,
        &refresh_token,
        authentication_method,
    )
    .await?;
    if let Some(token) = provider_token {
        body["provider_token"] = json!(token);
    }
    Ok(body)
}

#[derive(Deserialize)]
struct RefreshGrant {
    refresh_token: Option<String>,
}

async fn refresh_grant(st: &State, req: &Req<'_>) -> Result<Resp, ApiError> {
    let params: RefreshGrant = parse_body(req.body)?;
    let presented = params.refresh_token.unwrap_or_default();
    let not_found = || {
        err(
            400,
            "refresh_token_not_found",
            "Invalid Refresh Token: Refresh Token Not Found",
        )
    };
    let mut conn = st.db.get().await?;
    let tx = conn.begin().await?;
    as_auth_admin(&tx).await?;
    let row = tx
        .query_opt(
            "select rt.id, rt.user_id, rt.session_id, rt.revoked,
                    extract(epoch from now() - rt.updated_at)::float8 as age,
                    coalesce(s.not_after < now(), false) as past_not_after
             from auth.refresh_tokens rt join auth.sessions s on s.id = rt.session_id
             where rt.token = $1
             for update",
            &[&presented],
        )
        .await?
        .ok_or_else(not_found)?;
    let (token_id, session_id): (i64, Uuid) = (row.get("id"), row.get("session_id"));
    let user_id: Option<Uuid> = row.get("user_id");
    let user = match user_id {
        Some(id) => load_user(&tx, id).await?.ok_or_else(not_found)?,
        None => return Err(not_found()),
    };
    if user.banned {
        return Err(err(
            400,
            "user_banned",
            "Invalid Refresh Token: User Banned",
        ));
    }
    // GoTrue's Session.CheckValidity: a time-boxed session past its not_after is over.
    if row.get::<_, bool>("past_not_after") {
        return Err(err(
            400,
            "session_expired",
            "Invalid Refresh Token: Session Expired",
        ));
    }

    let mut issued = None;
    if row.get::<_, bool>("revoked") {
        let active = tx
            .query_opt(
                "select token, parent from auth.refresh_tokens
                 where session_id = $1 and not revoked order by id desc limit 1",
                &[&session_id],
            )
            .await?;
        match active {
            // The client lost the answer to its last refresh: hand back the active token.
            Some(a) if a.get::<_, Option<String>>("parent").as_deref() == Some(&presented) => {
                issued = Some(a.get::<_, String>("token"));
            }
            // Reused after the reuse interval: revoke the session's tokens, keep that.
            _ if row.get::<_, f64>("age") > st.reuse_interval => {
                tx.execute(
                    "update auth.refresh_tokens set revoked = true
                     where session_id = $1 and not revoked",
                    &[&session_id],
                )
                .await?;
                tx.commit().await?;
                return Err(err(
                    400,
                    "refresh_token_already_used",
                    "Invalid Refresh Token: Already Used",
                ));
            }
            _ => {}
        }
    }
    let refresh_token = match issued {
        Some(token) => token,
        None => {
            tx.execute(
                "update auth.refresh_tokens set revoked = true, updated_at = now()
                 where id = $1 and not revoked",
                &[&token_id],
            )
            .await?;
            let token = new_refresh_token()?;
            tx.execute(
                "insert into auth.refresh_tokens (token, user_id, session_id, parent)
                 values ($1, $2, $3, $4)",
                &[&token, &user.id, &session_id, &presented],
            )
            .await?;
            token
        }
    };
    // GoTrue's UpdateOnlyRefreshInfo: refreshed_at (UTC, without a zone), user agent, address.
    let client = EndUser::of(req);
    tx.execute(
        "update auth.sessions set updated_at = now(), refreshed_at = now() at time zone 'UTC',
           user_agent = $2, ip = $3::text::inet
         where id = $1",
        &[&session_id, &client.user_agent, &client.ip],
    )
    .await?;
    let body = token_response(st, &tx, &user, session_id, &refresh_token, "token_refresh").await?;
    tx.commit().await?;
    ok(body)
}

/// GoTrue's requireAuthentication: a valid access token whose user and session exist.
async fn authenticate(
    st: &State,
    tx: &Transaction<'_>,
    headers: &HeaderMap,
) -> Result<(User, Option<Uuid>), ApiError> {
    let claims = st.verify(bearer(headers)?).map_err(|e| {
        err(
            403,
            "bad_jwt",
            format!("invalid JWT: unable to parse or verify signature, {e}"),
        )
    })?;
    let sub = claims["sub"].as_str().unwrap_or_default();
    if sub.is_empty() {
        return Err(err(403, "bad_jwt", "invalid claim: missing sub claim"));
    }
    let sub = Uuid::parse_str(sub)
        .map_err(|_| err(400, "bad_jwt", "invalid claim: sub claim must be a UUID"))?;
    let user = load_user(tx, sub).await?.ok_or_else(|| {
        err(
            403,
            "user_not_found",
            "User from sub claim in JWT does not exist",
        )
    })?;
    let session_id = match claims["session_id"].as_str().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(Uuid::parse_str(s).map_err(|_| {
            err(
                403,
                "bad_jwt",
                "invalid claim: session_id claim must be a UUID",
            )
        })?),
    }
    .filter(|id| !id.is_nil());
    if let Some(id) = session_id {
        let found = tx
            .query_opt("select 1 from auth.sessions where id = $1", &[&id])
            .await?;
        if found.is_none() {
            let msg = "Session from session_id claim in JWT does not exist";
            return Err(err(403, "session_not_found", msg));
        }
    }
    if user.banned {
        return Err(err(403, "user_banned", "User is banned"));
    }
    Ok((user, session_id))
}

async fn logout(st: &State, headers: &HeaderMap, query: &str) -> Result<Resp, ApiError> {
    let mut conn = st.db.get().await?;
    let tx = conn.begin().await?;
    as_auth_admin(&tx).await?;
    let (user, session_id) = authenticate(st, &tx, headers).await?;
    let scope = query_param(query, "scope").unwrap_or_default();
    match (scope.as_str(), session_id) {
        ("local", Some(id)) => {
            tx.execute("delete from auth.sessions where id = $1", &[&id])
                .await?;
        }
        ("others", Some(id)) => {
            let sql = "delete from auth.sessions where user_id = $1 and id <> $2";
            tx.execute(sql, &[&user.id, &id]).await?;
        }
        ("" | "global" | "local" | "others", _) => {
            tx.execute(
                "delete from auth.refresh_tokens where user_id = $1",
                &[&user.id],
            )
            .await?;
            tx.execute("delete from auth.sessions where user_id = $1", &[&user.id])
                .await?;
        }
        (other, _) => {
            let msg = format!("Unsupported logout scope {other:?}");
            return Err(err(400, "validation_failed", msg));
        }
    }
    tx.commit().await?;
    Ok(respond(204, None))
}

async fn get_user(st: &State, headers: &HeaderMap) -> Result<Resp, ApiError> {
    let mut conn = st.db.get().await?;
    let tx = conn.begin().await?;
    let (user, _) = authenticate(st, &tx, headers).await?;
    ok(user.json)
}

// ---------- admin ----------

/// GoTrue's requireAdmin: a bearer token with an admin role (here: the service role key).
fn require_admin(st: &State, headers: &HeaderMap) -> Result<(), ApiError> {
    let token = bearer(headers)?;
    if token == st.service_key {
        return Ok(());
    }
    match st.verify(token) {
        Err(e) if token != st.anon_key => Err(err(
            403,
            "bad_jwt",
            format!("invalid JWT: unable to parse or verify signature, {e}"),
        )),
        _ => Err(err(403, "not_admin", "User not allowed")),
    }
}

#[derive(Deserialize)]
struct CreateUser {
    id: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    password: Option<String>,
    email_confirm: Option<bool>,
    user_metadata: Option<Map<String, Value>>,
    app_metadata: Option<Map<String, Value>>,
}

/// GoTrue's validateEmail (checkmail's format check), lower-cased.
fn validate_email(email: &str) -> Result<String, ApiError> {
    let invalid = || {
        err(
            400,
            "validation_failed",
            "Unable to validate email address: invalid format",
        )
    };
    if email.len() > 255 {
        return Err(err(
            400,
            "validation_failed",
            "An email address is too long",
        ));
    }
    let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
    let local_ok = !local.is_empty()
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".!#$%&'*+/=?^_`{|}~-".contains(c));
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if !local_ok || !domain.split('.').all(label_ok) {
        return Err(invalid());
    }
    Ok(email.to_lowercase())
}

async fn admin_create_user(st: &State, headers: &HeaderMap, body: &[u8]) -> Result<Resp, ApiError> {
    require_admin(st, headers)?;
    let params: CreateUser = parse_body(body)?;
    let (email, phone) = (
        params.email.unwrap_or_default(),
        params.phone.unwrap_or_default(),
    );
    if email.is_empty() && phone.is_empty() {
        let msg = "Cannot create a user without either an email or phone";
        return Err(err(400, "validation_failed", msg));
    }
    if !phone.is_empty() {
        return Err(err(
            400,
            "validation_failed",
            "The auth stand-in does not support phone users",
        ));
    }
    let email = validate_email(&email)?;
    let mut conn = st.db.get().await?;
    let tx = conn.begin().await?;
    let taken = tx
        .query_opt(
            "select 1 from auth.users
             where lower(email) = $1 and aud = 'authenticated' and not is_sso_user",
            &[&email],
        )
        .await?;
    if taken.is_some() {
        let msg = "A user with this email address has already been registered";
        return Err(err(422, "email_exists", msg));
    }
    let password = params.password.unwrap_or_default();
    if !password.is_empty() && password.chars().count() < 6 {
        let mut e = err(
            422,
            "weak_password",
            "Password should be at least 6 characters.",
        );
        e.body["weak_password"] = json!({ "reasons": ["length"] });
        return Err(e);
    }
    if password.len() > 72 {
        return Err(err(
            400,
            "validation_failed",
            "bcrypt: password length exceeds 72 bytes",
        ));
    }
    let id = match params.id.filter(|id| !id.is_empty()) {
        None => Uuid::new_v4(),
        Some(id) => match Uuid::parse_str(&id) {
            Ok(id) if id.is_nil() => {
                return Err(err(400, "validation_failed", "ID cannot be a nil uuid"))
            }
            Ok(id) => id,
            Err(_) => {
                let msg = "ID must conform to the uuid v4 format";
                return Err(err(400, "validation_failed", msg));
            }
        },
    };
    // GoTrue sets provider/providers, then merges the given app_metadata (null deletes).
    let mut app_metadata = json!({ "provider": "email", "providers": ["email"] });
    for (key, value) in params.app_metadata.unwrap_or_default() {
        match value {
            Value::Null => app_metadata.as_object_mut().map(|m| m.remove(&key)),
            value => app_metadata.as_object_mut().map(|m| m.insert(key, value)),
        };
    }
    let user_metadata = Value::Object(params.user_metadata.unwrap_or_default());
    // bcrypt at GoTrue's cost (10), as the superuser (pgcrypto lives in extensions).
    let hash: Option<String> = match password.is_empty() {
        true => None,
        false => tx
            .query_one(
                "select extensions.crypt($1, extensions.gen_salt('bf', 10))",
                &[&password],
            )
            .await?
            .get(0),
    };
    as_auth_admin(&tx).await?;
    let new_user = NewUser {
        id,
        email: &email,
        password_hash: hash,
        confirmed: params.email_confirm.unwrap_or(false),
        app_metadata: &app_metadata,
        user_metadata: &user_metadata,
    };
    let context = "Database error creating new user";
    insert_user(&tx, &new_user, context).await?;
    // As GoTrue's adminUserCreate: the user's email identity (no before-user-created hook).
    let identity_data = Value::Object(email_claims(id, &email));
    create_identity(&tx, id, "email", &id.to_string(), &identity_data).await?;
    let user = load_user(&tx, id)
        .await?
        .ok_or_else(|| internal(context, "user vanished"))?;
    tx.commit().await?;
    ok(user.json)
}

struct NewUser<'a> {
    id: Uuid,
    email: &'a str,
    password_hash: Option<String>,
    confirmed: bool,
    app_metadata: &'a Value,
    user_metadata: &'a Value,
}

/// The one insert into auth.users (it fires the app's triggers), as supabase_auth_admin.
async fn insert_user(
    tx: &Transaction<'_>,
    user: &NewUser<'_>,
    context: &str,
) -> Result<(), ApiError> {
    tx.execute(
        "insert into auth.users (id, aud, role, email, encrypted_password, email_confirmed_at,
                                 raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
         values ($1, 'authenticated', 'authenticated', $2, $3,
                 case when $4 then now() end, $5, $6, now(), now())",
        &[
            &user.id,
            &user.email,
            &user.password_hash,
            &user.confirmed,
            user.app_metadata,
            user.user_metadata,
        ],
    )
    .await
    .map_err(|e| internal(context, pg_message(&e)))?;
    Ok(())
}

async fn admin_delete_user(st: &State, headers: &HeaderMap, id: &str) -> Result<Resp, ApiError> {
    require_admin(st, headers)?;
    let id = Uuid::parse_str(id)
        .map_err(|_| err(404, "validation_failed", "user_id must be an UUID"))?;
    let mut conn = st.db.get().await?;
    let tx = conn.begin().await?;
    as_auth_admin(&tx).await?;
    let deleted = tx
        .execute("delete from auth.users where id = $1", &[&id])
        .await
        .map_err(|e| internal("Database error deleting user", pg_message(&e)))?;
    if deleted == 0 {
        return Err(err(404, "user_not_found", "User not found"));
    }
    tx.commit().await?;
    ok(json!({}))
}

// ---------- URLs, redirects and randomness ----------

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// A query component, as Go's url.QueryUnescape (`+` is a space); bad escapes stay.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                bytes.get(i + 1).copied().and_then(hex_value),
                bytes.get(i + 2).copied().and_then(hex_value),
            ) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Go's url.QueryEscape.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// Go's url.Values: keys sorted, values in order.
type Query = BTreeMap<String, Vec<String>>;

fn parse_query(query: &str) -> Query {
    let mut parsed = Query::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        parsed
            .entry(percent_decode(k))
            .or_default()
            .push(percent_decode(v));
    }
    parsed
}

fn encode_query(query: &Query) -> String {
    let mut out = String::new();
    for (k, values) in query {
        for v in values {
            if !out.is_empty() {
                out.push('&');
            }
            let _ = write!(out, "{}={}", query_escape(k), query_escape(v));
        }
    }
    out
}

/// The URL with these query parameters set (re-encoded and sorted, as Go's
/// `u.Query()` ... `q.Encode()`), and a new fragment (or its own).
fn url_with(url: &str, set: &[(&str, &str)], fragment: Option<&str>) -> String {
    let (rest, own_fragment) = match url.split_once('#') {
        Some((rest, f)) => (rest, Some(f)),
        None => (url, None),
    };
    let (base, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut q = parse_query(query);
    for (k, v) in set {
        q.insert(k.to_string(), vec![v.to_string()]);
    }
    let mut out = base.to_string();
    let encoded = encode_query(&q);
    if !encoded.is_empty() {
        out.push('?');
        out.push_str(&encoded);
    }
    if let Some(f) = fragment.or(own_fragment) {
        out.push('#');
        out.push_str(f);
    }
    out
}

struct Origin {
    scheme: String,
    host: String,
    port: String,
}

/// Scheme, host and port of an absolute URL.
fn origin(url: &str) -> Option<Origin> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if !scheme_ok {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = match host_port.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6.split_once(']')?;
            (host, after.strip_prefix(':').unwrap_or_default())
        }
        None => match host_port.rsplit_once(':') {
            Some((host, port)) => (host, port),
            None => (host_port, ""),
        },
    };
    Some(Origin {
        scheme: scheme.to_ascii_lowercase(),
        host: host.to_ascii_lowercase(),
        port: port.to_string(),
    })
}

/// GoTrue's utilities.IsRedirectURLValid, with AUTH_URI_ALLOW_LIST entries as prefixes.
fn redirect_allowed(st: &State, url: &str) -> bool {
    if url.is_empty() {
        return false;
    }
    if let (Some(site), Some(to)) = (origin(&st.site_url), origin(url)) {
        let localhost =
            ["localhost", "127.0.0.1", "::1", "0.0.0.0", "::"].contains(&to.host.as_str());
        if site.host == to.host && site.scheme == to.scheme && (site.port == to.port || localhost) {
            return true;
        }
        if !to.host.is_empty() && to.host.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        if let Ok(ip) = to.host.parse::<IpAddr>() {
            return ip.is_loopback();
        }
        let regular = to.host.starts_with(|c: char| c.is_ascii_alphanumeric())
            && to.host.ends_with(|c: char| c.is_ascii_alphanumeric())
            && to
                .host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
        if (to.scheme == "http" || to.scheme == "https") && !regular {
            return false;
        }
    }
    let without_fragment = url.split('#').next().unwrap_or_default();
    st.allow_list
        .iter()
        .any(|prefix| without_fragment.starts_with(prefix.as_str()))
}

/// GoTrue's utilities.GetReferrer: the redirect_to header or query parameter, else the
/// Referer, when allowed; else the site URL.
fn referrer(st: &State, req: &Req<'_>) -> String {
    let header = |name: &str| {
        req.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let mut wanted = header("redirect_to");
    if wanted.is_empty() {
        wanted = query_param(req.query, "redirect_to").unwrap_or_default();
    }
    if redirect_allowed(st, &wanted) {
        return wanted;
    }
    let referer = header("referer");
    if redirect_allowed(st, &referer) {
        return referer;
    }
    st.site_url.clone()
}

fn redirect(status: u16, location: &str) -> Result<Resp, ApiError> {
    let value = HeaderValue::from_str(location).map_err(|e| internal("Invalid redirect URL", e))?;
    let mut resp = respond(status, None);
    resp.headers_mut().insert(LOCATION, value);
    Ok(resp)
}

fn random_bytes<const N: usize>() -> Result<[u8; N], ApiError> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).map_err(|e| internal("Error generating random data", e))?;
    Ok(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// GoTrue's crypto.GenerateOtp(6).
fn new_otp() -> Result<String, ApiError> {
    let n = u32::from_le_bytes(random_bytes::<4>()?) % 1_000_000;
    Ok(format!("{n:06}"))
}

/// The client address, as GoTrue's GetIPAddress (X-Forwarded-For first).
fn client_ip(req: &Req<'_>) -> String {
    req.headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| req.peer.to_string())
}

// ---------- users, identities, emails ----------

/// GoTrue's checkPasswordStrength with its defaults (6 characters, no required sets).
fn check_password_strength(password: &str) -> Result<(), ApiError> {
    if password.len() > 72 {
        let msg = "Password cannot be longer than 72 characters";
        return Err(err(400, "validation_failed", msg));
    }
    if password.len() < 6 {
        let mut e = err(
            422,
            "weak_password",
            "Password should be at least 6 characters.",
        );
        e.body["weak_password"] = json!({ "reasons": ["length"] });
        return Err(e);
    }
    Ok(())
}

/// GoTrue's validatePKCEParams.
fn validate_pkce(method: &str, challenge: &str) -> Result<(), ApiError> {
    if challenge.is_empty() != method.is_empty() {
        let msg = "PKCE flow requires code_challenge_method and code_challenge";
        return Err(err(400, "validation_failed", msg));
    }
    if challenge.is_empty() {
        return Ok(());
    }
    if !(43..=128).contains(&challenge.len()) {
        let msg = "code challenge has to be between 43 and 128 characters";
        return Err(err(400, "validation_failed", msg));
    }
    if !challenge
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._~-".contains(c))
    {
        let msg = "code challenge can only contain alphanumeric characters, hyphens, periods, \
                   underscores and tildes";
        return Err(err(400, "validation_failed", msg));
    }
    Ok(())
}

/// bcrypt at GoTrue's cost (10), as the superuser (pgcrypto lives in extensions).
async fn bcrypt(tx: &Transaction<'_>, password: &str) -> Result<Option<String>, ApiError> {
    Ok(tx
        .query_one(
            "select extensions.crypt($1, extensions.gen_salt('bf', 10))",
            &[&password],
        )
        .await?
        .get(0))
}

/// GoTrue's FindUserByEmailAndAudience.
async fn find_user_by_email(tx: &Transaction<'_>, email: &str) -> Result<Option<User>, ApiError> {
    let id: Option<Uuid> = tx
        .query_opt(
            "select id from auth.users
             where lower(email) = lower($1) and aud = 'authenticated' and not is_sso_user
             order by created_at limit 1",
            &[&email],
        )
        .await?
        .map(|r| r.get(0));
    match id {
        Some(id) => load_user(tx, id).await,
        None => Ok(None),
    }
}

/// GoTrue's IsDuplicatedEmail: a user with an identity of that email, else with that
/// email (other than `except`).
async fn duplicated_email(
    tx: &Transaction<'_>,
    email: &str,
    except: Option<Uuid>,
) -> Result<Option<User>, ApiError> {
    let id: Option<Uuid> = tx
        .query_opt(
            "select i.user_id from auth.identities i join auth.users u on u.id = i.user_id
             where i.email = lower($1) and u.aud = 'authenticated'
               and i.provider not like 'sso:%' and i.user_id is distinct from $2
             order by i.created_at limit 1",
            &[&email, &except],
        )
        .await?
        .map(|r| r.get(0));
    let id = match id {
        Some(id) => Some(id),
        None => tx
            .query_opt(
                "select id from auth.users
                 where lower(email) = lower($1) and aud = 'authenticated' and not is_sso_user
                   and id is distinct from $2
                 order by created_at limit 1",
                &[&email, &except],
            )
            .await?
            .map(|r| r.get(0)),
    };
    match id {
        Some(id) => load_user(tx, id).await,
        None => Ok(None),
    }
}

/// GoTrue's structs.Map(provider.Claims{Subject, Email}).
fn email_claims(user_id: Uuid, email: &str) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(user_id.to_string()));
    claims.insert("email".into(), json!(email));
    claims.insert("email_verified".into(), json!(false));
    claims.insert("phone_verified".into(), json!(false));
    claims
}

async fn create_identity(
    tx: &Transaction<'_>,
    user_id: Uuid,
    provider: &str,
    provider_id: &str,
    identity_data: &Value,
) -> Result<Uuid, ApiError> {
    let id = Uuid::new_v4();
    tx.execute(
        "insert into auth.identities (id, provider_id, user_id, identity_data, provider,
                                      last_sign_in_at, created_at, updated_at)
         values ($1, $2, $3,
                 case when $4::jsonb ? 'email'
                   then jsonb_set($4::jsonb, '{email}', to_jsonb(lower($4::jsonb ->> 'email')))
                   else $4::jsonb end,
                 $5, now(), clock_timestamp(), clock_timestamp())",
        &[&id, &provider_id, &user_id, identity_data, &provider],
    )
    .await
    .map_err(|e| internal("Error creating identity", pg_message(&e)))?;
    Ok(id)
}

/// GoTrue's UpdateAppMetaDataProviders: providers from the identities, oldest first.
async fn update_providers(tx: &Transaction<'_>, user_id: Uuid) -> Result<(), ApiError> {
    tx.execute(
        "update auth.users u set raw_app_meta_data =
           coalesce(u.raw_app_meta_data, '{}'::jsonb)
           || jsonb_build_object('providers', p.providers)
           || case when jsonb_array_length(p.providers) > 0
                then jsonb_build_object('provider', p.providers -> 0) else '{}'::jsonb end
         from (select coalesce(jsonb_agg(provider order by first_at), '[]'::jsonb) as providers
               from (select provider, min(created_at) as first_at from auth.identities
                     where user_id = $1 group by provider) x) p
         where u.id = $1",
        &[&user_id],
    )
    .await?;
    Ok(())
}

/// GoTrue's UpdateUserMetaData: keys set, null values delete.
async fn merge_user_metadata(
    tx: &Transaction<'_>,
    user_id: Uuid,
    updates: &Map<String, Value>,
) -> Result<(), ApiError> {
    let set: Map<String, Value> = updates
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let delete: Vec<String> = updates
        .iter()
        .filter(|(_, v)| v.is_null())
        .map(|(k, _)| k.clone())
        .collect();
    tx.execute(
        "update auth.users
         set raw_user_meta_data = (coalesce(raw_user_meta_data, '{}'::jsonb) || $2) - $3::text[]
         where id = $1",
        &[&user_id, &Value::Object(set), &delete],
    )
    .await?;
    Ok(())
}

/// GoTrue's user.Confirm: confirmed now, email_verified in the metadata, links spent.
async fn confirm_user(tx: &Transaction<'_>, user_id: Uuid) -> Result<(), ApiError> {
    tx.execute(
        "update auth.users set confirmation_token = '', email_confirmed_at = now(),
           raw_user_meta_data = coalesce(raw_user_meta_data, '{}'::jsonb)
                                || '{\"email_verified\": true}'::jsonb
         where id = $1",
        &[&user_id],
    )
    .await?;
    tx.execute(
        "delete from auth.one_time_tokens where user_id = $1",
        &[&user_id],
    )
    .await?;
    Ok(())
}

/// GoTrue's RemoveUnconfirmedIdentities: an unconfirmed user keeps only the identity
/// being confirmed, its metadata, and (unless it is email/phone) no password.
async fn remove_unconfirmed_identities(
    tx: &Transaction<'_>,
    user_id: Uuid,
    keep: Uuid,
    provider: &str,
    identity_data: &Value,
) -> Result<(), ApiError> {
    if provider != "email" && provider != "phone" {
        tx.execute(
            "update auth.users set encrypted_password = null where id = $1",
            &[&user_id],
        )
        .await?;
    }
    tx.execute(
        "update auth.users set raw_user_meta_data = jsonb_strip_nulls($2) where id = $1",
        &[&user_id, identity_data],
    )
    .await?;
    tx.execute(
        "delete from auth.identities where user_id = $1 and id <> $2",
        &[&user_id, &keep],
    )
    .await?;
    update_providers(tx, user_id).await
}

/// The user GoTrue builds before inserting it (ToUserModel), as hooks see it.
fn unsaved_user_json(id: Uuid, email: &str, provider: &str, user_metadata: &Value) -> Value {
    json!({
        "id": id,
        "aud": "authenticated",
        "role": "",
        "email": email,
        "phone": "",
        "app_metadata": { "provider": provider, "providers": [provider] },
        "user_metadata": user_metadata,
        "identities": [],
        "created_at": "0001-01-01T00:00:00Z",
        "updated_at": "0001-01-01T00:00:00Z",
        "is_anonymous": false,
    })
}

/// GoTrue's sanitizeUser: what POST /signup answers for an address that is taken.
fn sanitized_user(user: &User, data: &Value) -> Value {
    let now = json!(Utc::now());
    let mut json = user.json.clone();
    if let Some(map) = json.as_object_mut() {
        for key in [
            "new_email",
            "last_sign_in_at",
            "confirmed_at",
            "email_change_sent_at",
            "email_confirmed_at",
            "phone_confirmed_at",
        ] {
            map.remove(key);
        }
        map.insert("id".into(), json!(Uuid::new_v4()));
        map.insert("role".into(), json!(""));
        map.insert("phone".into(), json!(""));
        map.insert("aud".into(), json!("authenticated"));
        map.insert("created_at".into(), now.clone());
        map.insert("updated_at".into(), now.clone());
        map.insert("confirmation_sent_at".into(), now);
        map.insert("identities".into(), json!([]));
        map.insert("user_metadata".into(), data.clone());
        let app_metadata = json!({ "provider": "email", "providers": ["email"] });
        map.insert("app_metadata".into(), app_metadata);
    }
    json
}

/// The emails GoTrue sends with a link.
#[derive(Clone, Copy, PartialEq)]
enum Mail {
    Confirmation,
    Invite,
    MagicLink,
    Recovery,
    EmailChange,
}

impl Mail {
    /// The mailbox's type, the auth.users token and timestamp columns, the one-time
    /// token type, and whether GoTrue's per-user frequency limit applies.
    fn columns(self) -> (&'static str, &'static str, &'static str, &'static str, bool) {
        match self {
            Mail::Confirmation => (
                "confirmation",
                "confirmation_token",
                "confirmation_sent_at",
                "confirmation_token",
                true,
            ),
            Mail::Invite => (
                "invite",
                "confirmation_token",
                "confirmation_sent_at",
                "confirmation_token",
                false,
            ),
            // Magic links are recoveries with another template (and share their timer).
            Mail::MagicLink => (
                "magiclink",
                "recovery_token",
                "recovery_sent_at",
                "recovery_token",
                true,
            ),
            Mail::Recovery => (
                "recovery",
                "recovery_token",
                "recovery_sent_at",
                "recovery_token",
                true,
            ),
            Mail::EmailChange => (
                "email_change",
                "email_change_token_new",
                "email_change_sent_at",
                "email_change_token_new",
                true,
            ),
        }
    }
}

/// GoTrue's sendConfirmation/sendInvite/sendMagicLink/sendPasswordRecovery/
/// sendEmailChange: the per-user frequency limit, a new token hash on the user and in
/// auth.one_time_tokens, and the email (a mailbox row). As supabase_auth_admin.
async fn send_mail(
    st: &State,
    tx: &Transaction<'_>,
    user_id: Uuid,
    mail: Mail,
    recipient: &str,
    redirect_to: &str,
) -> Result<(), ApiError> {
    let (kind, token_column, sent_column, token_type, limited) = mail.columns();
    if limited && st.max_frequency > 0.0 {
        let sql = format!(
            "select extract(epoch from {sent_column} + make_interval(secs => $2) - now())::float8
             from auth.users where id = $1"
        );
        let left: Option<f64> = tx
            .query_opt(&sql, &[&user_id, &st.max_frequency])
            .await?
            .and_then(|r| r.get(0));
        if let Some(left) = left.filter(|s| *s > 0.0) {
            let msg = format!(
                "For security purposes, you can only request this after {} seconds.",
                left.floor() as i64
            );
            return Err(err(429, "over_email_send_rate_limit", msg));
        }
    }
    let otp = new_otp()?;
    let recipient = recipient.to_lowercase();
    let token_hash: String = tx
        .query_one(
            "select encode(sha224(convert_to($1 || $2, 'UTF8')), 'hex')",
            &[&recipient, &otp],
        )
        .await?
        .get(0);
    let extra = match mail {
        Mail::Invite => ", invited_at = now()",
        Mail::EmailChange => {
            ", email_change = $3, email_change_token_current = '', email_change_confirm_status = 0"
        }
        _ => "",
    };
    let sql = format!(
        "update auth.users set {token_column} = $2, {sent_column} = now(){extra} where id = $1"
    );
    if mail == Mail::EmailChange {
        tx.execute(&sql, &[&user_id, &token_hash, &recipient])
            .await?;
    } else {
        tx.execute(&sql, &[&user_id, &token_hash]).await?;
    }
    tx.execute(
        "delete from auth.one_time_tokens
         where user_id = $1 and token_type = $2::text::auth.one_time_token_type",
        &[&user_id, &token_type],
    )
    .await?;
    tx.execute(
        "insert into auth.one_time_tokens (id, user_id, token_type, token_hash, relates_to)
         values ($1, $2, $3::text::auth.one_time_token_type, $4, $5)",
        &[
            &Uuid::new_v4(),
            &user_id,
            &token_type,
            &token_hash,
            &recipient,
        ],
    )
    .await?;
    tx.execute(
        "insert into auth_standin.mailbox (recipient, type, token_hash, redirect_to, user_id)
         values ($1, $2, $3, $4, $5)",
        &[&recipient, &kind, &token_hash, &redirect_to, &user_id],
    )
    .await?;
    Ok(())
}

// ---------- hooks ----------

/// A hook's `{"error": {"http_code", "message"}}` as GoTrue answers it: that status (500
/// when absent or not an error status) and message, and GoTrue's fallback error_code.
fn hook_error(output: &Value) -> Option<ApiError> {
    let e = output
        .get("error")
        .filter(|e| e["message"].as_str().is_some_and(|m| !m.is_empty()))?;
    let status = e["http_code"]
        .as_u64()
        .filter(|c| (400..600).contains(c))
        .unwrap_or(500);
    let code = if status == 500 {
        "unexpected_failure"
    } else {
        "unknown"
    };
    let mut error = err(
        status as u16,
        code,
        e["message"].as_str().unwrap_or_default(),
    );
    error.hook = true;
    Some(error)
}

/// GoTrue's triggerBeforeUserCreated: in a transaction of its own, as supabase_auth_admin,
/// with its 2 s statement timeout; an error in the output stops the creation.
async fn before_user_created(st: &State, req: &Req<'_>, user: &Value) -> Result<(), ApiError> {
    let Some(hook) = &st.before_user_created else {
        return Ok(());
    };
    let event = json!({
        "metadata": {
            "uuid": Uuid::new_v4(),
            "time": Utc::now(),
            "name": "before-user-created",
            "ip_address": client_ip(req),
        },
        "user": user,
    });
    let mut conn = st.db.get().await?;
    let tx = conn.begin().await?;
    as_auth_admin(&tx).await?;
    tx.batch_execute("set local statement_timeout = 2000")
        .await?;
    let output = tx
        .query_one(&hook.sql, &[&event])
        .await
        .map_err(|e| {
            internal(
                &format!("Error running hook URI: {}", hook.uri),
                pg_message(&e),
            )
        })?
        .get::<_, Option<Value>>(0)
        .unwrap_or(Value::Null);
    tx.commit().await?;
    match hook_error(&output) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

// ---------- sign-up, email links ----------

#[derive(Deserialize)]
struct SignupParams {
    email: Option<String>,
    phone: Option<String>,
    password: Option<String>,
    data: Option<Map<String, Value>>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

enum Signup {
    /// The address belongs to a confirmed user.
    Exists(User),
    Confirmed(Uuid),
    Unconfirmed(Uuid),
}

/// GoTrue's Signup for the email provider, up to its answer: a new user (after the
/// before-user-created hook) or the unconfirmed one of that address, its email identity,
/// then confirmed (autoconfirm) or sent a confirmation.
async fn signup_email(
    st: &State,
    req: &Req<'_>,
    email: &str,
    password: &str,
    data: &Map<String, Value>,
    redirect_to: &str,
) -> Result<Signup, ApiError> {
    let existing = {
        let mut conn = st.db.get().await?;
        let tx = conn.begin().await?;
        duplicated_email(&tx, email, None).await?
    };
    let data_json = Value::Object(data.clone());
    let new_id = Uuid::new_v4();
    if existing.is_none() {
        let user = unsaved_user_json(new_id, email, "email", &data_json);
        before_user_created(st, req, &user).await?;
    }
    let mut conn = st.db.get().await?;
    let tx = conn.begin().await?;
    let (user_id, user_email) = match existing {
        Some(user) if user.confirmed => return Ok(Signup::Exists(user)),
        // GoTrue does not update it: the claimed identity is not proven.
        Some(user) => {
            as_auth_admin(&tx).await?;
            (user.id, user.email)
        }
        None => {
            let password_hash = bcrypt(&tx, password).await?;
            as_auth_admin(&tx).await?;
            let app_metadata = json!({ "provider": "email", "providers": ["email"] });
            let new_user = NewUser {
                id: new_id,
                email,
                password_hash,
                confirmed: false,
                app_metadata: &app_metadata,
                user_metadata: &data_json,
            };
            insert_user(&tx, &new_user, "Database error saving new user").await?;
            (new_id, email.to_string())
        }
    };
    let has_identity = tx
        .query_opt(
            "select 1 from auth.identities where provider_id = $1 and provider = 'email'",
            &[&user_id.to_string()],
        )
        .await?
        .is_some();
    if !has_identity {
        let mut identity_data = email_claims(user_id, &user_email);
        for (k, v) in data {
            identity_data.entry(k.clone()).or_insert_with(|| v.clone());
        }
        let identity_data = Value::Object(identity_data);
        let identity =
            create_identity(&tx, user_id, "email", &user_id.to_string(), &identity_data).await?;
        remove_unconfirmed_identities(&tx, user_id, identity, "email", &identity_data).await?;
    }
    let outcome = if st.autoconfirm {
        confirm_user(&tx, user_id).await?;
        Signup::Confirmed(user_id)
    } else {
        send_mail(
            st,
            &tx,
            user_id,
            Mail::Confirmation,
            &user_email,
            redirect_to,
        )
        .await?;
        Signup::Unconfirmed(user_id)
    };
    tx.commit().await?;
    Ok(outcome)
}

async fn signup(st: &State, req: &Req<'_>) -> Result<Resp, ApiError> {
    let params: SignupParams = parse_body(req.body)?;
    let email = params.email.unwrap_or_default();
    let phone = params.phone.unwrap_or_default();
    if email.is_empty() && phone.is_empty() {
        let msg = "Anonymous sign-ins are disabled";
        return Err(err(422, "anonymous_provider_disabled", msg));
    }
    let password = params.password.unwrap_or_default();
    if password.is_empty() {
        let msg = "Signup requires a valid password";
        return Err(err(400, "validation_failed", msg));
    }
    check_password_strength(&password)?;
    if !email.is_empty() && !phone.is_empty() {
        let msg = "Only an email address or phone number should be provided on signup.";
        return Err(err(400, "validation_failed", msg));
    }
    validate_pkce(
        params.code_challenge_method.as_deref().unwrap_or_default(),
        params.code_challenge.as_deref().unwrap_or_default(),
    )?;
    if email.is_empty() {
        return Err(err(
            400,
            "phone_provider_disabled",
            "Phone signups are disabled",
        ));
    }
    let email = validate_email(&email)?;
    let data = params.data.unwrap_or_default();
    let redirect_to = referrer(st, req);
    match signup_email(st, req, &email, &password, &data, &redirect_to).await? {
        Signup::Exists(user) => {
            if st.autoconfirm {
                return Err(err(422, "user_already_exists", "User already registered"));
            }
            ok(sanitized_user(&user, &Value::Object(data)))
        }
        Signup::Confirmed(id) => {
            let mut conn = st.db.get().await?;
            let tx = conn.begin().await?;
            as_auth_admin(&tx).await?;
            let body = issue_session(st, &tx, &EndUser::of(req), id, "password", None).await?;
            tx.commit().await?;
            ok(body)
        }
        Signup::Unconfirmed(id) => {
            let mut conn = st.db.get().await?;
            let tx = conn.begin().await?;
            let user = load_user(&tx, id)
                .await?
                .ok_or_else(|| internal("Database error loading user after sign-up", id))?;
            ok(user.json)
        }
    }
}

#[derive(Deserialize)]
struct OtpParams {
    email: Option<String>,
    phone: Option<String>,
    create_user: Option<bool>,
    data: Option<Map<String, Value>>,
    channel: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

/// GoTrue's Otp + MagicLink for email: a magic link for a confirmed user; otherwise a
/// sign-up (with a random password) and its confirmation.
async fn otp(st: &State, req: &Req<'_>) -> Result<Resp, ApiError> {
    let params: OtpParams = parse_body(req.body)?;
    let email = params.email.unwrap_or_default();
    let phone = params.phone.unwrap_or_default();
    if !email.is_empty() && !phone.is_empty() {
        let msg = "Only an email address or phone number should be provided";
        return Err(err(400, "validation_failed", msg));
    }
    if !email.is_empty() && params.channel.is_some_and(|c| !c.is_empty()) {
        let msg = "Channel should only be specified with Phone OTP";
        return Err(err(400, "validation_failed", msg));
    }
    validate_pkce(
        params.code_challenge_method.as_deref().unwrap_or_default(),
        params.code_challenge.as_deref().unwrap_or_default(),
    )?;
    if !params.create_user.unwrap_or(true) && !email.is_empty() {
        let email = validate_email(&email)?;
        let mut conn = st.db.get().await?;
        let tx = conn.begin().await?;
        if find_user_by_email(&tx, &email).await?.is_none() {
            return Err(err(422, "otp_disabled", "Signups not allowed for otp"));
        }
    }
    if email.is_empty() {
        return Err(match phone.is_empty() {
            true => err(
                400,
                "validation_failed",
                "One of email or phone must be set",
            ),
            false => err(400, "phone_provider_disabled", "Unsupported phone provider"),
        });
    }
    let email = validate_email(&email)?;
    let redirect_to = referrer(st, req);
    let user = {
        let mut conn = st.db.get().await?;
        let tx = conn.begin().await?;
        find_user_by_email(&tx, &email).await?
    };
    let user_id = match user {
        Some(user) if user.confirmed => user.id,
        _ => {
            let password = hex(&random_bytes::<24>()?);
            let data = params.data.unwrap_or_default();
            match signup_email(st, req, &email, &password, &data, &redirect_to).await? {
                Signup::Exists(_) if st.autoconfirm => {
                    return Err(err(422, "user_already_exists", "User already registered"))
                }
                // The confirmation email is the magic link.
                Signup::Exists(_) | Signup::Unconfirmed(_) => return ok(json!({})),
                // Autoconfirm: signed up, now the magic link.
                Signup::Confirmed(id) => id,
            }
        }
    };
    let mut conn = st.db.get().await?;
    let tx = conn.begin().await?;
    as_auth_admin(&tx).await?;
    send_mail(st, &tx, user_id, Mail::MagicLink, &email, &redirect_to).await?;
    tx.commit().await?;
    ok(json!({}))
}

#[derive(Deserialize)]
struct RecoverParams {
    email: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

/// GoTrue's Recover: a recovery email when the address has a user; `{}` either way.
async fn recover(st: &State, req: &Req<'_>) -> Result<Resp, ApiError> {
    let params: RecoverParams = parse_body(req.body)?;
    let email = params.email.unwrap_or_default();
    if email.is_empty() {
        let msg = "Password recovery requires an email";
        return Err(err(400, "validation_failed", msg));
    }
    let email = validate_email(&email)?;
    validate_pkce(
        params.code_challenge_method.as_deref().unwrap_or_default(),
        params.code_challenge.as_deref().unwrap_or_default(),
    )?;
    let redirect_to = referrer(st, req);
    let mut conn = st.db.get().await?;
    let tx = conn.begin().await?;
    let Some(user) = find_user_by_email(&tx, &email).await? else {
        return ok(json!({}));
    };
    as_auth_admin(&tx).await?;
    send_mail(st, &tx, user.id, Mail::Recovery, &user.email, &redirect_to).await?;
    tx.commit().await?;
    ok(json!({}))
}

#[derive(Deserialize)]
struct InviteParams {
    email: Option<String>,
    data: Option<Map<String, Value>>,
}

/// GoTrue's Invite (admin): a new user (hook first) or an unconfirmed one, and an invite.
async fn invite(st: &State, req: &Req<'_>) -> Result<Resp, ApiError> {
    require_admin(st, req.headers)?;
    let params: InviteParams = parse_body(req.body)?;
    let email = params.email.unwrap_or_default();
    if email.is_empty() {
        let msg = "An email address is required";
        return Err(err(400, "validation_failed", msg));
    }
    let email = validate_email(&email)?;
    let data = Value::Object(params.data.unwrap_or_default());
    let redirect_to = referrer(st, req);
    let existing = {
        let mut conn = st.db.get().await?;
        let tx = conn.begin().await?;
        find_user_by_email(&tx, &email).await?
    };
    if existing.as_ref().is_some_and(|u| u.confirmed) {
        let msg = "A user with this email address has already been registered";
        return Err(err(422, "email_exists", msg));
    }
    let new_id = Uuid::new_v4();
    if existing.is_none() {
        before_user_created(st, req, &unsaved_user_json(new_id, &email, "email", &data)).await?;
    }
    let mut conn = st.db.get().await?;
    let tx = conn.begin().await?;
    as_auth_admin(&tx).await?;
    let user_id = match existing {
        Some(user) => user.id,
        None => {
            let app_metadata = json!({ "provider": "email", "providers": ["email"] });
            let new_user = NewUser {
                id: new_id,
                email: &email,
                password_hash: None,
                confirmed: false,
                app_metadata: &app_metadata,
                user_metadata: &data,
            };
            insert_user(&tx, &new_user, "Database error saving new user").await?;
            let identity_data = Value::Object(email_claims(new_id, &email));
            create_identity(&tx, new_id, "email", &new_id.to_string(), &identity_data).await?;
            new_id
        }
    };
    send_mail(st, &tx, user_id, Mail::Invite, &email, &redirect_to).await?;
    let user = load_user(&tx, user_id)
        .await?
        .ok_or_else(|| internal("Error inviting user", user_id))?;
    tx.commit().await?;
    ok(user.json)
}

#[derive(Deserialize)]
struct VerifyParams {
    #[serde(rename = "type")]
    kind: Option<String>,
    token: Option<String>,
    token_hash: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    redirect_to: Option<String>,
}

/// GoTrue's POST /verify with a token_hash: the link's one-time token, unexpired, spent;
/// the user confirmed / recovered / given the new email; a session (amr otp).
async fn verify(st: &State, req: &Req<'_>) -> Result<Resp, ApiError> {
    let params: VerifyParams = parse_body(req.body)?;
    let kind = params.kind.unwrap_or_default();
    if kind.is_empty() {
        let msg = "Verify requires a verification type";
        return Err(err(400, "validation_failed", msg));
    }
    let (token, token_hash) = (
        params.token.unwrap_or_default(),
        params.token_hash.unwrap_or_default(),
    );
    if token.is_empty() == token_hash.is_empty() {
        let msg = "Verify requires either a token or a token hash";
        return Err(err(400, "validation_failed", msg));
    }
    if !token.is_empty() {
        let msg = "The auth stand-in verifies email links by token_hash only";
        return Err(err(400, "validation_failed", msg));
    }
    let extra = [params.email, params.phone, params.redirect_to];
    if extra
        .iter()
        .any(|v| v.as_deref().is_some_and(|v| !v.is_empty()))
    {
        let msg = "Only the token_hash and type should be provided";
        return Err(err(400, "validation_failed", msg));
    }
    let token_types: &[&str] = match kind.as_str() {
        "email" => &["confirmation_token", "recovery_token"],
        "signup" | "invite" => &["confirmation_token"],
        "recovery" | "magiclink" => &["recovery_token"],
        "email_change" => &["email_change_token_current", "email_change_token_new"],
        _ => {
            let msg = "Invalid email verification type";
            return Err(err(400, "validation_failed", msg));
        }
    };
    let expired = || err(403, "otp_expired", "Email link is invalid or has expired");
    let token_types: Vec<String> = token_types.iter().map(|t| t.to_string()).collect();
    let mut conn = st.db.get().await?;
    let tx = conn.begin().await?;
    as_auth_admin(&tx).await?;
    let found = tx
        .query_opt(
            "select user_id, token_type::text from auth.one_time_tokens
             where token_hash = $1 and token_type::text = any($2)
             order by created_at limit 1 for update",
            &[&token_hash, &token_types],
        )
        .await?
        .ok_or_else(expired)?;
    let (user_id, token_type): (Uuid, String) = (found.get(0), found.get(1));
    let user = load_user(&tx, user_id).await?.ok_or_else(expired)?;
    if user.banned {
        return Err(err(403, "user_banned", "User is banned"));
    }
    let kind = match (kind.as_str(), token_type.as_str()) {
        ("email", "confirmation_token") => "signup",
        ("email", _) => "magiclink",
        (kind, _) => kind,
    };
    let sent_column = match kind {
        "signup" | "invite" => "confirmation_sent_at",
        "recovery" | "magiclink" => "recovery_sent_at",
        _ => "email_change_sent_at",
    };
    let sql = format!(
        "select coalesce({sent_column} + make_interval(secs => $2) < now(), true), email_change
         from auth.users where id = $1"
    );
    let row = tx.query_one(&sql, &[&user_id, &st.otp_exp]).await?;
    if row.get::<_, bool>(0) {
        return Err(expired());
    }
    match kind {
        "signup" | "invite" => {
            confirm_user(&tx, user_id).await?;
            tx.execute(
                "update auth.identities set identity_data = identity_data
                   || '{\"email_verified\": true}'::jsonb, updated_at = now()
                 where user_id = $1 and email is not null and email = lower($2)",
                &[&user_id, &user.email],
            )
            .await?;
        }
        "recovery" | "magiclink" => {
            tx.execute(
                "update auth.users set recovery_token = '' where id = $1",
                &[&user_id],
            )
            .await?;
            tx.execute(
                "delete from auth.one_time_tokens where user_id = $1",
                &[&user_id],
            )
            .await?;
            if !user.confirmed {
                confirm_user(&tx, user_id).await?;
            }
        }
        _ => {
            let new_email = row.get::<_, Option<String>>(1).unwrap_or_default();
            if new_email.is_empty() {
                return Err(expired());
            }
            let updated = tx
                .execute(
                    "update auth.identities set identity_data = identity_data
                       || jsonb_build_object('email', lower($2), 'email_verified', true),
                       updated_at = now()
                     where user_id = $1 and provider = 'email'",
                    &[&user_id, &new_email],
                )
                .await?;
            if updated == 0 {
                let mut claims = email_claims(user_id, &new_email);
                claims.insert("email_verified".into(), json!(true));
                let identity_data = Value::Object(claims);
                create_identity(&tx, user_id, "email", &user_id.to_string(), &identity_data)
                    .await?;
            }
            tx.execute(
                "update auth.users set email = email_change, email_change = '',
                   email_change_token_current = '', email_change_token_new = '',
                   email_change_confirm_status = 0
                 where id = $1",
                &[&user_id],
            )
            .await
            .map_err(|e| internal("Error confirm email", pg_message(&e)))?;
            tx.execute(
                "delete from auth.one_time_tokens where user_id = $1",
                &[&user_id],
            )
            .await?;
            if !user.confirmed {
                confirm_user(&tx, user_id).await?;
            }
        }
    }
    update_providers(&tx, user_id).await?;
    let body = issue_session(st, &tx, &EndUser::of(req), user_id, "otp", None).await?;
    tx.commit().await?;
    ok(body)
}

#[derive(Deserialize)]
struct UserUpdateParams {
    email: Option<String>,
    password: Option<String>,
    data: Option<Map<String, Value>>,
    app_metadata: Option<Value>,
    phone: Option<String>,
}

/// GoTrue's UserUpdate: a new password (other sessions end), metadata merged, an email
/// change started (a link to the new address).
async fn update_user(st: &State, req: &Req<'_>) -> Result<Resp, ApiError> {
    let mut conn = st.db.get().await?;
    let tx = conn.begin().await?;
    let (user, session_id) = authenticate(st, &tx, req.headers).await?;
    let params: UserUpdateParams = parse_body(req.body)?;
    let mut email = params.email.unwrap_or_default();
    if !email.is_empty() {
        email = validate_email(&email)?;
    }
    if params.phone.is_some_and(|p| !p.is_empty()) {
        let msg = "The auth stand-in does not support phone users";
        return Err(err(400, "validation_failed", msg));
    }
    if let Some(password) = &params.password {
        check_password_strength(password)?;
    }
    if params.app_metadata.as_ref().is_some_and(|m| !m.is_null()) {
        let msg = "Updating app_metadata requires admin privileges";
        return Err(err(403, "not_admin", msg));
    }
    let email_changes = !email.is_empty() && email != user.email;
    if email_changes
        && duplicated_email(&tx, &email, Some(user.id))
            .await?
            .is_some()
    {
        let msg = "A user with this email address has already been registered";
        return Err(err(422, "email_exists", msg));
    }
    let mut password_hash = None;
    if let Some(password) = &params.password {
        let same: bool = tx
            .query_one(
                "select coalesce(encrypted_password like '$2%'
                   and encrypted_password = extensions.crypt($2, encrypted_password), false)
                 from auth.users where id = $1",
                &[&user.id, password],
            )
            .await?
            .get(0);
        if same {
            let msg = "New password should be different from the old password.";
            return Err(err(422, "same_password", msg));
        }
        password_hash = bcrypt(&tx, password).await?;
    }
    as_auth_admin(&tx).await?;
    if let Some(hash) = &password_hash {
        tx.execute(
            "update auth.users set encrypted_password = $2, confirmation_token = '',
               confirmation_sent_at = null, recovery_token = '', recovery_sent_at = null,
               email_change_token_current = '', email_change_token_new = '',
               email_change_sent_at = null, updated_at = now()
             where id = $1",
            &[&user.id, hash],
        )
        .await?;
        tx.execute(
            "delete from auth.one_time_tokens where user_id = $1",
            &[&user.id],
        )
        .await?;
        // The user's other sessions end (all of them without a session in the token).
        tx.execute(
            "delete from auth.sessions where user_id = $1 and id is distinct from $2",
            &[&user.id, &session_id],
        )
        .await?;
    }
    if let Some(data) = &params.data {
        merge_user_metadata(&tx, user.id, data).await?;
    }
    if email_changes {
        let redirect_to = referrer(st, req);
        send_mail(st, &tx, user.id, Mail::EmailChange, &email, &redirect_to).await?;
    }
    tx.execute(
        "update auth.users set updated_at = now() where id = $1",
        &[&user.id],
    )
    .await?;
    let user = load_user(&tx, user.id)
        .await?
        .ok_or_else(|| internal("Error updating user", user.id))?;
    tx.commit().await?;
    ok(user.json)
}

// ---------- OAuth (a fake provider) and PKCE ----------

/// GoTrue's Provider(): enabled, known but disabled, or unknown.
fn check_provider(st: &State, provider: &str) -> Result<(), ApiError> {
    if st.providers.iter().any(|p| p == provider) {
        return Ok(());
    }
    let why = match KNOWN_PROVIDERS.contains(&provider) {
        true => "provider is not enabled".to_string(),
        false => format!("Provider {provider} could not be found"),
    };
    Err(err(
        400,
        "validation_failed",
        format!("Unsupported provider: {why}"),
    ))
}

/// GoTrue's ExternalProviderRedirect: a flow state (its id is the OAuth state), then 302
/// to the provider (here the fake provider's consent page on the stand-in).
async fn authorize(st: &State, req: &Req<'_>) -> Result<Resp, ApiError> {
    let provider = query_param(req.query, "provider")
        .unwrap_or_default()
        .to_lowercase();
    check_provider(st, &provider)?;
    let redirect_to = referrer(st, req);
    let challenge = query_param(req.query, "code_challenge").unwrap_or_default();
    let method = query_param(req.query, "code_challenge_method").unwrap_or_default();
    validate_pkce(&method, &challenge)?;
    let (auth_code, method) = match challenge.is_empty() {
        true => (None, None),
        false => match method.to_lowercase().as_str() {
            m @ ("s256" | "plain") => (Some(Uuid::new_v4().to_string()), Some(m.to_string())),
            _ => {
                let msg = "Invalid code_challenge_method";
                return Err(err(400, "validation_failed", msg));
            }
        },
    };
    let challenge = Some(challenge).filter(|c| !c.is_empty());
    let state = Uuid::new_v4();
    let mut conn = st.db.get().await?;
    let tx = conn.begin().await?;
    as_auth_admin(&tx).await?;
    tx.execute(
        "insert into auth.flow_state (id, auth_code, code_challenge_method, code_challenge,
                                      provider_type, authentication_method, referrer,
                                      created_at, updated_at)
         values ($1, $2, $3::text::auth.code_challenge_method, $4, $5, 'oauth', $6,
                 now(), now())",
        &[
            &state,
            &auth_code,
            &method,
            &challenge,
            &provider,
            &redirect_to,
        ],
    )
    .await
    .map_err(|e| internal("Error creating flow state", pg_message(&e)))?;
    tx.commit().await?;
    let base = st.issuer.trim_end_matches('/');
    redirect(
        302,
        &format!("{base}/_fake-provider/{provider}/authorize?state={state}"),
    )
}

/// What GoTrue's OAuth callback fails with: the provider's own error, or its own.
enum CallbackError {
    OAuth(&'static str, &'static str),
    Api(ApiError),
}

impl From<ApiError> for CallbackError {
    fn from(e: ApiError) -> Self {
        CallbackError::Api(e)
    }
}

impl From<tokio_postgres::Error> for CallbackError {
    fn from(e: tokio_postgres::Error) -> Self {
        CallbackError::Api(e.into())
    }
}

/// GoTrue's redirectErrors: 302 to the flow's redirect URL, the error in its query and
/// (with `sb`) in its fragment.
fn redirect_errors(to: &str, e: CallbackError) -> Result<Resp, ApiError> {
    let (error, description, code) = match &e {
        CallbackError::OAuth(error, description) => (*error, description.to_string(), None),
        CallbackError::Api(e) => {
            let code = match e.hook {
                true => "",
                false => e.body["error_code"].as_str().unwrap_or_default(),
            };
            let error = match (code, e.status) {
                ("signup_disabled" | "user_banned" | "provider_email_needs_verification", _) => {
                    "access_denied"
                }
                (_, 400) => "invalid_request",
                (_, 401) => "unauthorized_client",
                (_, 403) => "access_denied",
                (_, 503) => "temporarily_unavailable",
                _ => "server_error",
            };
            let msg = e.body["msg"].as_str().unwrap_or_default().to_string();
            (error, msg, Some(code))
        }
    };
    let mut set = vec![
        ("error", error),
        ("error_description", description.as_str()),
    ];
    let mut fragment = Query::new();
    for (k, v) in [
        ("error", error),
        ("error_description", description.as_str()),
    ] {
        if !v.is_empty() {
            fragment.insert(k.into(), vec![v.into()]);
        }
    }
    if let Some(code) = code {
        set.push(("error_code", code));
        if !code.is_empty() {
            fragment.insert("error_code".into(), vec![code.into()]);
        }
    }
    fragment.insert("sb".into(), vec![String::new()]);
    redirect(302, &url_with(to, &set, Some(&encode_query(&fragment))))
}

/// A stable fake subject (the provider's user id) for a provider and email (FNV-1a).
fn fake_subject(provider: &str, email: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in provider.bytes().chain([0]).chain(email.bytes()) {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % 100_000_000_000).to_string()
}

/// GoTrue's account linking decision for a provider identity with a verified email.
enum Linking {
    Exists { user_id: Uuid, identity_id: Uuid },
    Link(Uuid),
    Create,
    Multiple,
}

async fn determine_linking(
    tx: &Transaction<'_>,
    provider: &str,
    sub: &str,
    email: &str,
) -> Result<Linking, ApiError> {
    if let Some(row) = tx
        .query_opt(
            "select id, user_id from auth.identities where provider_id = $1 and provider = $2",
            &[&sub, &provider],
        )
        .await?
    {
        return Ok(Linking::Exists {
            identity_id: row.get(0),
            user_id: row.get(1),
        });
    }
    let ids: Vec<Uuid> = tx
        .query(
            "select distinct user_id from auth.identities
             where email = lower($1) and provider not like 'sso:%'",
            &[&email],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let ids = match ids.len() {
        0 => tx
            .query(
                "select id from auth.users where lower(email) = lower($1) and not is_sso_user",
                &[&email],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect(),
        _ => ids,
    };
    Ok(match ids.as_slice() {
        [] => Linking::Create,
        [id] => Linking::Link(*id),
        _ => Linking::Multiple,
    })
}

enum Consented {
    Code(String),
    Tokens(Value, String),
}

/// GoTrue's internalExternalProviderCallback for the fake provider's user.
async fn fake_consent(
    st: &State,
    req: &Req<'_>,
    provider: &str,
    state: Uuid,
    pkce: bool,
) -> Result<Consented, CallbackError> {
    if query_param(req.query, "deny").is_some_and(|d| !d.is_empty() && d != "0") {
        let description = "The user has denied your application access.";
        return Err(CallbackError::OAuth("access_denied", description));
    }
    let email = query_param(req.query, "email")
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| format!("{provider}-user@example.test"));
    let email = validate_email(&email)?;
    let sub = fake_subject(provider, &email);
    let login = email.split('@').next().unwrap_or_default().to_string();
    let name = query_param(req.query, "name")
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| login.clone());
    let iss = match provider {
        "github" => "https://api.github.com",
        "google" => "https://accounts.google.com",
        _ => "https://fake-provider.example.test",
    };
    let identity_data = json!({
        "iss": iss,
        "sub": sub,
        "provider_id": sub,
        "email": email,
        "email_verified": true,
        "phone_verified": false,
        "name": name,
        "full_name": name,
        "user_name": login,
        "preferred_username": login,
    });
    let identity_map = identity_data.as_object().cloned().unwrap_or_default();

    let new_id = Uuid::new_v4();
    let decision = {
        let mut conn = st.db.get().await?;
        let tx = conn.begin().await?;
        determine_linking(&tx, provider, &sub, &email).await?
    };
    if matches!(decision, Linking::Create) {
        let user = unsaved_user_json(new_id, &email, provider, &identity_data);
        before_user_created(st, req, &user).await?;
    }

    let mut conn = st.db.get().await?;
    let tx = conn.begin().await?;
    as_auth_admin(&tx).await?;
    let (user_id, identity_id) = match determine_linking(&tx, provider, &sub, &email).await? {
        Linking::Exists {
            user_id,
            identity_id,
        } => {
            tx.execute(
                "update auth.identities set identity_data = $2, last_sign_in_at = now(),
                   updated_at = now()
                 where id = $1",
                &[&identity_id, &identity_data],
            )
            .await?;
            merge_user_metadata(&tx, user_id, &identity_map).await?;
            update_providers(&tx, user_id).await?;
            (user_id, identity_id)
        }
        Linking::Link(user_id) => {
            let identity_id = create_identity(&tx, user_id, provider, &sub, &identity_data).await?;
            merge_user_metadata(&tx, user_id, &identity_map).await?;
            update_providers(&tx, user_id).await?;
            (user_id, identity_id)
        }
        Linking::Create => {
            let app_metadata = json!({ "provider": provider, "providers": [provider] });
            let new_user = NewUser {
                id: new_id,
                email: &email,
                password_hash: None,
                confirmed: false,
                app_metadata: &app_metadata,
                user_metadata: &identity_data,
            };
            insert_user(&tx, &new_user, "Database error saving new user").await?;
            let identity_id = create_identity(&tx, new_id, provider, &sub, &identity_data).await?;
            (new_id, identity_id)
        }
        Linking::Multiple => {
            return Err(internal(
                "Multiple accounts with the same email address in the same linking domain \
                 detected: default",
                &email,
            )
            .into())
        }
    };
    let user = load_user(&tx, user_id)
        .await?
        .ok_or_else(|| internal("Database error loading user", user_id))?;
    if user.banned {
        return Err(err(403, "user_banned", "User is banned").into());
    }
    if !user.confirmed {
        // Pre-account-takeover protection, then confirmed: the provider verified the email.
        remove_unconfirmed_identities(&tx, user_id, identity_id, provider, &identity_data).await?;
        confirm_user(&tx, user_id).await?;
    }
    let provider_token = format!("fake-{provider}-{}", hex(&random_bytes::<20>()?));
    if pkce {
        let used: Option<Option<Uuid>> = tx
            .query_opt(
                "select user_id from auth.flow_state where id = $1 for update",
                &[&state],
            )
            .await?
            .map(|r| r.get(0));
        match used {
            None => {
                let msg = "OAuth state not found or expired";
                return Err(err(400, "bad_oauth_state", msg).into());
            }
            Some(Some(_)) => {
                let msg = "State has already been used";
                return Err(err(400, "flow_state_already_used", msg).into());
            }
            Some(None) => {}
        }
        let auth_code: String = tx
            .query_one(
                "update auth.flow_state set user_id = $2, provider_access_token = $3,
                   auth_code_issued_at = now(), updated_at = now()
                 where id = $1 returning auth_code",
                &[&state, &user_id, &provider_token],
            )
            .await?
            .get(0);
        tx.commit().await?;
        Ok(Consented::Code(auth_code))
    } else {
        let client = EndUser::of(req);
        let body = issue_session(st, &tx, &client, user_id, "oauth", Some(&provider_token)).await?;
        tx.execute("delete from auth.flow_state where id = $1", &[&state])
            .await?;
        tx.commit().await?;
        Ok(Consented::Tokens(body, provider_token))
    }
}

/// STAND-IN ONLY: the provider's consent page and GoTrue's /callback in one.
async fn fake_provider(st: &State, req: &Req<'_>, provider: &str) -> Result<Resp, ApiError> {
    // GoTrue's loadFlowState: a bad state goes back to the site URL (303, query only).
    let state_error = |code: &str, msg: &str| {
        let set = [
            ("error", "invalid_request"),
            ("error_code", code),
            ("error_description", msg),
        ];
        redirect(303, &url_with(&st.site_url, &set, None))
    };
    let state = query_param(req.query, "state").unwrap_or_default();
    if state.is_empty() {
        return state_error("bad_oauth_callback", "OAuth state parameter missing");
    }
    let Ok(state) = Uuid::parse_str(&state) else {
        return state_error("bad_oauth_state", "OAuth state parameter is invalid");
    };
    let flow = {
        let mut conn = st.db.get().await?;
        let tx = conn.begin().await?;
        tx.query_opt(
            "select provider_type, coalesce(referrer, ''), coalesce(code_challenge, '') <> '',
                    user_id, coalesce(created_at + make_interval(secs => $2) < now(), true)
             from auth.flow_state where id = $1 and authentication_method = 'oauth'",
            &[&state, &FLOW_STATE_EXPIRY],
        )
        .await?
    };
    let Some(flow) = flow.filter(|f| f.get::<_, String>(0) == provider) else {
        return state_error("bad_oauth_state", "OAuth state not found or expired");
    };
    let (pkce, user_id, expired): (bool, Option<Uuid>, bool) =
        (flow.get(2), flow.get(3), flow.get(4));
    if expired {
        return state_error("bad_oauth_state", "OAuth state has expired");
    }
    if pkce && user_id.is_some() {
        return state_error("flow_state_already_used", "State has already been used");
    }
    let to = Some(flow.get::<_, String>(1))
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| st.site_url.clone());
    match fake_consent(st, req, provider, state, pkce).await {
        Ok(Consented::Code(code)) => redirect(302, &url_with(&to, &[("code", &code)], None)),
        Ok(Consented::Tokens(body, provider_token)) => {
            // GoTrue's AsRedirectURL: the tokens in the fragment.
            let text = |k: &str| match &body[k] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let mut fragment = Query::new();
            for k in [
                "access_token",
                "token_type",
                "expires_in",
                "expires_at",
                "refresh_token",
            ] {
                fragment.insert(k.into(), vec![text(k)]);
            }
            fragment.insert("provider_token".into(), vec![provider_token]);
            fragment.insert("sb".into(), vec![String::new()]);
            redirect(302, &format!("{to}#{}", encode_query(&fragment)))
        }
        Err(e) => redirect_errors(&to, e),
    }
}

#[derive(Deserialize)]
struct PkceGrant {
    auth_code: Option<String>,
    code_verifier: Option<String>,
}

/// GoTrue's PKCE grant: the flow state of the auth code (5 minutes, single use), the
/// verifier against its challenge, a session with the flow's method.
async fn pkce_grant(st: &State, req: &Req<'_>) -> Result<Resp, ApiError> {
    let params: PkceGrant = parse_body(req.body)?;
    let (auth_code, verifier) = (
        params.auth_code.unwrap_or_default(),
        params.code_verifier.unwrap_or_default(),
    );
    if auth_code.is_empty() || verifier.is_empty() {
        let msg = "invalid request: both auth code and code verifier should be non-empty";
        return Err(err(400, "validation_failed", msg));
    }
    let mut conn = st.db.get().await?;
    let tx = conn.begin().await?;
    as_auth_admin(&tx).await?;
    let not_found = || {
        let msg = "invalid flow state, no valid flow state found";
        err(404, "flow_state_not_found", msg)
    };
    let flow = tx
        .query_opt(
            "select id, user_id, coalesce(created_at + make_interval(secs => $2) < now(), true),
                    code_challenge, code_challenge_method::text, authentication_method,
                    provider_access_token
             from auth.flow_state where auth_code = $1 for update",
            &[&auth_code, &FLOW_STATE_EXPIRY],
        )
        .await?
        .ok_or_else(not_found)?;
    let (flow_id, user_id): (Uuid, Option<Uuid>) = (flow.get(0), flow.get(1));
    let user_id = user_id.ok_or_else(not_found)?;
    if flow.get::<_, bool>(2) {
        let msg = "invalid flow state, flow state has expired";
        return Err(err(422, "flow_state_expired", msg));
    }
    if load_user(&tx, user_id).await?.is_none() {
        return Err(internal("Database error finding user", user_id));
    }
    let challenge = flow.get::<_, Option<String>>(3).unwrap_or_default();
    let method = flow.get::<_, Option<String>>(4).unwrap_or_default();
    let computed = match method.as_str() {
        "s256" => tx
            .query_one(
                "select translate(rtrim(encode(sha256(convert_to($1, 'UTF8')), 'base64'), '='),
                                  '+/', '-_')",
                &[&verifier],
            )
            .await?
            .get::<_, String>(0),
        "plain" => verifier,
        _ => {
            let msg = "code challenge method not supported";
            return Err(err(400, "bad_code_verifier", msg));
        }
    };
    if computed != challenge {
        let msg = "code challenge does not match previously saved code verifier";
        return Err(err(400, "bad_code_verifier", msg));
    }
    let method: String = flow.get(5);
    let provider_token: Option<String> = flow.get(6);
    let client = EndUser::of(req);
    let body = issue_session(
        st,
        &tx,
        &client,
        user_id,
        &method,
        provider_token.as_deref(),
    )
    .await?;
    tx.execute("delete from auth.flow_state where id = $1", &[&flow_id])
        .await?;
    tx.commit().await?;
    ok(body)
}

// ---------- the stand-in's mailbox ----------

/// STAND-IN ONLY: the emails "sent" to an address (all without ?email=), newest first;
/// DELETE clears them. Service role bearer.
async fn mailbox(st: &State, req: &Req<'_>) -> Result<Resp, ApiError> {
    require_admin(st, req.headers)?;
    let email = query_param(req.query, "email")
        .unwrap_or_default()
        .to_lowercase();
    let mut conn = st.db.get().await?;
    let tx = conn.begin().await?;
    if req.method == Method::DELETE {
        tx.execute(
            "delete from auth_standin.mailbox where $1 = '' or lower(recipient) = $1",
            &[&email],
        )
        .await?;
        tx.commit().await?;
        return Ok(respond(204, None));
    }
    let messages: Vec<Value> = tx
        .query(
            "select type, recipient, token_hash, redirect_to, sent_at from auth_standin.mailbox
             where $1 = '' or lower(recipient) = $1 order by sent_at desc, id desc",
            &[&email],
        )
        .await?
        .iter()
        .map(|r| {
            json!({
                "type": r.get::<_, String>(0),
                "email": r.get::<_, String>(1),
                "tokenHash": r.get::<_, String>(2),
                "redirectTo": r.get::<_, String>(3),
                "sentAt": r.get::<_, DateTime<Utc>>(4),
            })
        })
        .collect();
    ok(Value::Array(messages))
}

// ---------- routing and server ----------

fn check_apikey(st: &State, headers: &HeaderMap, query: &str) -> Result<(), ApiError> {
    let key = headers
        .get("apikey")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| query_param(query, "apikey"));
    match key {
        None => Err(kong(
            401,
            "No API key found in request",
            Some("No `apikey` request header or url param was found."),
        )),
        Some(k) if k == st.anon_key || k == st.service_key => Ok(()),
        Some(_) => Err(kong(
            401,
            "Invalid API key",
            Some("Double check your Supabase `anon` or `service_role` API key."),
        )),
    }
}

/// One request, as the handlers see it.
struct Req<'a> {
    method: &'a Method,
    path: &'a str,
    query: &'a str,
    headers: &'a HeaderMap,
    body: &'a [u8],
    peer: IpAddr,
}

async fn route(st: &State, req: &Req<'_>) -> Result<Resp, ApiError> {
    let Some(path) = req.path.strip_prefix("/auth/v1") else {
        return Err(kong(404, "no Route matched with those values", None));
    };
    let (method, query, headers, body) = (req.method, req.query, req.headers, req.body);
    if path == "/.well-known/jwks.json" && method == Method::GET {
        let mut resp = respond(200, Some(&st.jwks()));
        let cache = HeaderValue::from_static("public, max-age=600");
        resp.headers_mut().insert(CACHE_CONTROL, cache);
        return Ok(resp);
    }
    // Kong's open routes (no apikey): /verify, /callback, /authorize; and the stand-in's
    // own pages (the fake provider is a browser page; the mailbox wants the service role).
    match (method.clone(), path) {
        (Method::GET, "/authorize") => return authorize(st, req).await,
        (Method::POST, "/verify") => return verify(st, req).await,
        (_, "/authorize" | "/verify" | "/callback") => {
            return Err(err(404, "not_found", "Not Found"))
        }
        (Method::GET, p) if p.starts_with("/_fake-provider/") => {
            return match p["/_fake-provider/".len()..].strip_suffix("/authorize") {
                Some(provider) if !provider.is_empty() && !provider.contains('/') => {
                    fake_provider(st, req, provider).await
                }
                _ => Err(err(404, "not_found", "Not Found")),
            };
        }
        (Method::GET | Method::DELETE, "/_dev/mailbox") => return mailbox(st, req).await,
        _ => {}
    }
    check_apikey(st, headers, query)?;
    match (method.clone(), path) {
        (Method::POST, "/token") => match query_param(query, "grant_type").as_deref() {
            Some("password") => password_grant(st, req).await,
            Some("refresh_token") => refresh_grant(st, req).await,
            Some("pkce") => pkce_grant(st, req).await,
            _ => Err(err(400, "invalid_credentials", "unsupported_grant_type")),
        },
        (Method::POST, "/logout") => logout(st, headers, query).await,
        (Method::GET, "/user") => get_user(st, headers).await,
        (Method::PUT, "/user") => update_user(st, req).await,
        (Method::POST, "/signup") => signup(st, req).await,
        (Method::POST, "/otp") => otp(st, req).await,
        (Method::POST, "/recover") => recover(st, req).await,
        (Method::POST, "/invite") => invite(st, req).await,
        (Method::POST, "/admin/users") => admin_create_user(st, headers, body).await,
        (Method::DELETE, p) if p.starts_with("/admin/users/") => {
            admin_delete_user(st, headers, &p["/admin/users/".len()..]).await
        }
        _ => Err(err(404, "not_found", "Not Found")),
    }
}

async fn handle(st: Arc<State>, peer: IpAddr, req: Request<Incoming>) -> Result<Resp, Infallible> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let query = parts.uri.query().unwrap_or_default();
    let path = parts.uri.path();
    let request = Req {
        method: &parts.method,
        path,
        query,
        headers: &parts.headers,
        body: &body,
        peer,
    };
    let resp = route(&st, &request)
        .await
        .unwrap_or_else(|e| respond(e.status, Some(&e.body)));
    eprintln!(
        "auth-standin: {} {path} {}",
        parts.method,
        resp.status().as_u16()
    );
    Ok(resp)
}

async fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = match args.iter().position(|a| a == "--port") {
        None => 0,
        Some(i) => args
            .get(i + 1)
            .and_then(|p| p.parse().ok())
            .ok_or("--port wants a port number (0 = any free port)")?,
    };
    let state = Arc::new(State::from_env()?);
    let db_error = |e: tokio_postgres::Error| format!("DATABASE_URL: {}", pg_message(&e));
    let (client, connection) = tokio_postgres::connect(&state.db.url, NoTls)
        .await
        .map_err(db_error)?;
    tokio::spawn(connection);
    let sql = "select to_regclass('auth.users') is not null
                 and to_regclass('auth.refresh_tokens') is not null
                 and to_regclass('auth.identities') is not null
                 and to_regclass('auth.flow_state') is not null
                 and to_regclass('auth.one_time_tokens') is not null
                 and to_regclass('auth.mfa_amr_claims') is not null
                 and to_regclass('auth_standin.mailbox') is not null
                 and to_regprocedure('extensions.crypt(text, text)') is not null";
    if !client
        .query_one(sql, &[])
        .await
        .map_err(db_error)?
        .get::<_, bool>(0)
    {
        return Err(
            "the database lacks the auth tables: apply supabase/local/bootstrap.sql, \
                    then supabase/local/auth-standin.sql"
                .into(),
        );
    }
    drop(client);

    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("--port {port}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on http://{addr}");
    std::io::Write::flush(&mut std::io::stdout()).map_err(|e| e.to_string())?;

    let mut interrupt = std::pin::pin!(tokio::signal::ctrl_c());
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| e.to_string())?;
    loop {
        let (socket, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, addr)) => (socket, addr.ip()),
                Err(_) => continue,
            },
            _ = interrupt.as_mut() => break,
            _ = terminate.recv() => break,
        };
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(state.clone(), peer, req));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(socket), service)
                .await;
        });
    }
    Ok(())
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("auth-standin: {e}");
        std::process::exit(1);
    }
}
