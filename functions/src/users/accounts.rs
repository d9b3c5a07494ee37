//! Accounts through Supabase Auth's admin API: POST /users (with its undo), DELETE
//! /users/{id} and DELETE /me.
//!
//! Whatever deletes an auth user (these routes, Supabase Auth's dashboard, SQL), the
//! database's trigger on auth.users (supabase/migrations/*_accounts_leave.sql) refuses
//! it while the user is the last admin of a workspace with other members, and otherwise
//! takes with it the workspaces only they belong to, their rows (by cascade), their
//! files (the uploads trigger queues them for the sweep) and the addresses in their
//! audit events. Supabase Auth answers such a refusal with a 500; the routes then ask
//! the database which workspaces stand in the way and answer 409 naming them.

use lambda_http::Request;
use serde::{Deserialize, Serialize};
use shared::auth::cookies;
use shared::auth::permissions::{Permission, Role};
use shared::base::error::WorkspaceRef;
use shared::clients::supabase_auth;
use shared::pipeline::contract::Example;
use shared::pipeline::input;
use shared::pipeline::typed::{Created, Json, MaybeJson, NoContent, With};
use shared::policy::audit::{self, AuditEvent};
use shared::policy::authorize;
use shared::{clients::postgrest, ApiError, App, Caller, SignedIn};
use utoipa::ToSchema;
use validator::Validate;

use crate::validate;

use super::model::{Profile, ProfileRow, UserId};

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    #[serde(deserialize_with = "input::trimmed")]
    #[validate(custom(function = "validate::email"))]
    #[schema(schema_with = validate::schema::email)]
    email: String,
    #[serde(deserialize_with = "input::trimmed")]
    #[validate(custom(function = "validate::full_name"))]
    #[schema(schema_with = validate::schema::full_name)]
    name: String,
    role: Role,
}

impl Example for NewUser {
    const EXAMPLE: &'static str = r#"{"email":"erin@example.com","name":"Erin","role":"editor"}"#;
}

/// A user just created: the profile and the role given.
#[derive(Serialize, ToSchema)]
pub struct CreatedUser {
    #[serde(flatten)]
    profile: Profile,
    role: Role,
}

/// What `finish_user_creation` answers (and `claim_idempotency_key` replays): the
/// profile row and the role.
#[derive(Deserialize)]
struct FinishedUser {
    #[serde(flatten)]
    row: ProfileRow,
    role: Role,
}

/// POST /users: the auth user through Supabase Auth's admin API, then role and profile
/// as the calling admin (RLS: users.write) in one call of `finish_user_creation`. If
/// that fails, the auth user is removed again: nothing is half-created. With an
/// Idempotency-Key, the key is claimed first (a repeat gets the first answer, a
/// duplicate still running 409) and released when the create fails; the user's id
/// follows from the key, and a finish that may have committed (503) is not undone, so
/// the retry of a create whose answer was lost finishes the same user or is answered
/// the one stored, never one that was deleted meanwhile (found by `make chaos`).
pub async fn create(
    app: App,
    caller: SignedIn,
    Json(new): Json<NewUser>,
) -> Result<Created<CreatedUser>, ApiError> {
    let user = &caller.user;
    user.require(Permission::UsersWrite)?;
    // The Auth admin API runs as the service role: the database cannot check the
    // caller there, so ask it first.
    authorize::confirm(&app, &caller, Permission::UsersWrite).await?;
    let email = new.email.to_lowercase();
    let keyed = caller.idempotency_key().is_some();
    if keyed {
        let request = serde_json::json!({ "email": email, "name": new.name, "role": new.role });
        let first: Option<FinishedUser> = postgrest::call(
            app.db
                .as_user(&caller)
                .rpc(&crate::sql::ClaimIdempotencyKey {
                    p_operation: "create_user".to_owned(),
                    p_request: request,
                })?,
            "User",
        )
        .await?;
        if let Some(first) = first {
            return Ok(answer(first));
        }
    }
    // With a key, the new user's id follows from the caller and the key: a retry of a
    // create whose answer was lost finds the user its first attempt made.
    let wanted = caller
        .idempotency_key()
        .map(|key| user_id_for_key(user.id, key));
    let finished = async {
        let created = supabase_auth::admin_create_user(
            &app,
            &caller,
            &email,
            serde_json::json!({ "full_name": new.name }),
            wanted,
        )
        .await;
        let id = match (created, wanted) {
            (Ok(id), _) => id,
            (Err(supabase_auth::AdminFailure::EmailExists), Some(wanted))
                if made_by_this_key(&app, &caller, wanted, &email).await? =>
            {
                wanted
            }
            (Err(e), _) => return Err(e.into()),
        };
        let finish = postgrest::call::<FinishedUser>(
            app.db
                .as_user(&caller)
                .rpc(&crate::sql::FinishUserCreation {
                    p_id: id,
                    p_role: new.role,
                    p_name: new.name,
                })?,
            "User",
        )
        .await;
        if let Err(e) = &finish {
            // Undone unless it may have committed (timed out, connection lost) and a
            // retry with the key can still finish it or be answered what it stored.
            if !(keyed && e.code == shared::base::error::ErrorCode::ServiceUnavailable) {
                let _ = supabase_auth::admin_delete_user(&app, &caller, id).await;
            }
        }
        finish
    }
    .await;
    let finished = match finished {
        Ok(finished) => finished,
        Err(e) => {
            if keyed {
                let release = app
                    .db
                    .as_user(&caller)
                    .rpc(&crate::sql::ReleaseIdempotencyKey {});
                if let Ok(release) = release {
                    let _ = postgrest::exec(release, "User").await;
                }
            }
            return Err(e);
        }
    };
    let event = AuditEvent::new("USER_CREATED", &caller)
        .actor(user.id)
        .target(format!("user:{}", finished.row.id))
        .metadata(serde_json::json!({ "role": new.role }));
    audit::record(&app, event).await;
    Ok(answer(finished))
}

