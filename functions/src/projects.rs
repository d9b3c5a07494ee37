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
use serde::{Deserialize, Serialize};
use shared::clients::postgrest::Table;
use shared::pipeline::contract::Example;
use shared::pipeline::input;
use shared::pipeline::typed::{Created, Data, Filtered, Json, Listed, NoContent};
use shared::{clients::postgrest, ApiError, App, SignedIn};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::validate;

const COLUMNS: &str = "id,workspace_id,name,description,created_by,created_at,updated_at";
const PROJECTS: Table = Table {
    name: "projects",
    columns: COLUMNS,
    what: "Project",
};

/// A project as stored (snake_case from PostgREST) and as answered (camelCase).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all(serialize = "camelCase"))]
#[schema(rename_all = "camelCase")]
pub struct Project {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

shared::path_id!(
    /// `{id}` of /projects/{id}.
    ProjectId,
    "id",
    "Project"
);

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewProject {
    #[serde(deserialize_with = "input::trimmed")]
    #[validate(custom(function = "validate::short_name"))]
    #[schema(schema_with = validate::schema::short_name)]
    name: String,
    #[validate(custom(function = "validate::description"))]
    #[schema(schema_with = validate::schema::description_or_null)]
    description: Option<String>,
    workspace_id: Uuid,
}

impl Example for NewProject {
    const EXAMPLE: &'static str = concat!(
        r#"{"name":"Launch","description":"First project","#,
        r#""workspaceId":"00000000-0000-4000-8000-000000000100"}"#
    );
}

/// At least one field; absent fields are unchanged.
#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(min_properties = 1)]
pub struct ProjectChanges {
    #[serde(default, deserialize_with = "input::trimmed_option")]
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(custom(function = "validate::short_name"))]
    #[schema(schema_with = validate::schema::short_name)]
    name: Option<String>,
    /// Absent: unchanged. `null`: cleared.
    #[serde(default, deserialize_with = "input::present")]
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(custom(function = "validate::description"))]
    #[schema(schema_with = validate::schema::description_or_null)]
    description: Option<Option<String>>,
}

impl Example for ProjectChanges {
    const EXAMPLE: &'static str = r#"{"name":"Launch v2"}"#;
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this workspace's projects (404 if the caller is not a member).
    workspace_id: Option<Uuid>,
}

/// POST /projects: one call of `create_project`, which checks the caller's role in the
/// workspace (404 outside it, 403 below editor) and inserts, in one transaction.
pub async fn create(
    app: App,
    caller: SignedIn,
    Json(new): Json<NewProject>,
) -> Result<Created<Project>, ApiError> {
    let project: Project = postgrest::call(
        app.db.as_user(&caller).rpc(&crate::sql::CreateProject {
            p_workspace_id: new.workspace_id,
            p_name: new.name,
            p_description: new.description,
        })?,
        "Workspace",
    )
    .await?;
    Ok(Created(project))
}

/// GET /projects?workspaceId=&page=&pageSize=: newest first. Without workspaceId, the
/// projects of every workspace the caller belongs to. One call of `list_projects`
/// (404 for a workspace the caller is not in).
pub async fn list(
    app: App,
    caller: SignedIn,
    Filtered(query, page_query): Filtered<ListQuery>,
) -> Result<Listed<Project>, ApiError> {
    let (from, to) = page_query.range();
    // A stable function: PostgREST runs it read-only, and the request gate counts nothing.
    let page: postgrest::RpcPage<Project> = postgrest::call(
        app.db.as_user(&caller).rpc(&crate::sql::ListProjects {
            p_workspace_id: query.workspace_id,
            p_limit: to - from + 1,
            p_offset: from,
        })?,
        "Workspace",
    )
    .await?;
    Ok(Listed::new(page_query, page.into()))
}

/// GET /projects/{id}
pub async fn get(
    app: App,
    caller: SignedIn,
    ProjectId(id): ProjectId,
) -> Result<Data<Project>, ApiError> {
    let project: Project = app.db.as_user(&caller).find(&PROJECTS, id).await?;
    Ok(Data(project))
}

/// PATCH /projects/{id}: name and/or description, in one call of `update_project`
/// (404 for a project the caller cannot see, 403 below editor).
pub async fn update(
    app: App,
    caller: SignedIn,
    ProjectId(id): ProjectId,
    Json(changes): Json<ProjectChanges>,
) -> Result<Data<Project>, ApiError> {
    let fields = input::changes(&changes)?;
    let project: Project = postgrest::call(
        app.db.as_user(&caller).rpc(&crate::sql::UpdateProject {
            p_id: id,
            p_changes: serde_json::Value::Object(fields),
        })?,
        "Project",
    )
    .await?;
    Ok(Data(project))
}

/// DELETE /projects/{id}: workspace admins only, in one call of `delete_project`.
pub async fn delete(
    app: App,
    caller: SignedIn,
    ProjectId(id): ProjectId,
) -> Result<NoContent, ApiError> {
    postgrest::exec(
        app.db
            .as_user(&caller)
            .rpc(&crate::sql::DeleteProject { p_id: id })?,
        "Project",
    )
    .await?;
    Ok(NoContent)
}
