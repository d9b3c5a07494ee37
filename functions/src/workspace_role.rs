//! Workspace roles. Who may do what inside a workspace is decided in Postgres, in the
//! same request as the read or write: `private.require_workspace_role` (migration
//! 20261202000000) answers PT404 outside the workspace and PT403 for a role too low, and
//! row-level security applies again to every row.

use serde::{Deserialize, Serialize};

/// A member's role inside one workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WorkspaceRole {
    Admin,
    Editor,
    Member,
}
