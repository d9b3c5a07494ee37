//! A STAND-IN for Supabase Auth (GoTrue), used only by local development and tests, where
//! the real service cannot be installed. It is not Supabase Auth: it follows GoTrue's
//! documented request and response shapes (and its behaviour, where noted) for the few
//! endpoints this project uses, and nothing else. Never expose it to real users.
//!
//! Endpoints (under /auth/v1, behind a Kong-like `apikey` check, except the JWKS):
//!   GET    /.well-known/jwks.json                 public keys (signing key + AUTH_EXTRA_PUBLIC_KEYS)
//!   POST   /token?grant_type=password             {email, password}
//!   POST   /token?grant_type=refresh_token        {refresh_token}
//!   POST   /logout[?scope=global|local|others]    user's bearer token; 204
//!   GET    /user                                  user's bearer token
//!   POST   /admin/users                           service role bearer; {email, password?, ...}
//!   DELETE /admin/users/<uuid>                    service role bearer
//!
//! Usage: auth-standin --port <port> (0 = any free port). Prints
//! `listening on http://127.0.0.1:<port>` once ready; stops on SIGTERM/SIGINT.
//! Env: DATABASE_URL (superuser URL of the app database), SUPABASE_ANON_KEY,
//! SUPABASE_SERVICE_ROLE_KEY, AUTH_ISSUER, AUTH_SIGNING_KEY (PKCS#8 PEM private key: EC
//! P-256 signs ES256, RSA signs RS256), AUTH_SIGNING_KID, optional AUTH_EXTRA_PUBLIC_KEYS
//! (`kid=path.pem,...`: published and accepted, never used to sign) and optional
//! AUTH_REFRESH_TOKEN_REUSE_INTERVAL (seconds, GoTrue's default 10).
//! The database needs supabase/local/bootstrap.sql and supabase/local/auth-standin.sql.
//!
//! As GoTrue does: writes and the custom access token hook run as supabase_auth_admin;
//! refresh tokens rotate, a rotated token stays usable while it is the parent of the
//! session's active token or within the reuse interval, and any other reuse revokes the
//! session's tokens (400 refresh_token_already_used).

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderMap, HeaderValue, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE};
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
const USER_COLUMNS: &str = "id, aud, role, email, phone, email_confirmed_at, \
    phone_confirmed_at, last_sign_in_at, raw_app_meta_data, raw_user_meta_data, created_at, \
    updated_at, banned_until, is_anonymous, coalesce(banned_until > now(), false) as banned";

type Resp = Response<Full<Bytes>>;

// ---------- errors and responses ----------

struct ApiError {
    status: u16,
    body: Value,
}

/// GoTrue's error shape.
fn err(status: u16, error_code: &str, msg: impl Into<String>) -> ApiError {
    let body = json!({ "code": status, "error_code": error_code, "msg": msg.into() });
    ApiError { status, body }
}

