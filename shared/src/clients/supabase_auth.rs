//! Supabase Auth (GoTrue) calls for the session routes: sign-up, password sign-in,
//! refresh and sign-out. Its answers are reduced to a few outcomes; its messages never reach a
//! client. Every call carries the request's X-Ray trace header ([`Caller::traced`]).

use serde::Deserialize;
use serde_json::{json, Value};

use crate::base::caller::Caller;
use crate::base::error::ApiError;
use crate::clients::app::App;

/// A call GoTrue makes on behalf of the person at the browser: their User-Agent and
/// address (as API Gateway saw it) go along, so the session GoTrue records names their
/// device, not this function (GoTrue's GrantParams read both; its per-address limits
/// then count people, not Lambda's addresses).
fn for_caller(request: reqwest::RequestBuilder, caller: &Caller) -> reqwest::RequestBuilder {
    let mut request = caller.traced(request);
    if let Some(agent) = &caller.user_agent {
        request = request.header(reqwest::header::USER_AGENT, agent.as_str());
    }
    if let Some(ip) = &caller.ip {
        request = request.header("x-forwarded-for", ip.as_str());
    }
    request
}

/// The session GoTrue returns (the whole JSON is what @supabase/ssr stores).
#[derive(Debug, Clone)]
pub struct Session {
    pub json: Value,
    pub user_id: uuid::Uuid,
    pub email: Option<String>,
    pub expires_at: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// Wrong email or password, unconfirmed or banned user: all look the same outside.
    InvalidCredentials,
    /// Unknown, revoked or reused refresh token.
    InvalidRefreshToken,
    /// GoTrue unreachable, timing out, or failing (5xx).
    Unavailable,
    /// Anything else GoTrue refused (a 4xx this backend did not expect).
    Unexpected,
    /// The before-user-created hook refused a new user: sign-ups are closed.
    SignupsClosed,
    /// Sign-up with an email that already has a confirmed user (GoTrue says so only when
    /// it confirms new users itself; otherwise it answers as if it sent an email).
    AlreadyExists,
    /// GoTrue's own limit on emails to one address (over_email_send_rate_limit).
    EmailRateLimited,
    /// GoTrue refused the password (weak_password, same_password).
    WeakPassword,
}

impl AuthFailure {
    pub fn reason(self) -> &'static str {
        match self {
            Self::InvalidCredentials => "invalid_credentials",
            Self::InvalidRefreshToken => "invalid_refresh_token",
            Self::Unavailable => "auth_unavailable",
            Self::Unexpected => "auth_unexpected",
            Self::SignupsClosed => "signups_closed",
            Self::AlreadyExists => "user_already_exists",
            Self::EmailRateLimited => "over_email_send_rate_limit",
            Self::WeakPassword => "weak_password",
        }
    }
}

impl From<AuthFailure> for ApiError {
    fn from(f: AuthFailure) -> Self {
        match f {
            AuthFailure::InvalidCredentials => ApiError::new(
                crate::base::error::ErrorCode::Unauthorized,
                "Invalid email or password",
            )
            .with_cause(f.reason()),
            AuthFailure::InvalidRefreshToken => ApiError::new(
                crate::base::error::ErrorCode::Unauthorized,
                "The session has ended; sign in again",
            )
            .with_cause(f.reason()),
            AuthFailure::Unavailable => ApiError::unavailable(f.reason()),
            AuthFailure::Unexpected => ApiError::internal(f.reason()),
            AuthFailure::SignupsClosed => ApiError::signups_closed().with_cause(f.reason()),
            AuthFailure::AlreadyExists => {
                ApiError::conflict("A user with this email already exists").with_cause(f.reason())
            }
            AuthFailure::EmailRateLimited => ApiError::rate_limited(60).with_cause(f.reason()),
            AuthFailure::WeakPassword => {
                ApiError::invalid_field("password", "is too weak for Supabase Auth")
                    .with_cause(f.reason())
            }
        }
    }
}

