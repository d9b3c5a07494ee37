//! Supabase Auth (GoTrue) calls for the session routes: password sign-in, refresh and
//! sign-out. Its answers are reduced to a few outcomes; its messages never reach a
//! client.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::pipeline::error::ApiError;
use crate::App;

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
}

impl AuthFailure {
    pub fn reason(self) -> &'static str {
        match self {
            Self::InvalidCredentials => "invalid_credentials",
            Self::InvalidRefreshToken => "invalid_refresh_token",
            Self::Unavailable => "auth_unavailable",
            Self::Unexpected => "auth_unexpected",
        }
    }
}

impl From<AuthFailure> for ApiError {
    fn from(f: AuthFailure) -> Self {
        match f {
            AuthFailure::InvalidCredentials => ApiError::new(
                crate::pipeline::error::ErrorCode::Unauthorized,
                "Invalid email or password",
            )
            .with_cause(f.reason()),
            AuthFailure::InvalidRefreshToken => ApiError::new(
                crate::pipeline::error::ErrorCode::Unauthorized,
                "The session has ended; sign in again",
            )
            .with_cause(f.reason()),
            AuthFailure::Unavailable => ApiError::unavailable(f.reason()),
            AuthFailure::Unexpected => ApiError::internal(f.reason()),
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
    grant: &str,
    body: Value,
    refused: AuthFailure,
) -> Result<Session, AuthFailure> {
    let response = app
        .http
        .post(auth_url(app, &format!("token?grant_type={grant}")))
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

/// `POST /auth/v1/token?grant_type=password`.
pub async fn sign_in_with_password(
    app: &App,
    email: &str,
    password: &str,
) -> Result<Session, AuthFailure> {
    token_grant(
        app,
        "password",
        json!({ "email": email, "password": password }),
        AuthFailure::InvalidCredentials,
    )
    .await
}

/// `POST /auth/v1/token?grant_type=refresh_token`.
pub async fn refresh(app: &App, refresh_token: &str) -> Result<Session, AuthFailure> {
    token_grant(
        app,
        "refresh_token",
        json!({ "refresh_token": refresh_token }),
        AuthFailure::InvalidRefreshToken,
    )
    .await
}

/// `POST /auth/v1/logout?scope=local`: ends this session (its refresh tokens stop working).
pub async fn sign_out(app: &App, access_token: &str) -> Result<(), AuthFailure> {
    let response = app
        .http
        .post(auth_url(app, "logout?scope=local"))
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

/// `POST /auth/v1/admin/users`: creates a confirmed user without a password (they set
/// one through a recovery link). Returns the new user's id.
pub async fn admin_create_user(
    app: &App,
    email: &str,
    user_metadata: Value,
) -> Result<uuid::Uuid, AdminFailure> {
    let key = service_key(app)?;
    let response = app
        .http
        .post(auth_url(app, "admin/users"))
        .header("apikey", key)
        .bearer_auth(key)
        .json(&json!({ "email": email, "email_confirm": true, "user_metadata": user_metadata }))
        .send()
        .await
        .map_err(|_| AdminFailure::Unavailable)?;
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

/// `DELETE /auth/v1/admin/users/<id>`.
pub async fn admin_delete_user(app: &App, id: uuid::Uuid) -> Result<(), AdminFailure> {
    let key = service_key(app)?;
    let response = app
        .http
        .delete(auth_url(app, &format!("admin/users/{id}")))
        .header("apikey", key)
        .bearer_auth(key)
        .send()
        .await
        .map_err(|_| AdminFailure::Unavailable)?;
    match response.status().as_u16() {
        200 | 204 => Ok(()),
        404 => Err(AdminFailure::NotFound),
        s if s >= 500 => Err(AdminFailure::Unavailable),
        _ => Err(AdminFailure::Unexpected),
    }
}
