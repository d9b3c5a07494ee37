//! Email sign-up and the emails that sign a user in: POST /signup, POST /otp (a magic
//! link, or a sign-up and its confirmation) and POST /recover. Their links are verified
//! at POST /verify (verify.rs).

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::config::Api;
use super::crypto::{hex, random_bytes};
use super::db::as_auth_admin;
use super::error::{err, internal, ApiError};
use super::hooks::before_user_created;
use super::http::{ok, EndUser, GoTrueJson, Referrer};
use super::input::{check_password_strength, validate_email, validate_pkce};
use super::mail::{send_mail, Mail};
use super::sessions::issue_session;
use super::users::{
    bcrypt, confirm_user, create_identity, duplicated_email, email_claims, find_user_by_email,
    insert_user, load_user, remove_unconfirmed_identities, unsaved_user_json, NewUser, User,
};

#[derive(Deserialize)]
pub struct SignupParams {
    email: Option<String>,
    phone: Option<String>,
    password: Option<String>,
    data: Option<Map<String, Value>>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

/// POST /signup[?redirect_to=]: a new user signed in at once (autoconfirm) or sent a
/// confirmation; an address already confirmed answers an obfuscated user and sends
/// nothing (422 user_already_exists with autoconfirm).
pub async fn signup(
    State(api): State<Arc<Api>>,
    client: EndUser,
    Referrer(redirect_to): Referrer,
    GoTrueJson(params): GoTrueJson<SignupParams>,
) -> Result<Response, ApiError> {
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
    let new_user = SignupEmail {
        email: &email,
        password: &password,
        data: &data,
        redirect_to: &redirect_to,
    };
    match signup_email(&api, &client, new_user).await? {
        Signup::Exists(user) => {
            if api.config.autoconfirm {
                return Err(err(422, "user_already_exists", "User already registered"));
            }
            ok(sanitized_user(&user, &Value::Object(data)))
        }
        Signup::Confirmed(id) => {
            let mut conn = api.db.get().await?;
            let tx = conn.begin().await?;
            as_auth_admin(&tx).await?;
            let body = issue_session(&api, &tx, &client, id, "password", None).await?;
            tx.commit().await?;
            ok(body)
        }
        Signup::Unconfirmed(id) => {
            let mut conn = api.db.get().await?;
            let tx = conn.begin().await?;
            let user = load_user(&tx, id)
                .await?
                .ok_or_else(|| internal("Database error loading user after sign-up", id))?;
            ok(user.json)
        }
    }
}

#[derive(Deserialize)]
pub struct OtpParams {
    email: Option<String>,
    phone: Option<String>,
    create_user: Option<bool>,
    data: Option<Map<String, Value>>,
    channel: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

/// POST /otp[?redirect_to=]: GoTrue's Otp + MagicLink for email: a magic link for a
/// confirmed user; otherwise a sign-up (with a random password) and its confirmation.
/// `{}` either way.
pub async fn otp(
    State(api): State<Arc<Api>>,
    client: EndUser,
    Referrer(redirect_to): Referrer,
    GoTrueJson(params): GoTrueJson<OtpParams>,
) -> Result<Response, ApiError> {
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
        let mut conn = api.db.get().await?;
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
    let user = {
        let mut conn = api.db.get().await?;
        let tx = conn.begin().await?;
        find_user_by_email(&tx, &email).await?
    };
    let user_id = match user {
        Some(user) if user.confirmed => user.id,
        _ => {
            let password = hex(&random_bytes::<24>()?);
            let data = params.data.unwrap_or_default();
            let new_user = SignupEmail {
                email: &email,
                password: &password,
                data: &data,
                redirect_to: &redirect_to,
            };
            match signup_email(&api, &client, new_user).await? {
                Signup::Exists(_) if api.config.autoconfirm => {
                    return Err(err(422, "user_already_exists", "User already registered"))
                }
                // The confirmation email is the magic link.
                Signup::Exists(_) | Signup::Unconfirmed(_) => return ok(json!({})),
                // Autoconfirm: signed up, now the magic link.
                Signup::Confirmed(id) => id,
            }
        }
    };
    let mut conn = api.db.get().await?;
    let tx = conn.begin().await?;
    as_auth_admin(&tx).await?;
    send_mail(&api, &tx, user_id, Mail::MagicLink, &email, &redirect_to).await?;
    tx.commit().await?;
    ok(json!({}))
}

#[derive(Deserialize)]
pub struct RecoverParams {
    email: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

/// POST /recover[?redirect_to=]: GoTrue's Recover, a recovery email when the address has
/// a user; `{}` either way.
pub async fn recover(
    State(api): State<Arc<Api>>,
    Referrer(redirect_to): Referrer,
    GoTrueJson(params): GoTrueJson<RecoverParams>,
) -> Result<Response, ApiError> {
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
    let mut conn = api.db.get().await?;
    let tx = conn.begin().await?;
    let Some(user) = find_user_by_email(&tx, &email).await? else {
        return ok(json!({}));
    };
    as_auth_admin(&tx).await?;
    send_mail(
        &api,
        &tx,
        user.id,
        Mail::Recovery,
        &user.email,
        &redirect_to,
    )
    .await?;
    tx.commit().await?;
    ok(json!({}))
}

/// An email sign-up's input, checked.
struct SignupEmail<'a> {
    email: &'a str,
    password: &'a str,
    data: &'a Map<String, Value>,
    redirect_to: &'a str,
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
    api: &Api,
    client: &EndUser,
    new: SignupEmail<'_>,
) -> Result<Signup, ApiError> {
    let SignupEmail {
        email,
        password,
        data,
        redirect_to,
    } = new;
    let existing = {
        let mut conn = api.db.get().await?;
        let tx = conn.begin().await?;
        duplicated_email(&tx, email, None).await?
    };
    let data_json = Value::Object(data.clone());
    let new_id = Uuid::new_v4();
    if existing.is_none() {
        let user = unsaved_user_json(new_id, email, "email", &data_json);
        before_user_created(
            api.config.before_user_created.as_ref(),
            &api.db,
            &client.ip,
            &user,
        )
        .await?;
    }
    let mut conn = api.db.get().await?;
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
    let outcome = if api.config.autoconfirm {
        confirm_user(&tx, user_id).await?;
        Signup::Confirmed(user_id)
    } else {
        send_mail(
            api,
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
