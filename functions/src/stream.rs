//! GET /stream?count=&intervalMs=&heartbeatMs=: server-sent events through Lambda
//! response streaming (a Function URL; API Gateway HTTP APIs cannot stream).
//!
//! Authenticated in the function like every route (Function URLs have no Supabase
//! authorizer). Sends `count` progress events `intervalMs` apart as `data: {json}`,
//! `: keep-alive` heartbeats every `heartbeatMs`, then `data: [DONE]`. When the client
//! goes away the producer stops at its next write.

use std::time::Duration;

use lambda_http::Request;
use serde::{Deserialize, Serialize};
use shared::input;
use shared::rate_limit;
use shared::response::{self, ApiResult};
use shared::sse::EventSink;
use shared::{App, Caller};
use validator::Validate;

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct StreamQuery {
    #[serde(default = "default_count")]
    #[validate(range(min = 1, max = 100, message = "must be between 1 and 100"))]
    count: u32,
    #[serde(default = "default_interval")]
    #[validate(range(min = 10, max = 10000, message = "must be between 10 and 10000"))]
    interval_ms: u64,
    #[serde(default = "default_heartbeat")]
    #[validate(range(min = 100, max = 60000, message = "must be between 100 and 60000"))]
    heartbeat_ms: u64,
}

fn default_count() -> u32 {
    10
}

fn default_interval() -> u64 {
    1000
}

fn default_heartbeat() -> u64 {
    15000
}

#[derive(Serialize)]
struct Progress {
    seq: u32,
    total: u32,
    at: chrono::DateTime<chrono::Utc>,
}

/// Admission: the query, and the `stream` limit per user.
pub async fn admit(app: App, caller: Caller, req: Request) -> ApiResult {
    let user = caller.user()?;
    let _query: StreamQuery = input::query(&req)?;
    let quota = rate_limit::hit_route(&app, user, "stream").await?;
    let mut response = response::no_content()?;
    *response.status_mut() = http::StatusCode::OK;
    for (name, value) in rate_limit::headers(std::slice::from_ref(&quota)) {
        response.headers_mut().insert(name, value);
    }
    Ok(response)
}

/// The events.
pub async fn produce(_app: App, caller: Caller, req: Request, mut sink: EventSink) {
    let query: StreamQuery = match input::query(&req) {
        Ok(q) => q,
        Err(_) => return,
    };
    let outcome = run(&query, &mut sink).await;
    tracing::info!(
        request_id = caller.request_id,
        route = "stream",
        events_sent = sink.events_sent(),
        reason = if outcome.is_ok() {
            "completed"
        } else {
            "client_gone"
        },
        "stream ended"
    );
}

async fn run(query: &StreamQuery, sink: &mut EventSink) -> Result<(), shared::sse::Gone> {
    let mut heartbeat = tokio::time::interval(Duration::from_millis(query.heartbeat_ms));
    heartbeat.tick().await; // the first tick is immediate
    for seq in 1..=query.count {
        if seq > 1 {
            let next = tokio::time::sleep(Duration::from_millis(query.interval_ms));
            tokio::pin!(next);
            loop {
                tokio::select! {
                    _ = &mut next => break,
                    _ = heartbeat.tick() => sink.heartbeat().await?,
                }
            }
        }
        sink.data(&Progress {
            seq,
            total: query.count,
            at: chrono::Utc::now(),
        })
        .await?;
    }
    sink.done().await
}
