//! The user's own account (their bearer token): GET /user, and PUT /user (GoTrue's
//! UserUpdate: a new password, metadata, an email change).

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::config::Api;
use super::db::as_auth_admin;
use super::error::{err, internal, ApiError};
use super::http::{ok, GoTrueJson, Referrer};
use super::input::{check_password_strength, validate_email};
use super::mail::{send_mail, Mail};
use super::sessions::Authenticated;
use super::users::{bcrypt, duplicated_email, load_user, merge_user_metadata};

pub async fn get_user(Authenticated { user, .. }: Authenticated) -> Result<Response, ApiError> {
    ok(user.json)
}

#[derive(Deserialize)]
pub struct UserUpdateParams {
    email: Option<String>,
    password: Option<String>,
    data: Option<Map<String, Value>>,
    app_metadata: Option<Value>,
    phone: Option<String>,
}

/// A new password (links spent, the user's other sessions end), metadata merged, an email
/// change started (a link to the new address).
pub async fn update_user(
    State(api): State<Arc<Api>>,
    Authenticated { user, session_id }: Authenticated,
    Referrer(redirect_to): Referrer,
    GoTrueJson(params): GoTrueJson<UserUpdateParams>,
) -> Result<Response, ApiError> {
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
    let mut conn = api.db.get().await?;
    let tx = conn.begin().await?;
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
        send_mail(&api, &tx, user.id, Mail::EmailChange, &email, &redirect_to).await?;
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
