//! POST /token?grant_type=password|refresh_token|pkce: GoTrue's token grants, each a
//! session's token response.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use super::config::Api;
use super::crypto::new_refresh_token;
use super::db::as_auth_admin;
use super::error::{err, internal, ApiError};
use super::http::{ok, parse_json, EndUser, Params, RawBody};
use super::sessions::{issue_session, token_response};
use super::users::{load_user, user_from_row, USER_COLUMNS};

/// GoTrue's flow state expiry (FlowStateExpiryDuration, its minimum and default): 5 minutes.
pub const FLOW_STATE_EXPIRY: f64 = 300.0;

pub async fn grant(
    State(api): State<Arc<Api>>,
    params: Params,
    client: EndUser,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    match params.get("grant_type").as_deref() {
        Some("password") => password_grant(&api, &client, parse_json(&body)?).await,
        Some("refresh_token") => refresh_grant(&api, &client, parse_json(&body)?).await,
        Some("pkce") => pkce_grant(&api, &client, parse_json(&body)?).await,
        _ => Err(err(400, "invalid_credentials", "unsupported_grant_type")),
    }
}

#[derive(Deserialize)]
struct PasswordGrant {
    email: Option<String>,
    phone: Option<String>,
    password: Option<String>,
}

/// An email and password: a confirmed, not banned user whose bcrypt hash matches.
async fn password_grant(
    api: &Api,
    client: &EndUser,
    params: PasswordGrant,
) -> Result<Response, ApiError> {
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
    let mut conn = api.db.get().await?;
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
    let body = issue_session(api, &tx, client, user.id, "password", None).await?;
    tx.commit().await?;
    ok(body)
}

#[derive(Deserialize)]
struct RefreshGrant {
    refresh_token: Option<String>,
}

/// A refresh token: rotated (a revoked one stays usable while it is the parent of the
/// session's active token or within the reuse interval; any other reuse revokes the
/// session's tokens), the session's refreshed_at, user agent and address updated.
async fn refresh_grant(
    api: &Api,
    client: &EndUser,
    params: RefreshGrant,
) -> Result<Response, ApiError> {
    let presented = params.refresh_token.unwrap_or_default();
    let not_found = || {
        err(
            400,
            "refresh_token_not_found",
            "Invalid Refresh Token: Refresh Token Not Found",
        )
    };
    let mut conn = api.db.get().await?;
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
    let (token_id, session_id): (i64, uuid::Uuid) = (row.get("id"), row.get("session_id"));
    let user_id: Option<uuid::Uuid> = row.get("user_id");
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
            _ if row.get::<_, f64>("age") > api.config.reuse_interval => {
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
    tx.execute(
        "update auth.sessions set updated_at = now(), refreshed_at = now() at time zone 'UTC',
           user_agent = $2, ip = $3::text::inet
         where id = $1",
        &[&session_id, &client.user_agent, &client.ip],
    )
    .await?;
    let body = token_response(api, &tx, &user, session_id, &refresh_token, "token_refresh").await?;
    tx.commit().await?;
    ok(body)
}

#[derive(Deserialize)]
struct PkceGrant {
    auth_code: Option<String>,
    code_verifier: Option<String>,
}

/// GoTrue's PKCE grant: the flow state of the auth code (5 minutes, single use), the
/// verifier against its challenge, a session with the flow's method.
async fn pkce_grant(api: &Api, client: &EndUser, params: PkceGrant) -> Result<Response, ApiError> {
    let (auth_code, verifier) = (
        params.auth_code.unwrap_or_default(),
        params.code_verifier.unwrap_or_default(),
    );
    if auth_code.is_empty() || verifier.is_empty() {
        let msg = "invalid request: both auth code and code verifier should be non-empty";
        return Err(err(400, "validation_failed", msg));
    }
    let mut conn = api.db.get().await?;
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
    let (flow_id, user_id): (uuid::Uuid, Option<uuid::Uuid>) = (flow.get(0), flow.get(1));
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
    let body = issue_session(
        api,
        &tx,
        client,
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
