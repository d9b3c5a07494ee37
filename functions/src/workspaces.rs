//! Workspaces and their members.
//!
//! POST /workspaces                          create; the creator becomes its admin
//! GET  /workspaces                          the caller's workspaces with their role
//! POST /workspaces/{id}/members             admin: add a member
//! DELETE /workspaces/{id}/members/{userId}  admin: remove a member

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::pipeline::contract::Example;
use shared::pipeline::input;
use shared::pipeline::typed::{Created, Json, Listed, NoContent, Paging};
use shared::{clients::postgrest, ApiError, App, SignedIn};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::validate;

use crate::workspace_role::WorkspaceRole;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWorkspace {
    #[serde(deserialize_with = "input::trimmed")]
    #[validate(custom(function = "validate::short_name"))]
    #[schema(schema_with = validate::schema::short_name)]
    name: String,
}

impl Example for NewWorkspace {
    const EXAMPLE: &'static str = r#"{"name":"Acme"}"#;
}

shared::path_id!(
    /// `{id}` of /workspaces/{id}/...
    WorkspaceId,
    "id",
    "Workspace"
);
shared::path_id!(
    /// `{userId}` of /workspaces/{id}/members/{userId}.
    MemberId,
    "userId",
    "Member"
);

#[derive(Debug, Deserialize)]
struct WorkspaceRow {
    id: Uuid,
    name: String,
    created_by: Option<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    #[serde(default)]
    workspace_members: Vec<RoleRow>,
}

#[derive(Debug, Deserialize)]
struct RoleRow {
    role: WorkspaceRole,
}

/// A workspace with the caller's role in it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Workspace {
    id: Uuid,
    name: String,
    created_by: Option<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    role: WorkspaceRole,
}

impl WorkspaceRow {
    fn into_workspace(self, role: WorkspaceRole) -> Workspace {
        Workspace {
            id: self.id,
            name: self.name,
            created_by: self.created_by,
            created_at: self.created_at,
            updated_at: self.updated_at,
            role,
        }
    }
}

/// POST /workspaces: one transaction in SQL (create_workspace) creates the workspace and
/// makes the caller its admin.
pub async fn create(
    app: App,
    caller: SignedIn,
    Json(new): Json<NewWorkspace>,
) -> Result<Created<Workspace>, ApiError> {
    let row: WorkspaceRow = postgrest::one(
        app.db
            .as_user(&caller)
            .rpc(&crate::sql::CreateWorkspace { name: new.name })?,
        "Workspace",
    )
    .await?;
    Ok(Created(row.into_workspace(WorkspaceRole::Admin)))
}

/// GET /workspaces?page=&pageSize=: the workspaces the caller belongs to, newest first.
pub async fn list(
    app: App,
    caller: SignedIn,
    Paging(query): Paging,
) -> Result<Listed<Workspace>, ApiError> {
    let user = &caller.user;
    let page = postgrest::page::<WorkspaceRow>(
        app.db
            .as_user(&caller)
            .table("workspaces")
            .select("id,name,created_by,created_at,updated_at,workspace_members!inner(role)")
            .eq("workspace_members.user_id", user.id.to_string())
            .order("created_at.desc,id.desc"),
        &query,
    )
    .await?;
    let items = page
        .items
        .into_iter()
        .filter_map(|row| {
            let role = row.workspace_members.first()?.role;
            Some(row.into_workspace(role))
        })
        .collect();
    Ok(Listed::new(
        query,
        shared::pipeline::response::Page {
            items,
            total: page.total,
        },
    ))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewMember {
    user_id: Uuid,
    role: WorkspaceRole,
}

impl Example for NewMember {
    const EXAMPLE: &'static str =
        r#"{"userId":"00000000-0000-4000-8000-000000000002","role":"editor"}"#;
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all(serialize = "camelCase"))]
#[schema(rename_all = "camelCase")]
pub struct Member {
    workspace_id: Uuid,
    user_id: Uuid,
    role: WorkspaceRole,
    created_at: DateTime<Utc>,
}

/// POST /workspaces/{id}/members: admins add an existing user with a role.
pub async fn add_member(
    app: App,
    caller: SignedIn,
    WorkspaceId(workspace_id): WorkspaceId,
    Json(new): Json<NewMember>,
) -> Result<Created<Member>, ApiError> {
    // One call: admin of the workspace (404 outside it, 403 below admin), the insert.
    let member: Member = postgrest::call(
        app.db
            .as_user(&caller)
            .rpc(&crate::sql::AddWorkspaceMember {
                p_workspace_id: workspace_id,
                p_user_id: new.user_id,
                p_role: new.role,
            })?,
        "Workspace",
    )
    .await
    .map_err(|e| {
        if e.is_foreign_key_violation() {
            ApiError::invalid_field("userId", "does not name an existing user")
        } else if e.code == shared::base::error::ErrorCode::Conflict {
            ApiError::conflict("This user is already a member of the workspace")
        } else {
            e
        }
    })?;
    Ok(Created(member))
}

/// DELETE /workspaces/{id}/members/{userId}: admins remove a member; the last admin stays.
pub async fn remove_member(
    app: App,
    caller: SignedIn,
    WorkspaceId(workspace_id): WorkspaceId,
    MemberId(member_id): MemberId,
) -> Result<NoContent, ApiError> {
    // One call: admin of the workspace (404 outside it, 403 below admin), the delete
    // (404 for someone not in it, 409 for its last admin).
    postgrest::exec(
        app.db
            .as_user(&caller)
            .rpc(&crate::sql::RemoveWorkspaceMember {
                p_workspace_id: workspace_id,
                p_user_id: member_id,
            })?,
        "Member",
    )
    .await
    .map_err(|e| {
        if e.upstream_code.as_deref() == Some("PT409") {
            ApiError::conflict("A workspace must keep at least one admin")
        } else {
            e
        }
    })?;
    Ok(NoContent)
}
