//! The signed-in user's own sessions (one per sign-in, on each device), as Supabase Auth
//! keeps them in auth.sessions:
//!
//! GET    /me/sessions?page=&pageSize=  newest first; which one is this request's
//! DELETE /me/sessions/{id}             ends one; its access tokens are refused from
//!                                      their next request, its refresh token is gone
//!
//! One call each (`list_my_sessions`, `revoke_my_session`): the database reads and ends
//! only the caller's own sessions and audits the revocation (SESSION_REVOKED). Signing
//! out of this session, of all, or of all others is `POST /auth/sign-out?scope=`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::pipeline::typed::{Listed, NoContent, Paging};
use shared::{clients::postgrest, ApiError, App, SignedIn};
use uuid::Uuid;

/// A session: where and when the user signed in.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = UserSession)]
pub struct Session {
    id: Uuid,
    /// When the user signed in.
    created_at: DateTime<Utc>,
    /// When Supabase Auth last refreshed it (else when it was created).
    last_active_at: DateTime<Utc>,
    /// The browser or app, as Supabase Auth recorded it at sign-in or refresh.
    #[schema(max_length = 512)]
    user_agent: Option<String>,
    /// The client's address, as Supabase Auth recorded it.
    ip: Option<String>,
    /// Authenticator assurance level: aal1, or aal2 after a second factor.
    aal: Option<String>,
    /// When a time-boxed session ends, if it does.
    not_after: Option<DateTime<Utc>>,
    /// This request's own session.
    current: bool,
}

/// GET /me/sessions?page=&pageSize=
pub async fn list(
    app: App,
    caller: SignedIn,
    Paging(query): Paging,
) -> Result<Listed<Session>, ApiError> {
    let (from, to) = query.range();
    let page: postgrest::RpcPage<Session> = postgrest::call(
        app.db.as_user(&caller).rpc(&crate::sql::ListMySessions {
            p_limit: to - from + 1,
            p_offset: from,
        })?,
        "Sessions",
    )
    .await?;
    Ok(Listed::new(query, page.into()))
}

shared::path_id!(
    /// `{id}` of /me/sessions/{id}.
    SessionId,
    "id",
    "Session"
);

/// DELETE /me/sessions/{id}: 204; 404 for an id that is not one of the caller's sessions.
pub async fn revoke(
    app: App,
    caller: SignedIn,
    SessionId(id): SessionId,
) -> Result<NoContent, ApiError> {
    postgrest::exec(
        app.db
            .as_user(&caller)
            .rpc(&crate::sql::RevokeMySession { p_id: id })?,
        "Session",
    )
    .await?;
    Ok(NoContent)
}