#[derive(Deserialize)]
struct UserPart {
    id: uuid::Uuid,
    #[serde(default)]
    email: Option<String>,
}

fn auth_url(app: &App, path: &str) -> String {
    format!(
        "{}/auth/v1/{path}",
        app.config.supabase_url.as_str().trim_end_matches('/')
    )
}

async fn token_grant(
    app: &App,
    caller: &Caller,
    grant: &str,
    body: Value,
    refused: AuthFailure,
) -> Result<Session, AuthFailure> {
    let request = app
        .http
        .post(auth_url(app, &format!("token?grant_type={grant}")));
    let response = for_caller(request, caller)
        .header("apikey", &app.config.anon_key)
        .json(&body)
        .send()
        .await
        .map_err(|_| AuthFailure::Unavailable)?;
    let status = response.status();
    if status.is_server_error() {
        return Err(AuthFailure::Unavailable);
    }
    if status.is_client_error() {
        // GoTrue answers 400 for bad credentials and bad refresh tokens alike.
        return Err(if status.as_u16() == 400 || status.as_u16() == 401 {
            refused
        } else {
            AuthFailure::Unexpected
        });
    }
    let json: Value = response.json().await.map_err(|_| AuthFailure::Unexpected)?;
    session_from(json)
}

/// `POST /auth/v1/token?grant_type=password`.
pub async fn sign_in_with_password(
    app: &App,
    caller: &Caller,
    email: &str,
    password: &str,
) -> Result<Session, AuthFailure> {
    token_grant(
        app,
        caller,
        "password",
        json!({ "email": email, "password": password }),
        AuthFailure::InvalidCredentials,
    )
    .await
}

/// What `POST /auth/v1/signup` did.
#[derive(Debug)]
pub enum SignUp {
    /// Confirmed at once (the project confirms emails itself): signed in.
    SignedIn(Session),
    /// A confirmation email was sent, or (for an address that already has a user) GoTrue
    /// answered as if it had: the two look the same, so the answer reveals no account.
    ConfirmationSent,
}

/// GoTrue's error code (`error_code`, or `code` in older versions).
fn error_code(body: &Value) -> Option<&str> {
    body["error_code"].as_str().or(body["code"].as_str())
}

/// `POST /auth/v1/signup {email, password, data}?redirect_to=`: `data` becomes the user's
/// metadata (the profile trigger reads its `full_name`); the confirmation email links to
/// `redirect_to`.
pub async fn sign_up(
    app: &App,
    caller: &Caller,
    email: &str,
    password: &str,
    data: Value,
    redirect_to: Option<&str>,
) -> Result<SignUp, AuthFailure> {
    let mut request = for_caller(app.http.post(auth_url(app, "signup")), caller);
    if let Some(redirect_to) = redirect_to {
        request = request.query(&[("redirect_to", redirect_to)]);
    }
    let response = request
        .header("apikey", &app.config.anon_key)
        .json(&json!({ "email": email, "password": password, "data": data }))
        .send()
        .await
        .map_err(|_| AuthFailure::Unavailable)?;
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    match status {
        200 | 201 if body["access_token"].is_string() => session_from(body).map(SignUp::SignedIn),
        200 | 201 => Ok(SignUp::ConfirmationSent),
        // The before-user-created hook's refusal (public.before_user_created_hook).
        403 => Err(AuthFailure::SignupsClosed),
        422 => Err(match error_code(&body) {
            Some("user_already_exists") | Some("email_exists") => AuthFailure::AlreadyExists,
            Some("weak_password") => AuthFailure::WeakPassword,
            Some("signup_disabled") | Some("email_provider_disabled") => AuthFailure::SignupsClosed,
            _ => AuthFailure::Unexpected,
        }),
        429 => Err(AuthFailure::EmailRateLimited),
        s if s >= 500 => Err(AuthFailure::Unavailable),
        _ => Err(AuthFailure::Unexpected),
    }
}

