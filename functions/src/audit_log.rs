//! GET /audit-log?page=&pageSize=: admins; security events, newest first.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::auth::permissions::Role;
use shared::pipeline::typed::{Listed, Paging};
use shared::{clients::postgrest, ApiError, App, SignedIn};
use uuid::Uuid;

/// One audit event; repeats of the same refusal are coalesced (`occurrences`).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all(serialize = "camelCase"))]
#[schema(as = AuditEntry, rename_all = "camelCase")]
pub struct Entry {
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

pub async fn list(
    app: App,
    caller: SignedIn,
    Paging(query): Paging,
) -> Result<Listed<Entry>, ApiError> {
    let user = &caller.user;
    if user.role() != Role::Admin {
        return Err(ApiError::forbidden("Only admins may read the audit log"));
    }
    // One call of list_audit_log (admins in user_roles now; a bounded count).
    let (from, to) = query.range();
    let page: postgrest::RpcPage<Entry> = postgrest::call(
        app.db.as_user(&caller).rpc(&crate::sql::ListAuditLog {
            p_limit: to - from + 1,
            p_offset: from,
        })?,
        "Audit log",
    )
    .await?;
    Ok(Listed::new(query, page.into()))
}