/// Kong's error shape (API key checks and unknown routes, in front of GoTrue).
fn kong(status: u16, message: &str, hint: Option<&str>) -> ApiError {
    let mut body = json!({ "message": message });
    if let Some(hint) = hint {
        body["hint"] = json!(hint);
    }
    ApiError { status, body }
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

fn query_param(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
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
        let reuse_interval = match std::env::var("AUTH_REFRESH_TOKEN_REUSE_INTERVAL") {
            Ok(v) if !v.trim().is_empty() => v.trim().parse::<u32>().map_err(|_| {
                format!("AUTH_REFRESH_TOKEN_REUSE_INTERVAL is malformed (seconds): {v}")
            })?,
            _ => 10,
        };
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
            reuse_interval: f64::from(reuse_interval),
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
    let mut json = json!({
        "id": user.id,
        "aud": user.aud,
        "role": user.role,
        "email": user.email,
        "phone": user.phone,
        "app_metadata": user.app_metadata,
        "user_metadata": user.user_metadata,
        "identities": [],
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
    ] {
        if let Some(value) = value {
            json[name] = json!(value);
        }
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
    let session = tx
        .query_one(
            "select created_at from auth.sessions where id = $1",
            &[&session_id],
        )
        .await?;
    let signed_in_at = session
        .get::<_, Option<DateTime<Utc>>>(0)
        .unwrap_or_else(Utc::now);
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
        "amr": [{ "method": "password", "timestamp": signed_in_at.timestamp() }],
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
        let hook_error = output
            .get("error")
            .filter(|e| e["message"].as_str().is_some_and(|m| !m.is_empty()));
        if let Some(e) = hook_error {
            let status = e["http_code"]
                .as_u64()
                .filter(|c| (400..600).contains(c))
                .unwrap_or(500);
            let code = if status == 500 {
                "unexpected_failure"
            } else {
                "unknown"
            };
            return Err(err(
                status as u16,
                code,
                e["message"].as_str().unwrap_or_default(),
            ));
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

async fn password_grant(st: &State, body: &[u8]) -> Result<Resp, ApiError> {
    let params: PasswordGrant = parse_body(body)?;
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
    let session_id = Uuid::new_v4();
    tx.execute(
        "insert into auth.sessions (id, user_id, aal) values ($1, $2, 'aal1')",
        &[&session_id, &user.id],
    )
    .await?;
    let refresh_token = new_refresh_token()?;
    tx.execute(
        "insert into auth.refresh_tokens (token, user_id, session_id) values ($1, $2, $3)",
        &[&refresh_token, &user.id, &session_id],
    )
    .await?;
    let sql = format!(
        "update auth.users set last_sign_in_at = now() where id = $1 returning {USER_COLUMNS}"
    );
    let user = user_from_row(&tx.query_one(&sql, &[&user.id]).await?);
    let body = token_response(st, &tx, &user, session_id, &refresh_token, "password").await?;
    tx.commit().await?;
    ok(body)
}

#[derive(Deserialize)]
struct RefreshGrant {
    refresh_token: Option<String>,
}

async fn refresh_grant(st: &State, body: &[u8]) -> Result<Resp, ApiError> {
    let params: RefreshGrant = parse_body(body)?;
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
                    extract(epoch from now() - rt.updated_at)::float8 as age
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
    tx.execute(
        "update auth.sessions set updated_at = now() where id = $1",
        &[&session_id],
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
    let sql = format!(
        "insert into auth.users (id, aud, role, email, encrypted_password, email_confirmed_at,
                                 raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
         values ($1, 'authenticated', 'authenticated', $2, $3,
                 case when $4 then now() end, $5, $6, now(), now())
         returning {USER_COLUMNS}"
    );
    let confirm = params.email_confirm.unwrap_or(false);
    let row = tx
        .query_one(
            &sql,
            &[&id, &email, &hash, &confirm, &app_metadata, &user_metadata],
        )
        .await
        .map_err(|e| internal("Database error creating new user", pg_message(&e)))?;
    tx.commit().await?;
    ok(user_from_row(&row).json)
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

async fn route(
    st: &State,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Resp, ApiError> {
    let Some(path) = path.strip_prefix("/auth/v1") else {
        return Err(kong(404, "no Route matched with those values", None));
    };
    if path == "/.well-known/jwks.json" && method == Method::GET {
        let mut resp = respond(200, Some(&st.jwks()));
        let cache = HeaderValue::from_static("public, max-age=600");
        resp.headers_mut().insert(CACHE_CONTROL, cache);
        return Ok(resp);
    }
    check_apikey(st, headers, query)?;
    match (method.clone(), path) {
        (Method::POST, "/token") => match query_param(query, "grant_type").as_deref() {
            Some("password") => password_grant(st, body).await,
            Some("refresh_token") => refresh_grant(st, body).await,
            _ => Err(err(400, "invalid_credentials", "unsupported_grant_type")),
        },
        (Method::POST, "/logout") => logout(st, headers, query).await,
        (Method::GET, "/user") => get_user(st, headers).await,
        (Method::POST, "/admin/users") => admin_create_user(st, headers, body).await,
        (Method::DELETE, p) if p.starts_with("/admin/users/") => {
            admin_delete_user(st, headers, &p["/admin/users/".len()..]).await
        }
        _ => Err(err(404, "not_found", "Not Found")),
    }
}

async fn handle(st: Arc<State>, req: Request<Incoming>) -> Result<Resp, Infallible> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let query = parts.uri.query().unwrap_or_default();
    let path = parts.uri.path();
    let resp = route(&st, &parts.method, path, query, &parts.headers, &body)
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
        let socket = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => socket,
                Err(_) => continue,
            },
            _ = interrupt.as_mut() => break,
            _ = terminate.recv() => break,
        };
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(state.clone(), req));
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
