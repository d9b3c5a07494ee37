//! POST /logout[?scope=global|local|others] (the user's bearer token): GoTrue's Logout
//! ends this session, all of the user's sessions or all others; 204.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;

use super::config::Api;
use super::db::as_auth_admin;
use super::error::{err, ApiError};
use super::http::{no_content, Params};
use super::sessions::Authenticated;

pub async fn logout(
    State(api): State<Arc<Api>>,
    Authenticated { user, session_id }: Authenticated,
    params: Params,
) -> Result<Response, ApiError> {
    let scope = params.get("scope").unwrap_or_default();
    let mut conn = api.db.get().await?;
    let tx = conn.begin().await?;
    as_auth_admin(&tx).await?;
    match (scope.as_str(), session_id) {
        ("local", Some(id)) => {
            tx.execute("delete from auth.sessions where id = $1", &[&id])
                .await?;
        }
        ("others", Some(id)) => {
            let sql = "delete from auth.sessions where user_id = $1 and id <> $2";
            tx.execute(sql, &[&user.id, &id]).await?;
        }
        // Global, and any scope of a token without a session.
        ("" | "global" | "local" | "others", _) => {
            tx.execute(
                "delete from auth.refresh_tokens where user_id = $1",
                &[&user.id],
            )
            .await?;
            tx.execute("delete from auth.sessions where user_id = $1", &[&user.id])
                .await?;
        }
        (other, _) => {
            let msg = format!("Unsupported logout scope {other:?}");
            return Err(err(400, "validation_failed", msg));
        }
    }
    tx.commit().await?;
    Ok(no_content())
}
