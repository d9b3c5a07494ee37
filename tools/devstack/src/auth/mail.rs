//! The emails GoTrue sends with a link (confirmation, invite, magic link, recovery, email
//! change): the per-user frequency limit, a token hash on the user and in
//! auth.one_time_tokens, and, instead of SMTP, a row of auth_standin.mailbox. STAND-IN
//! ONLY: GET/DELETE /_dev/mailbox read and clear it.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::config::Api;
use super::crypto::new_otp;
use super::error::{err, ApiError};
use super::http::{no_content, ok, Admin, Params};

#[derive(Clone, Copy, PartialEq)]
pub enum Mail {
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
pub async fn send_mail(
    api: &Api,
    tx: &Transaction<'_>,
    user_id: Uuid,
    mail: Mail,
    recipient: &str,
    redirect_to: &str,
) -> Result<(), ApiError> {
    let (kind, token_column, sent_column, token_type, limited) = mail.columns();
    let max_frequency = api.config.max_frequency;
    if limited && max_frequency > 0.0 {
        let sql = format!(
            "select extract(epoch from {sent_column} + make_interval(secs => $2) - now())::float8
             from auth.users where id = $1"
        );
        let left: Option<f64> = tx
            .query_opt(&sql, &[&user_id, &max_frequency])
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

/// STAND-IN ONLY: GET /_dev/mailbox[?email=] (service role bearer): the emails "sent" to
/// the address (all without it), newest first.
pub async fn mailbox(
    State(api): State<Arc<Api>>,
    _: Admin,
    params: Params,
) -> Result<Response, ApiError> {
    let email = params.get("email").unwrap_or_default().to_lowercase();
    let mut conn = api.db.get().await?;
    let tx = conn.begin().await?;
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

/// STAND-IN ONLY: DELETE /_dev/mailbox[?email=] (service role bearer): forgets the
/// address's emails (all without it); 204.
pub async fn clear_mailbox(
    State(api): State<Arc<Api>>,
    _: Admin,
    params: Params,
) -> Result<Response, ApiError> {
    let email = params.get("email").unwrap_or_default().to_lowercase();
    let mut conn = api.db.get().await?;
    let tx = conn.begin().await?;
    tx.execute(
        "delete from auth_standin.mailbox where $1 = '' or lower(recipient) = $1",
        &[&email],
    )
    .await?;
    tx.commit().await?;
    Ok(no_content())
}
