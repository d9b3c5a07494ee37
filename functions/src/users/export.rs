//! GET /me/export?part=&page=&pageSize=: a copy of everything the caller owns or wrote,
//! one part a page at a time, so that no answer of a large account nears Lambda's 6 MB
//! response limit (at most [`EXPORT_MAX_PAGE_SIZE`] items: 50 posts of the longest body
//! are about 4 MB of JSON).
//!
//! One call of `export_my_data` (supabase/migrations/20261208000400_export_my_data.sql)
//! per page; the `account` part (the default) counts the items of every other part, so
//! a client knows how many pages to ask for. Ready uploads come with a fresh download URL,
//! presigned here (no request to S3).

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use shared::auth::permissions::Role;
use shared::pipeline::input::{self, PageQuery};
use shared::pipeline::typed::{ListedAs, Query};
use shared::{clients::postgrest, ApiError, App, SignedIn};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::workspace_role::WorkspaceRole;
use crate::{audit_log, posts, projects, uploads};

/// Most items in one page of an export.
pub const EXPORT_MAX_PAGE_SIZE: u32 = 50;

/// The parts of an export.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ExportPart {
    /// Email, phone, role, sign-up and sign-in times, the profile, and how many items
    /// each other part has (one item).
    #[default]
    Account,
    /// Every workspace the user belongs to, with their role.
    Memberships,
    /// The workspaces the user administers.
    Workspaces,
    /// The projects the user created, in workspaces they still belong to.
    Projects,
    /// The user's posts, drafts included.
    Posts,
    /// The user's uploads; each ready one with a fresh download URL.
    Uploads,
    /// The audit events the user is the actor of.
    Audit,
}

impl ExportPart {
    pub const ALL: [ExportPart; 7] = [
        Self::Account,
        Self::Memberships,
        Self::Workspaces,
        Self::Projects,
        Self::Posts,
        Self::Uploads,
        Self::Audit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Account => "account",
            Self::Memberships => "memberships",
            Self::Workspaces => "workspaces",
            Self::Projects => "projects",
            Self::Posts => "posts",
            Self::Uploads => "uploads",
            Self::Audit => "audit",
        }
    }
}

/// GET /me/export's query.
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// Which part (default `account`).
    #[param(inline)]
    part: Option<ExportPart>,
    /// The page of the part, from 1.
    #[serde(default = "first_page")]
    #[validate(range(min = 1, max = 100000, message = "must be between 1 and 100000"))]
    #[param(minimum = 1, maximum = 100000, default = 1)]
    page: u32,
    /// Items per page.
    #[serde(default = "default_page_size")]
    #[validate(range(min = 1, max = 50, message = "must be between 1 and 50"))]
    #[param(minimum = 1, maximum = 50, default = 20)]
    page_size: u32,
}

fn first_page() -> u32 {
    1
}

fn default_page_size() -> u32 {
    input::DEFAULT_PAGE_SIZE.min(EXPORT_MAX_PAGE_SIZE)
}

/// The account part's one item.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all(serialize = "camelCase"))]
#[schema(as = ExportedAccount, rename_all = "camelCase")]
pub struct Account {
    id: Uuid,
    email: Option<String>,
    phone: Option<String>,
    /// The app role (`user_roles`).
    role: Role,
    created_at: DateTime<Utc>,
    email_confirmed_at: Option<DateTime<Utc>>,
    last_sign_in_at: Option<DateTime<Utc>>,
    profile: ExportedProfile,
    /// How many items each other part has.
    counts: ExportCounts,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all(serialize = "camelCase"))]
#[schema(rename_all = "camelCase")]
pub struct ExportedProfile {
    name: Option<String>,
    bio: Option<String>,
    website: Option<String>,
    public_profile: bool,
    created_at: Option<DateTime<Utc>>,
    updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ExportCounts {
    memberships: u64,
    workspaces: u64,
    projects: u64,
    posts: u64,
    uploads: u64,
    audit: u64,
}

/// A workspace the user belongs to.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all(serialize = "camelCase"))]
#[schema(as = ExportedMembership, rename_all = "camelCase")]
pub struct Membership {
    workspace_id: Uuid,
    workspace_name: String,
    role: WorkspaceRole,
    joined_at: DateTime<Utc>,
}

/// A workspace the user administers.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all(serialize = "camelCase"))]
#[schema(as = ExportedWorkspace, rename_all = "camelCase")]
pub struct Workspace {
    id: Uuid,
    name: String,
    created_by: Option<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// Its members, the user included.
    members: u64,
}

/// One page of a part: which part, and its items.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "part", content = "items", rename_all = "camelCase")]
#[schema(as = ExportPage)]
pub enum ExportItems {
    Account(Vec<Account>),
    Memberships(Vec<Membership>),
    Workspaces(Vec<Workspace>),
    Projects(Vec<projects::Project>),
    Posts(Vec<posts::Post>),
    Uploads(Vec<uploads::Upload>),
    Audit(Vec<audit_log::Entry>),
}

/// GET /me/export: one page of one part.
pub async fn export(
    app: App,
    caller: SignedIn,
    Query(query): Query<ExportQuery>,
) -> Result<ListedAs<ExportItems>, ApiError> {
    let paging = PageQuery {
        page: query.page,
        page_size: query.page_size,
    };
    let part = query.part.unwrap_or_default();
    let (items, total) = match part {
        ExportPart::Account => fetch(&app, &caller, part, &paging)
            .await
            .map(|p| (ExportItems::Account(p.items), p.total))?,
        ExportPart::Memberships => fetch(&app, &caller, part, &paging)
            .await
            .map(|p| (ExportItems::Memberships(p.items), p.total))?,
        ExportPart::Workspaces => fetch(&app, &caller, part, &paging)
            .await
            .map(|p| (ExportItems::Workspaces(p.items), p.total))?,
        ExportPart::Projects => fetch(&app, &caller, part, &paging)
            .await
            .map(|p| (ExportItems::Projects(p.items), p.total))?,
        ExportPart::Posts => fetch(&app, &caller, part, &paging)
            .await
            .map(|p| (ExportItems::Posts(p.items), p.total))?,
        ExportPart::Uploads => {
            let page = fetch(&app, &caller, part, &paging).await?;
            let items = uploads::with_downloads(&app, page.items).await?;
            (ExportItems::Uploads(items), page.total)
        }
        ExportPart::Audit => fetch(&app, &caller, part, &paging)
            .await
            .map(|p| (ExportItems::Audit(p.items), p.total))?,
    };
    Ok(ListedAs {
        query: paging,
        data: items,
        total,
    })
}

/// One page of `part` from `export_my_data`, its rows as `T`.
async fn fetch<T: DeserializeOwned>(
    app: &App,
    caller: &SignedIn,
    part: ExportPart,
    paging: &PageQuery,
) -> Result<postgrest::RpcPage<T>, ApiError> {
    let (from, to) = paging.range();
    postgrest::call(
        app.db.as_user(caller).rpc(&crate::sql::ExportMyData {
            p_part: part.as_str().to_owned(),
            p_limit: to - from + 1,
            p_offset: from,
        })?,
        "Account",
    )
    .await
}