/// A token response (`access_token`, `refresh_token`, `expires_at`, `user`) as a session.
fn session_from(json: Value) -> Result<Session, AuthFailure> {
    let user: UserPart =
        serde_json::from_value(json["user"].clone()).map_err(|_| AuthFailure::Unexpected)?;
    if json["access_token"].as_str().is_none() || json["refresh_token"].as_str().is_none() {
        return Err(AuthFailure::Unexpected);
    }
    Ok(Session {
        expires_at: json["expires_at"].as_i64(),
        user_id: user.id,
        email: user.email,
        json,
    })
}

/// A call of GoTrue's that answers a session: 200 is the session; a 4xx is `refused` (a
/// used, expired or wrong code or link); a 5xx or no answer, [`AuthFailure::Unavailable`].
async fn session_call(
    app: &App,
    caller: &Caller,
    path: &str,
    body: Value,
    refused: AuthFailure,
) -> Result<Session, AuthFailure> {
    let response = for_caller(app.http.post(auth_url(app, path)), caller)
        .header("apikey", &app.config.anon_key)
        .json(&body)
        .send()
        .await
        .map_err(|_| AuthFailure::Unavailable)?;
    match response.status().as_u16() {
        200 => session_from(response.json().await.map_err(|_| AuthFailure::Unexpected)?),
        400 | 401 | 403 | 404 | 422 => Err(refused),
        s if s >= 500 => Err(AuthFailure::Unavailable),
        _ => Err(AuthFailure::Unexpected),
    }
}

/// `POST /auth/v1/token?grant_type=pkce {auth_code, code_verifier}`: the session of an
/// OAuth sign-in. A code that is unknown, used, expired or not this verifier's
/// (bad_code_verifier 400, flow_state_not_found 404, flow_state_expired 422) is
/// [`AuthFailure::InvalidCredentials`].
pub async fn exchange_code(
    app: &App,
    caller: &Caller,
    auth_code: &str,
    code_verifier: &str,
) -> Result<Session, AuthFailure> {
    let body = json!({ "auth_code": auth_code, "code_verifier": code_verifier });
    session_call(
        app,
        caller,
        "token?grant_type=pkce",
        body,
        AuthFailure::InvalidCredentials,
    )
    .await
}

/// `POST /auth/v1/verify {type, token_hash}`: the session an email link stands for
/// (sign-up confirmation, magic link, recovery, invite, email change). An unknown, used
/// or expired link (otp_expired 403) is [`AuthFailure::InvalidCredentials`].
pub async fn verify_email_link(
    app: &App,
    caller: &Caller,
    kind: &str,
    token_hash: &str,
) -> Result<Session, AuthFailure> {
    let body = json!({ "type": kind, "token_hash": token_hash });
    session_call(app, caller, "verify", body, AuthFailure::InvalidCredentials).await
}

/// `POST /auth/v1/otp {email, create_user}?redirect_to=`: an email link for `email`
/// (a sign-up confirmation for an unknown address when `create_user`). What GoTrue
/// refuses for the address itself (no such user without create_user, its per-address
/// email limit) is `Ok(false)`, so the caller can answer the same either way.
pub async fn send_email_link(
    app: &App,
    caller: &Caller,
    email: &str,
    create_user: bool,
    redirect_to: &str,
) -> Result<bool, AuthFailure> {
    let response = for_caller(app.http.post(auth_url(app, "otp")), caller)
        .query(&[("redirect_to", redirect_to)])
        .header("apikey", &app.config.anon_key)
        .json(&json!({ "email": email, "create_user": create_user }))
        .send()
        .await
        .map_err(|_| AuthFailure::Unavailable)?;
    match response.status().as_u16() {
        200 => Ok(true),
        // otp_disabled, signups closed by the hook, over_email_send_rate_limit.
        400 | 403 | 422 | 429 => Ok(false),
        s if s >= 500 => Err(AuthFailure::Unavailable),
        _ => Err(AuthFailure::Unexpected),
    }
}

