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
use shared::pipeline::input;
use shared::pipeline::response;
use shared::pipeline::sse::EventSink;
use shared::pipeline::typed::{EventStream, Query};
use shared::policy::rate_limit;
use shared::{App, SignedIn};
use validator::Validate;

/// The longest a stream may run: well inside the function's 60 s timeout
/// (template.yaml), so every stream ends with `[DONE]` rather than a cut connection.
pub const MAX_STREAM_MS: u64 = 50_000;

/// (count - 1) x intervalMs may be at most 50000.
#[derive(Debug, Deserialize, Validate, utoipa::IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// How many progress events.
    #[serde(default = "default_count")]
    #[validate(range(min = 1, max = 100, message = "must be between 1 and 100"))]
    #[param(minimum = 1, maximum = 100, default = 10)]
    count: u32,
    /// Milliseconds between events.
    #[serde(default = "default_interval")]
    #[validate(range(min = 10, max = 10000, message = "must be between 10 and 10000"))]
    #[param(minimum = 10, maximum = 10000, default = 1000)]
    interval_ms: u64,
    /// Milliseconds between `: keep-alive` comments.
    #[serde(default = "default_heartbeat")]
    #[validate(range(min = 100, max = 60000, message = "must be between 100 and 60000"))]
    #[param(minimum = 100, maximum = 60000, default = 15000)]
    heartbeat_ms: u64,
}

/// The query, validated, and bounded so the stream ends before the timeout: `count`
/// events `intervalMs` apart take (count - 1) x intervalMs.
fn stream_query(req: &Request) -> Result<StreamQuery, shared::ApiError> {
    within_bounds(input::query(req)?)
}

/// The whole stream lasts at most [`MAX_STREAM_MS`].
fn within_bounds(q: StreamQuery) -> Result<StreamQuery, shared::ApiError> {
    if u64::from(q.count.saturating_sub(1)) * q.interval_ms > MAX_STREAM_MS {
        return Err(shared::ApiError::invalid_field(
            "intervalMs",
            &format!("(count - 1) x intervalMs must be at most {MAX_STREAM_MS} ms"),
        ));
    }
    Ok(q)
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

/// One progress event (the `data:` of an SSE message; the last message is `[DONE]`).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = StreamProgress)]
pub struct Progress {
    seq: u32,
    total: u32,
    at: chrono::DateTime<chrono::Utc>,
}

/// Admission: the query, and the `stream` limit per user.
pub async fn admit(
    app: App,
    caller: SignedIn,
    Query(query): Query<StreamQuery>,
) -> Result<EventStream<Progress>, shared::ApiError> {
    within_bounds(query)?;
    let quota = rate_limit::hit_route(&app, &caller, "stream").await?;
    let mut response = response::no_content()?;
    *response.status_mut() = http::StatusCode::OK;
    rate_limit::add_headers(&mut response, std::slice::from_ref(&quota));
    Ok(EventStream(response, std::marker::PhantomData))
}

/// The events.
pub async fn produce(_app: App, caller: SignedIn, req: Request, mut sink: EventSink) {
    let query = match stream_query(&req) {
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

async fn run(query: &StreamQuery, sink: &mut EventSink) -> Result<(), shared::pipeline::sse::Gone> {
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
