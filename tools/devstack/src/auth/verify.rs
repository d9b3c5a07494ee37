//! POST /verify (open): GoTrue's verification of an email link by its token hash. The
//! link's one-time token, unexpired, is spent; the user confirmed, recovered or given
//! the new email; a session (amr otp).

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::config::Api;
use super::db::as_auth_admin;
use super::error::{err, internal, pg_message, ApiError};
use super::http::{ok, EndUser, GoTrueJson};
use super::sessions::issue_session;
use super::users::{confirm_user, create_identity, email_claims, load_user, update_providers};

#[derive(Deserialize)]
pub struct VerifyParams {
    #[serde(rename = "type")]
    kind: Option<String>,
    token: Option<String>,
    token_hash: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    redirect_to: Option<String>,
}

pub async fn verify(
    State(api): State<Arc<Api>>,
    client: EndUser,
    GoTrueJson(params): GoTrueJson<VerifyParams>,
) -> Result<Response, ApiError> {
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
    let mut conn = api.db.get().await?;
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
    let row = tx.query_one(&sql, &[&user_id, &api.config.otp_exp]).await?;
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
    let body = issue_session(&api, &tx, &client, user_id, "otp", None).await?;
    tx.commit().await?;
    ok(body)
}
