//! Projects inside a workspace.
//!
//! POST   /projects                                   workspace admin or editor
//! GET    /projects?workspaceId=&page=&pageSize=      workspace members
//! GET    /projects/{id}                              workspace members
//! PATCH  /projects/{id}                              workspace admin or editor
//! DELETE /projects/{id}                              workspace admin
//!
//! A project in a workspace the caller is not a member of is 404, never 403, so ids
//! cannot be probed.

use chrono::{DateTime, Utc};
use lambda_http::Request;
use serde::{Deserialize, Serialize};
use shared::input::{self, PageQuery};
use shared::response::{self, ApiResult};
use shared::{db, App, AuthUser, Caller};
use uuid::Uuid;
use validator::Validate;

use crate::access::{require_workspace_role, WorkspaceRole};

const COLUMNS: &str = "id,workspace_id,name,description,created_by,created_at,updated_at";
const WRITERS: &[WorkspaceRole] = &[WorkspaceRole::Admin, WorkspaceRole::Editor];

/// A project as stored (snake_case from PostgREST) and as answered (camelCase).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all(serialize = "camelCase"))]
pub struct Project {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NewProject {
    #[validate(
        length(min = 1, max = 100, message = "must be 1 to 100 characters"),
        custom(function = "input::plain_text")
    )]
    name: String,
    #[validate(
        length(max = 1000, message = "must be at most 1000 characters"),
        custom(function = "input::free_text")
    )]
    description: Option<String>,
    workspace_id: Uuid,
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ProjectChanges {
    #[serde(default)]
    #[validate(
        length(min = 1, max = 100, message = "must be 1 to 100 characters"),
        custom(function = "input::plain_text")
    )]
    name: Option<String>,
    /// Absent: unchanged. `null`: cleared.
    #[serde(default, deserialize_with = "input::present")]
    #[validate(
        length(max = 1000, message = "must be at most 1000 characters"),
        custom(function = "input::free_text")
    )]
    description: Option<Option<String>>,
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ListQuery {
    workspace_id: Option<Uuid>,
}

/// POST /projects
pub async fn create(app: App, caller: Caller, req: Request) -> ApiResult {
    let user = caller.user()?;
    let new: NewProject = input::json_body(&req)?;
    require_workspace_role(&app, user, new.workspace_id, WRITERS).await?;
    let body = db::body(&serde_json::json!({
        "workspace_id": new.workspace_id,
        "name": new.name.trim(),
        "description": new.description,
    }))?;
    let project: Project = db::one(
        app.db
            .as_user(user)
            .table("projects")
            .insert(body)
            .select(COLUMNS),
        "Project",
    )
    .await?;
    response::created(&project)
}

/// GET /projects?workspaceId=&page=&pageSize=: newest first. Without workspaceId, the
/// projects of every workspace the caller belongs to.
pub async fn list(app: App, caller: Caller, req: Request) -> ApiResult {
    let user = caller.user()?;
    let (query, page_query): (ListQuery, PageQuery) = input::paged_query(&req)?;
    let mut builder = app
        .db
        .as_user(user)
        .table("projects")
        .select(COLUMNS)
        .order("created_at.desc,id.desc");
    if let Some(workspace_id) = query.workspace_id {
        let all = [
            WorkspaceRole::Admin,
            WorkspaceRole::Editor,
            WorkspaceRole::Member,
        ];
        require_workspace_role(&app, user, workspace_id, &all).await?;
        builder = builder.eq("workspace_id", workspace_id.to_string());
    }
    let page = db::page::<Project>(builder, &page_query).await?;
    response::page(&page_query, &page)
}

/// GET /projects/{id}
pub async fn get(app: App, caller: Caller, req: Request) -> ApiResult {
    let user = caller.user()?;
    let id = input::path_id(&req, "id", "Project")?;
    let project = find(&app, user, id).await?;
    response::ok(&project)
}

/// PATCH /projects/{id}: name and/or description.
pub async fn update(app: App, caller: Caller, req: Request) -> ApiResult {
    let user = caller.user()?;
    let id = input::path_id(&req, "id", "Project")?;
    let changes: ProjectChanges = input::json_body(&req)?;
    let mut fields = serde_json::Map::new();
    if let Some(name) = &changes.name {
        fields.insert("name".into(), name.trim().into());
    }
    if let Some(description) = &changes.description {
        fields.insert("description".into(), description.clone().into());
    }
    if fields.is_empty() {
        return Err(input::empty_patch());
    }
    let current = find(&app, user, id).await?;
    require_workspace_role(&app, user, current.workspace_id, WRITERS).await?;
    let project: Project = db::one(
        app.db
            .as_user(user)
            .table("projects")
            .eq("id", id.to_string())
            .update(db::body(&fields)?)
            .select(COLUMNS),
        "Project",
    )
    .await?;
    response::ok(&project)
}

/// DELETE /projects/{id}: workspace admins only.
pub async fn delete(app: App, caller: Caller, req: Request) -> ApiResult {
    let user = caller.user()?;
    let id = input::path_id(&req, "id", "Project")?;
    let current = find(&app, user, id).await?;
    require_workspace_role(&app, user, current.workspace_id, &[WorkspaceRole::Admin]).await?;
    let _deleted: Project = db::one(
        app.db
            .as_user(user)
            .table("projects")
            .eq("id", id.to_string())
            .delete()
            .select(COLUMNS),
        "Project",
    )
    .await?;
    response::no_content()
}

/// The project if the caller can see it (RLS: a member of its workspace), else 404.
async fn find(app: &App, user: &AuthUser, id: Uuid) -> Result<Project, shared::ApiError> {
    db::one(
        app.db
            .as_user(user)
            .table("projects")
            .select(COLUMNS)
            .eq("id", id.to_string()),
        "Project",
    )
    .await
}
