//! GoTrue's admin endpoints, for the service role: POST /admin/users, GET and DELETE
//! /admin/users/<uuid>, POST /invite; and requireAdmin (the `Admin` extractor), which the
//! stand-in's mailbox uses too.

use std::sync::Arc;

use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::config::Api;
use super::db::as_auth_admin;
use super::error::{err, internal, pg_message, ApiError};
use super::hooks::before_user_created;
use super::http::{ok, Admin, EndUser, GoTrueJson, Referrer};
use super::input::{validate_email, weak_password};
use super::mail::{send_mail, Mail};
use super::users::{
    create_identity, email_claims, find_user_by_email, insert_user, load_user, unsaved_user_json,
    NewUser,
};

#[derive(Deserialize)]
pub struct CreateUser {
    id: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    password: Option<String>,
    email_confirm: Option<bool>,
    user_metadata: Option<Map<String, Value>>,
    app_metadata: Option<Map<String, Value>>,
}

/// POST /admin/users: GoTrue's adminUserCreate for an email user (no before-user-created
/// hook, as GoTrue), with its email identity.
pub async fn create_user(
    State(api): State<Arc<Api>>,
    _: Admin,
    GoTrueJson(params): GoTrueJson<CreateUser>,
) -> Result<Response, ApiError> {
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
    let mut conn = api.db.get().await?;
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
        return Err(weak_password());
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

/// The `<uuid>` of /admin/users/<uuid> as written in the path (not percent-decoded), as
/// GoTrue's loadUser reads it: 404 when it is not a UUID.
fn target_id(uri: &Uri) -> Result<Uuid, ApiError> {
    let id = uri
        .path()
        .split_once("/admin/users/")
        .map_or("", |(_, id)| id);
    Uuid::parse_str(id).map_err(|_| err(404, "validation_failed", "user_id must be an UUID"))
}

/// GET /admin/users/<uuid>: GoTrue's adminUserGet, the user as /user answers it.
pub async fn get_user(
    State(api): State<Arc<Api>>,
    _: Admin,
    uri: Uri,
) -> Result<Response, ApiError> {
    let id = target_id(&uri)?;
    let mut conn = api.db.get().await?;
    let tx = conn.begin().await?;
    let user = load_user(&tx, id)
        .await?
        .ok_or_else(|| err(404, "user_not_found", "User not found"))?;
    ok(user.json)
}

/// DELETE /admin/users/<uuid>: the user and everything that cascades from it; `{}`.
pub async fn delete_user(
    State(api): State<Arc<Api>>,
    _: Admin,
    uri: Uri,
) -> Result<Response, ApiError> {
    let id = target_id(&uri)?;
    let mut conn = api.db.get().await?;
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

#[derive(Deserialize)]
pub struct InviteParams {
    email: Option<String>,
    data: Option<Map<String, Value>>,
}

/// POST /invite[?redirect_to=]: GoTrue's Invite, a new user (hook first) or an unconfirmed
/// one, and an invite email.
pub async fn invite(
    State(api): State<Arc<Api>>,
    _: Admin,
    client: EndUser,
    Referrer(redirect_to): Referrer,
    GoTrueJson(params): GoTrueJson<InviteParams>,
) -> Result<Response, ApiError> {
    let email = params.email.unwrap_or_default();
    if email.is_empty() {
        let msg = "An email address is required";
        return Err(err(400, "validation_failed", msg));
    }
    let email = validate_email(&email)?;
    let data = Value::Object(params.data.unwrap_or_default());
    let existing = {
        let mut conn = api.db.get().await?;
        let tx = conn.begin().await?;
        find_user_by_email(&tx, &email).await?
    };
    if existing.as_ref().is_some_and(|u| u.confirmed) {
        let msg = "A user with this email address has already been registered";
        return Err(err(422, "email_exists", msg));
    }
    let new_id = Uuid::new_v4();
    if existing.is_none() {
        let user = unsaved_user_json(new_id, &email, "email", &data);
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
    send_mail(&api, &tx, user_id, Mail::Invite, &email, &redirect_to).await?;
    let user = load_user(&tx, user_id)
        .await?
        .ok_or_else(|| internal("Error inviting user", user_id))?;
    tx.commit().await?;
    ok(user.json)
}
