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

use super::{Profile, ProfileRow, PROFILE_COLUMNS};

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

/// POST /users: the auth user through Supabase Auth's admin API, then role and profile
/// as the calling admin (RLS: users.write). If those fail, the auth user is removed
/// again: nothing is half-created.
pub async fn create(app: App, caller: SignedIn, req: Request) -> ApiResult {
    let user = &caller.user;
    user.require(Permission::UsersWrite)?;
    let new: NewUser = input::json_body(&req)?;
    // The Auth admin API runs as the service role: the database cannot check the
    // caller there, so ask it first.
    permissions::confirm(&app, user, Permission::UsersWrite).await?;
    let email = new.email.to_lowercase();
    let id = supabase_auth::admin_create_user(
        &app,
        &email,
        serde_json::json!({ "full_name": new.name }),
    )
    .await?;

    let finish = async {
        let changed: Vec<serde_json::Value> = postgrest::many(
            app.db
                .as_user(user)
                .table("user_roles")
                .eq("user_id", id.to_string())
                .update(postgrest::body(&serde_json::json!({ "role": new.role }))?),
        )
        .await?;
        if changed.len() != 1 {
            return Err(ApiError::forbidden("This needs the users.write permission"));
        }
        postgrest::one::<ProfileRow>(
            app.db
                .as_user(user)
                .table("profiles")
                .eq("id", id.to_string())
                .update(postgrest::body(
                    &serde_json::json!({ "full_name": new.name }),
                )?)
                .select(PROFILE_COLUMNS),
            "Profile",
        )
        .await
    };
    let row = match finish.await {
        Ok(row) => row,
        Err(e) => {
            let _ = supabase_auth::admin_delete_user(&app, id).await;
            return Err(e);
        }
    };
    let event = AuditEvent::new("USER_CREATED", &caller)
        .actor(user.id)
        .target(format!("user:{id}"))
        .metadata(serde_json::json!({ "role": new.role }));
    audit::record(&app, event).await;
    response::created(&CreatedUser {
        profile: row.into(),
        role: new.role,
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