/// `POST /auth/v1/recover {email}?redirect_to=`: a password-recovery link for `email`.
/// GoTrue answers the same for unknown addresses; its own per-address limit is
/// `Ok(false)`, like the other refusals of the address itself.
pub async fn send_recovery_link(
    app: &App,
    caller: &Caller,
    email: &str,
    redirect_to: &str,
) -> Result<bool, AuthFailure> {
    let response = for_caller(app.http.post(auth_url(app, "recover")), caller)
        .query(&[("redirect_to", redirect_to)])
        .header("apikey", &app.config.anon_key)
        .json(&json!({ "email": email }))
        .send()
        .await
        .map_err(|_| AuthFailure::Unavailable)?;
    match response.status().as_u16() {
        200 => Ok(true),
        400 | 422 | 429 => Ok(false),
        s if s >= 500 => Err(AuthFailure::Unavailable),
        _ => Err(AuthFailure::Unexpected),
    }
}

/// `PUT /auth/v1/user {password}` as the user.
pub async fn set_password(
    app: &App,
    caller: &Caller,
    access_token: &str,
    password: &str,
) -> Result<(), AuthFailure> {
    let response = caller
        .traced(app.http.put(auth_url(app, "user")))
        .header("apikey", &app.config.anon_key)
        .bearer_auth(access_token)
        .json(&json!({ "password": password }))
        .send()
        .await
        .map_err(|_| AuthFailure::Unavailable)?;
    let status = response.status().as_u16();
    match status {
        200 => Ok(()),
        401 | 403 => Err(AuthFailure::InvalidRefreshToken),
        422 | 400 => Err(AuthFailure::WeakPassword),
        s if s >= 500 => Err(AuthFailure::Unavailable),
        _ => Err(AuthFailure::Unexpected),
    }
}

/// `POST /auth/v1/token?grant_type=refresh_token`.
pub async fn refresh(
    app: &App,
    caller: &Caller,
    refresh_token: &str,
) -> Result<Session, AuthFailure> {
    token_grant(
        app,
        caller,
        "refresh_token",
        json!({ "refresh_token": refresh_token }),
        AuthFailure::InvalidRefreshToken,
    )
    .await
}

/// Which sessions a sign-out ends (GoTrue's logout scopes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SignOutScope {
    /// The session of the access token.
    Local,
    /// Every session of the user, this one included.
    Global,
    /// Every session of the user but this one.
    Others,
}

impl SignOutScope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Global => "global",
            Self::Others => "others",
        }
    }
}

/// `POST /auth/v1/logout?scope=`: ends the sessions `scope` names (their refresh tokens
/// stop working, and the database's request gate refuses their access tokens).
pub async fn sign_out(
    app: &App,
    caller: &Caller,
    access_token: &str,
    scope: SignOutScope,
) -> Result<(), AuthFailure> {
    let url = auth_url(app, &format!("logout?scope={}", scope.as_str()));
    let response = caller
        .traced(app.http.post(url))
        .header("apikey", &app.config.anon_key)
        .bearer_auth(access_token)
        .send()
        .await
        .map_err(|_| AuthFailure::Unavailable)?;
    let status = response.status();
    if status.is_success() || matches!(status.as_u16(), 401 | 403 | 404) {
        // 401/403/404 (bad_jwt, session_not_found, user_not_found): the session is
        // already gone; signing out again is not an error (supabase-js does the same).
        Ok(())
    } else if status.is_server_error() {
        Err(AuthFailure::Unavailable)
    } else {
        Err(AuthFailure::Unexpected)
    }
}

/// Outcomes of the Auth admin API (service role).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminFailure {
    EmailExists,
    NotFound,
    Invalid,
    Unavailable,
    Unexpected,
}

