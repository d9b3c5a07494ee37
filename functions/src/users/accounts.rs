//! Accounts through Supabase Auth's admin API: POST /users (with its undo) and DELETE
//! /users/{id}.

use lambda_http::Request;
use serde::{Deserialize, Serialize};
use shared::auth::permissions::{self, Permission, Role};
use shared::clients::supabase_auth;
use shared::pipeline::input;
use shared::pipeline::response::{self, ApiResult};
use shared::policy::audit::{self, AuditEvent};
use shared::{clients::postgrest, ApiError, App, SignedIn};
use utoipa::ToSchema;
use validator::Validate;

use crate::validate;

use super::{Profile, ProfileRow};

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewUser {
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

/// A user just created: the profile and the role given.
#[derive(Serialize, ToSchema)]
pub(crate) struct CreatedUser {
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
/// duplicate still running 409) and released when the create fails.
pub async fn create(app: App, caller: SignedIn, req: Request) -> ApiResult {
    let user = &caller.user;
    user.require(Permission::UsersWrite)?;
    let new: NewUser = input::json_body(&req)?;
    // The Auth admin API runs as the service role: the database cannot check the
    // caller there, so ask it first.
    permissions::confirm(&app, user, Permission::UsersWrite).await?;
    let email = new.email.to_lowercase();
    let keyed = user.idempotency_key().is_some();
    if keyed {
        let request = serde_json::json!({ "email": email, "name": new.name, "role": new.role });
        let first: Option<FinishedUser> = postgrest::call(
            app.db.as_user(user).rpc(
                "claim_idempotency_key",
                &serde_json::json!({ "p_operation": "create_user", "p_request": request }),
            )?,
            "User",
        )
        .await?;
        if let Some(first) = first {
            return answer(first);
        }
    }
    let finished = async {
        let id = supabase_auth::admin_create_user(
            &app,
            &email,
            serde_json::json!({ "full_name": new.name }),
        )
        .await?;
        let finish = postgrest::call::<FinishedUser>(
            app.db.as_user(user).rpc(
                "finish_user_creation",
                &serde_json::json!({ "p_id": id, "p_role": new.role, "p_name": new.name }),
            )?,
            "User",
        )
        .await;
        if finish.is_err() {
            let _ = supabase_auth::admin_delete_user(&app, id).await;
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
                    .as_user(user)
                    .rpc("release_idempotency_key", &serde_json::json!({}));
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
    answer(finished)
}

fn answer(finished: FinishedUser) -> ApiResult {
    response::created(&CreatedUser {
        profile: finished.row.into(),
        role: finished.role,
    })
}

/// DELETE /users/{id}: through the Auth admin API (the profile, role and posts go with
/// the auth user, by cascade).
pub async fn delete(app: App, caller: SignedIn, req: Request) -> ApiResult {
    let user = &caller.user;
    user.require(Permission::UsersDelete)?;
    let id = input::path_id(&req, "id", "User")?;
    if id == user.id {
        return Err(ApiError::forbidden(
            "You cannot delete your own account here",
        ));
    }
    // Runs as the service role: confirm the caller's role in the database first.
    permissions::confirm(&app, user, Permission::UsersDelete).await?;
    supabase_auth::admin_delete_user(&app, id).await?;
    let event = AuditEvent::new("USER_DELETED", &caller)
        .actor(user.id)
        .target(format!("user:{id}"));
    audit::record(&app, event).await;
    response::no_content()
}
