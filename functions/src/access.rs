//! The caller's role in a workspace, for the fast deny before a write. Postgres RLS
//! enforces the same rules again on the write itself.

use serde::{Deserialize, Serialize};
use shared::{db, ApiError, App, AuthUser};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkspaceRole {
    Admin,
    Editor,
    Member,
}

#[derive(Deserialize)]
struct Membership {
    role: WorkspaceRole,
}

/// The caller's role in the workspace: 404 when they are not a member (a workspace
/// they cannot see does not exist for them), 403 when the role is not in `allowed`.
pub async fn require_workspace_role(
    app: &App,
    user: &AuthUser,
    workspace_id: Uuid,
    allowed: &[WorkspaceRole],
) -> Result<WorkspaceRole, ApiError> {
    let rows: Vec<Membership> = db::many(
        app.db
            .as_user(user)
            .table("workspace_members")
            .select("role")
            .eq("workspace_id", workspace_id.to_string())
            .eq("user_id", user.id.to_string()),
    )
    .await?;
    let role = rows
        .first()
        .map(|m| m.role)
        .ok_or_else(|| ApiError::not_found("Workspace"))?;
    if allowed.contains(&role) {
        Ok(role)
    } else {
        Err(ApiError::forbidden(
            "Your role in this workspace does not allow this",
        ))
    }
}
