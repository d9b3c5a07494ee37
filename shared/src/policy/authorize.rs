//! The database's word on a permission, for actions it cannot check itself.

use crate::auth::permissions::Permission;
use crate::auth::SignedIn;
use crate::base::error::ApiError;
use crate::clients::{postgrest, App};

/// Fast deny from the token, then the database's word (`authorize()` reads
/// `user_roles`): for actions the database cannot check itself, such as calls to the
/// Auth admin API with the service role, or deciding what a response may show.
pub async fn confirm(app: &App, caller: &SignedIn, permission: Permission) -> Result<(), ApiError> {
    caller.user.require(permission)?;
    let allowed: bool = postgrest::one(
        app.db
            .as_user(caller)
            .rpc(&crate::clients::sql::Authorize {
                requested_permission: permission,
            })?,
        "Permission",
    )
    .await?;
    if allowed {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "This needs the {} permission",
            permission.as_str()
        )))
    }
}