/// The id of the user an admin's create with `key` makes: version 4 in form, from a hash
/// of the admin's id and the key (keys are per caller, as in the database).
fn user_id_for_key(caller: uuid::Uuid, key: &str) -> uuid::Uuid {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("create_user {caller} {key}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// Whether the account Supabase Auth already holds for `email` is the one an earlier
/// attempt with this key created (its id is `wanted`), not someone else's.
async fn made_by_this_key(
    app: &App,
    caller: &SignedIn,
    wanted: uuid::Uuid,
    email: &str,
) -> Result<bool, ApiError> {
    Ok(supabase_auth::admin_user_email(app, caller, wanted)
        .await?
        .is_some_and(|found| found.eq_ignore_ascii_case(email)))
}

fn answer(finished: FinishedUser) -> Created<CreatedUser> {
    Created(CreatedUser {
        profile: finished.row.into(),
        role: finished.role,
    })
}

/// DELETE /users/{id}: through the Auth admin API (the profile, role and posts go with
/// the auth user, by cascade); 409 naming the workspaces it is the last admin of.
pub async fn delete(app: App, caller: SignedIn, UserId(id): UserId) -> Result<NoContent, ApiError> {
    let user = &caller.user;
    user.require(Permission::UsersDelete)?;
    if id == user.id {
        return Err(ApiError::forbidden(
            "You cannot delete your own account here: use DELETE /me",
        ));
    }
    // Runs as the service role: confirm the caller's role in the database first.
    authorize::confirm(&app, &caller, Permission::UsersDelete).await?;
    delete_auth_user(&app, &caller, id).await?;
    let event = AuditEvent::new("USER_DELETED", &caller)
        .actor(user.id)
        .target(format!("user:{id}"));
    audit::record(&app, event).await;
    Ok(NoContent)
}

/// How long after signing in a session may delete its account without the password.
pub const RECENT_SIGN_IN_SECONDS: i64 = 10 * 60;

/// DELETE /me's optional body.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountDeletion {
    /// The account's password, when the session signed in more than 10 minutes ago.
    /// Absent or a string (`null` is refused, like any mistyped field).
    #[serde(default, deserialize_with = "input::present")]
    #[validate(custom(function = "validate::password"))]
    #[schema(schema_with = validate::schema::password)]
    password: Option<String>,
}

impl Example for AccountDeletion {
    const EXAMPLE: &'static str = r#"{"password":"REPLACE_WITH_PASSWORD"}"#;
}

/// DELETE /me: the caller deletes their own account. The session must have signed in
/// within [`RECENT_SIGN_IN_SECONDS`] (the token's `amr`), or the body carries the
/// password; then as DELETE /users/{id}. The audit event keeps no personal data: no
/// actor, address or user agent, only the deleted id. The session cookie is cleared.
pub async fn delete_own(
    app: App,
    caller: SignedIn,
    MaybeJson(body): MaybeJson<AccountDeletion>,
    req: Request,
) -> Result<With<NoContent>, ApiError> {
    let user = &caller.user;
    let recent = user
        .claims
        .authenticated_at()
        .is_some_and(|at| chrono::Utc::now().timestamp() - at <= RECENT_SIGN_IN_SECONDS);
    let check_session =
        match body.and_then(|b| b.password) {
            _ if recent => None,
            Some(password) => {
                Some(crate::sessions::password_again(&app, &caller, user, &password).await?)
            }
            None => return Err(ApiError::reauthenticate(
                "Deleting the account needs a recent sign-in: sign in again, or send the password",
            )),
        };
    if let Err(e) = delete_auth_user(&app, &caller, user.id).await {
        if let Some(token) = check_session {
            crate::sessions::end_session(&app, &caller, &token).await;
        }
        return Err(e);
    }
    let mut event = AuditEvent::new("ACCOUNT_DELETED", &caller).target(format!("user:{}", user.id));
    event.ip = None;
    event.user_agent = None;
    audit::record(&app, event).await;
    Ok(With::new(NoContent).cookies(cookies::clearing(&app.config, &req)))
}

/// The auth user deleted through the Auth admin API. When that fails and the database
/// names workspaces the user is the last admin of, 409 naming them (the trigger's
/// refusal reaches us as Supabase Auth's 500).
async fn delete_auth_user(app: &App, caller: &Caller, id: uuid::Uuid) -> Result<(), ApiError> {
    let failure = match supabase_auth::admin_delete_user(app, caller, id).await {
        Ok(()) => return Ok(()),
        Err(failure) => ApiError::from(failure),
    };
    if failure.code == shared::base::error::ErrorCode::NotFound {
        return Err(failure);
    }
    let Some(service) = app.db.as_service(caller) else {
        return Err(failure);
    };
    let blockers: Result<Vec<WorkspaceRef>, ApiError> = postgrest::call(
        service.rpc(&crate::sql::AccountDeletionBlockers { p_user: id })?,
        "User",
    )
    .await;
    match blockers {
        Ok(workspaces) if !workspaces.is_empty() => Err(ApiError::last_admin(workspaces)),
        _ => Err(failure),
    }
}