impl From<AdminFailure> for ApiError {
    fn from(f: AdminFailure) -> Self {
        match f {
            AdminFailure::EmailExists => {
                ApiError::conflict("A user with this email already exists")
            }
            AdminFailure::NotFound => ApiError::not_found("User"),
            AdminFailure::Invalid => {
                ApiError::invalid_field("email", "is not accepted by Supabase Auth")
            }
            AdminFailure::Unavailable => ApiError::unavailable("auth admin unavailable"),
            AdminFailure::Unexpected => ApiError::internal("auth admin unexpected answer"),
        }
    }
}

fn service_key(app: &App) -> Result<&str, AdminFailure> {
    app.config
        .service_role_key
        .as_deref()
        .ok_or(AdminFailure::Unavailable)
}

/// A call of the admin API (`admin/users...`) as the service role, in `caller`'s request:
/// the key as apikey and bearer; no answer is `Unavailable`.
async fn admin_call(
    app: &App,
    caller: &Caller,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> Result<reqwest::Response, AdminFailure> {
    let key = service_key(app)?;
    let mut request = caller
        .traced(app.http.request(method, auth_url(app, path)))
        .header("apikey", key)
        .bearer_auth(key);
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.map_err(|_| AdminFailure::Unavailable)
}

/// `POST /auth/v1/admin/users`: creates a confirmed user without a password (they set
/// one through a recovery link). Returns the new user's id.
pub async fn admin_create_user(
    app: &App,
    caller: &Caller,
    email: &str,
    user_metadata: Value,
    id: Option<uuid::Uuid>,
) -> Result<uuid::Uuid, AdminFailure> {
    let mut body = json!({ "email": email, "email_confirm": true, "user_metadata": user_metadata });
    if let Some(id) = id {
        // GoTrue's adminUserCreate takes the new user's id when given one.
        body["id"] = json!(id);
    }
    let response = admin_call(
        app,
        caller,
        reqwest::Method::POST,
        "admin/users",
        Some(&body),
    )
    .await?;
    let status = response.status().as_u16();
    match status {
        200 | 201 => {
            let user: UserPart = response
                .json()
                .await
                .map_err(|_| AdminFailure::Unexpected)?;
            Ok(user.id)
        }
        422 => {
            // GoTrue: email_exists (and, older versions, user_already_exists) or a weak input.
            let body: Value = response.json().await.unwrap_or(Value::Null);
            match body["error_code"].as_str().or(body["code"].as_str()) {
                Some("email_exists") | Some("user_already_exists") => {
                    Err(AdminFailure::EmailExists)
                }
                _ => Err(AdminFailure::Invalid),
            }
        }
        400 => Err(AdminFailure::Invalid),
        s if s >= 500 => Err(AdminFailure::Unavailable),
        _ => Err(AdminFailure::Unexpected),
    }
}

/// `GET /auth/v1/admin/users/<id>`: the user's email, or none when there is no such user.
pub async fn admin_user_email(
    app: &App,
    caller: &Caller,
    id: uuid::Uuid,
) -> Result<Option<String>, AdminFailure> {
    let path = format!("admin/users/{id}");
    let response = admin_call(app, caller, reqwest::Method::GET, &path, None).await?;
    match response.status().as_u16() {
        200 => {
            let user: Value = response
                .json()
                .await
                .map_err(|_| AdminFailure::Unexpected)?;
            Ok(Some(user["email"].as_str().unwrap_or_default().to_owned()))
        }
        404 => Ok(None),
        s if s >= 500 => Err(AdminFailure::Unavailable),
        _ => Err(AdminFailure::Unexpected),
    }
}

/// `DELETE /auth/v1/admin/users/<id>`.
pub async fn admin_delete_user(
    app: &App,
    caller: &Caller,
    id: uuid::Uuid,
) -> Result<(), AdminFailure> {
    let path = format!("admin/users/{id}");
    let response = admin_call(app, caller, reqwest::Method::DELETE, &path, None).await?;
    match response.status().as_u16() {
        200 | 204 => Ok(()),
        404 => Err(AdminFailure::NotFound),
        s if s >= 500 => Err(AdminFailure::Unavailable),
        _ => Err(AdminFailure::Unexpected),
    }
}
