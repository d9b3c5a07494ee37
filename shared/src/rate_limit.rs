//! Counting hits against a limit in Postgres (where every Lambda instance meets), via
//! the service role: `public.hit_rate_limit(key, limit, window)` is one atomic
//! fixed-window upsert. Used by the sign-in route per address and per email.

use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
use crate::App;

#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub max: u32,
    pub window_seconds: u32,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    pub allowed: bool,
    pub retry_after: u64,
}

/// Counts one hit on `key`: Ok when within the limit, 429 with Retry-After when over.
/// Without a service role key, or with Postgres unreachable, it fails closed (503):
/// the routes using it guard credentials.
pub async fn hit(app: &App, key: &str, limit: Limit) -> Result<(), ApiError> {
    let service = app
        .db
        .as_service()
        .ok_or_else(|| ApiError::unavailable("rate limit: no service role key configured"))?;
    let builder = service.rpc(
        "hit_rate_limit",
        &json!({ "p_key": key, "p_limit": limit.max, "p_window_seconds": limit.window_seconds }),
    )?;
    let decision: Decision =
        crate::db::one(builder, "Rate limit")
            .await
            .map_err(|e| match e.code {
                crate::error::ErrorCode::ServiceUnavailable => e,
                _ => ApiError::unavailable("rate limit: counter call failed"),
            })?;
    if decision.allowed {
        Ok(())
    } else {
        Err(ApiError::rate_limited(decision.retry_after))
    }
}
