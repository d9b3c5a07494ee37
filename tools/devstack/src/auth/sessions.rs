//! Sessions as GoTrue keeps them: a new session and its token response (access token
//! signed through the custom access token hook, refresh token), and GoTrue's
//! requireAuthentication (the `Authenticated` extractor) for the user's own endpoints.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::config::Api;
use super::crypto::new_refresh_token;
use super::error::{err, internal, ApiError};
use super::hooks;
use super::http::{bearer, EndUser};
use super::users::{load_user, user_from_row, User, USER_COLUMNS};

pub const ACCESS_TOKEN_TTL: i64 = 3600;

/// Signs an access token for the session (through the custom access token hook when
/// public.custom_access_token_hook(jsonb) exists) and builds GoTrue's token response.
pub async fn token_response(
    api: &Api,
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
    let claims = json!({
        "iss": api.config.issuer,
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
    let claims = hooks::custom_access_token(tx, user.id, claims, authentication_method).await?;
    let access_token = api
        .config
        .keys
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

/// GoTrue's IssueRefreshToken: a new session (aal1, the method as its amr, the client's
/// user agent and address), its first refresh token, last_sign_in_at, and the token
/// response. As supabase_auth_admin.
pub async fn issue_session(
    api: &Api,
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
        api,
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

/// GoTrue's requireAuthentication: a valid access token whose user and session exist,
/// checked before the handler reads anything else.
pub struct Authenticated {
    pub user: User,
    /// The token's session (none for tokens without one).
    pub session_id: Option<Uuid>,
}

impl FromRequestParts<Arc<Api>> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, api: &Arc<Api>) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers)?;
        let mut conn = api.db.get().await?;
        let tx = conn.begin().await?;
        authenticate(api, &tx, &token.0).await
    }
}

async fn authenticate(
    api: &Api,
    tx: &Transaction<'_>,
    token: &str,
) -> Result<Authenticated, ApiError> {
    let claims = api
        .config
        .keys
        .verify(token, &api.config.issuer)
        .map_err(|e| {
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
    Ok(Authenticated { user, session_id })
}
