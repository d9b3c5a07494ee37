//! GET /audit-log?page=&pageSize=: admins; security events, newest first.

use chrono::{DateTime, Utc};
use lambda_http::Request;
use serde::{Deserialize, Serialize};
use shared::input::{self, PageQuery};
use shared::rbac::Role;
use shared::response::{self, ApiResult};
use shared::{db, ApiError, App, Caller};
use uuid::Uuid;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all(serialize = "camelCase"))]
struct Entry {
    id: Uuid,
    actor_id: Option<Uuid>,
    action: String,
    target: Option<String>,
    metadata: serde_json::Value,
    ip: Option<String>,
    user_agent: Option<String>,
    occurrences: i32,
    created_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
}

pub async fn list(app: App, caller: Caller, req: Request) -> ApiResult {
    let user = caller.user()?;
    if user.role() != Role::Admin {
        return Err(ApiError::forbidden("Only admins may read the audit log"));
    }
    let query: PageQuery = input::query(&req)?;
    let page = db::page::<Entry>(
        app.db
            .as_user(user)
            .table("audit_log")
            .select("id,actor_id,action,target,metadata,ip,user_agent,occurrences,created_at,last_seen_at")
            .order("created_at.desc,id.desc"),
        &query,
    )
    .await?;
    response::page(&query, &page)
}
