//! The Lambda Runtime API loop, driven here rather than by `lambda_runtime::run`.
//!
//! Why: `lambda_runtime` 1.5 calls `std::env::set_var("_X_AMZN_TRACE_ID", ..)` before
//! every sequential invocation. glibc never frees a replaced environment string (other
//! threads may still hold it), and every invocation has a new trace id, so a warm
//! instance grew by about 140 bytes per request, without bound (18 MB after 60k
//! requests). This loop is the same protocol without the environment write: the trace
//! id travels in the invocation's `Context` (`xray_trace_id`), which lambda_http's
//! adapters also copy into the request's `X-Amzn-Trace-Id` header, into the log span of
//! the invocation, and into a tokio task-local ([`telemetry::serve_invocation`]) from
//! which the clients pass it on to PostgREST, Supabase Auth and S3. (The AWS SDK's own
//! recursion-detection interceptor reads `_X_AMZN_TRACE_ID` from the environment, so it
//! finds nothing here: shared/src/clients/storage.rs adds the header itself.)
//!
//! Around each invocation: its span ([`telemetry::Invocation::span`]: `requestId`,
//! `xray_trace_id` and `cold_start` on every log line inside), the cold-start metric on
//! the first, and the metrics flush ([`metrics::flush`]) once the response is posted.
//!
//! Everything else is the runtime crates' own code: `lambda_runtime_api_client` for the
//! HTTP client, `lambda_runtime::Context` and `Config` for the invocation metadata,
//! lambda_http's `Adapter` / `StreamAdapter` for the API Gateway event and response
//! conversions. What is written here by hand is the loop of the [Runtime API]: `next`,
//! then `response` (buffered JSON, or the streaming mode's prelude, eight NUL bytes and
//! the body) or `error`; panics and undecodable events are reported as errors and the
//! loop goes on, as in `lambda_runtime`.
//!
//! [Runtime API]: https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html

use std::fmt::Debug;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{FutureExt, Stream, StreamExt};
use http::{header::CONTENT_TYPE, Method, Request, Uri};
use http_body_util::BodyExt;
use lambda_http::lambda_runtime::{
    Config, Context, Diagnostic, FunctionResponse, IntoFunctionResponse, LambdaEvent,
};
use lambda_http::{Error, Service};
use lambda_runtime_api_client::body::Body;
use lambda_runtime_api_client::{build_request, Client};
use serde::Serialize;
use tracing::Instrument;

use crate::pipeline::metrics;
use crate::pipeline::telemetry::{self, Invocation};

/// Runs a function's serving future on its tokio runtime: one thread (a Lambda
/// environment serves one invocation at a time; see docs/performance.md, its last paragraph, for the
/// measurement that chose it over the multi-thread runtime).
pub fn start<F: Future<Output = Result<(), Error>>>(serve: F) -> Result<(), Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(serve)
}

/// Logs and metrics for a function named `function` in the route table: the JSON log
/// subscriber ([`telemetry::init`]) and the metrics recorder ([`metrics::init`]), both
/// under the name the function runs as.
pub fn init(function: &str) {
    let name = telemetry::init(function);
    metrics::init(&name);
}

const NEXT: &str = "/2018-06-01/runtime/invocation/next";
const REQUEST_ID: &str = "lambda-runtime-aws-request-id";

/// Serves invocations until the Runtime API goes away: each event through `service`,
/// its response (buffered or streamed) posted back. The event is an HTTP one
/// (`LambdaRequest`) for a route, a scheduled one for a job ([`crate::pipeline::job`]).
pub async fn serve<Ev, S, R, B, St, D, E>(mut service: S) -> Result<(), Error>
where
    Ev: serde::de::DeserializeOwned,
    S: Service<LambdaEvent<Ev>, Response = R>,
    S::Error: Debug,
    S::Future: Future<Output = Result<R, S::Error>>,
    R: IntoFunctionResponse<B, St>,
    B: Serialize,
    St: Stream<Item = Result<D, E>> + Unpin + Send + 'static,
    D: Into<Bytes> + Send,
    E: Into<Error> + Send + Debug,
{
    let config = Arc::new(Config::from_env());
    let client = Client::builder().build()?;
    loop {
        let next = client.call(get(NEXT)?).await?;
        let (parts, body) = next.into_parts();
        let body = body.collect().await?.to_bytes();
        let Some(request_id) = parts
            .headers
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
        else {
            // No invocation to answer: a local emulator's keep-alive 204 is polled again;
            // anything else from the Runtime API ends the process (Lambda restarts it)
            // rather than polling in a tight loop.
            if parts.status == http::StatusCode::NO_CONTENT {
                continue;
            }
            return Err(format!(
                "the Runtime API answered {} with no invocation",
                parts.status
            )
            .into());
        };
        let context = match Context::new(&request_id, config.clone(), &parts.headers) {
            Ok(context) => context,
            Err(e) => {
                report(
                    &client,
                    &request_id,
                    "Runtime.InvalidContext",
                    &e.to_string(),
                )
                .await?;
                continue;
            }
        };
        let invocation = Arc::new(Invocation::new(&request_id, context.xray_trace_id.clone()));
        if invocation.cold_start {
            metrics::record_cold_start();
        }
        let span = invocation.span();
        let event: Ev = match serde_json::from_slice(&body) {
            Ok(event) => event,
            Err(_) => {
                span.in_scope(|| {
                    tracing::error!("the invocation's event is not one this function takes")
                });
                metrics::record_failed_invocation("Runtime.InvalidEvent");
                let reported = report(
                    &client,
                    &request_id,
                    "Runtime.InvalidEvent",
                    "not an event this function takes",
                )
                .await;
                end(&invocation);
                reported?;
                continue;
            }
        };
        let call = telemetry::serve_invocation(
            invocation.clone(),
            AssertUnwindSafe(service.call(LambdaEvent::new(event, context)))
                .catch_unwind()
                .instrument(span.clone()),
        )
        .await;
        let posted = async {
            match call {
                Ok(Ok(response)) => respond(&client, &request_id, response).await,
                Ok(Err(e)) => {
                    metrics::record_failed_invocation("Runtime.HandlerError");
                    let message = format!("{e:?}");
                    report(&client, &request_id, "Runtime.HandlerError", &message).await
                }
                Err(_) => {
                    tracing::error!("the handler panicked");
                    metrics::record_failed_invocation("Runtime.Panic");
                    report(
                        &client,
                        &request_id,
                        "Runtime.Panic",
                        "the handler panicked",
                    )
                    .await
                }
            }
        }
        .instrument(span.clone())
        .await;
        // A response the Runtime API did not take is logged; the next invocation is
        // still served (Lambda times the lost one out).
        if let Err(e) = posted {
            span.in_scope(|| tracing::error!(error = %e, "posting the response failed"));
        }
        end(&invocation);
    }
}

/// After the invocation's outcome was posted (the client has its answer; Lambda freezes
/// the process only at the next `next`): its metrics, and the process is warm from now.
fn end(invocation: &Invocation) {
    metrics::flush(invocation);
    telemetry::end_invocation();
}

fn get(path: &'static str) -> Result<Request<Body>, Error> {
    Ok(build_request()
        .method(Method::GET)
        .uri(Uri::from_static(path))
        .body(Body::empty())?)
}

fn response_uri(request_id: &str, what: &str) -> Result<Uri, Error> {
    Ok(format!("/2018-06-01/runtime/invocation/{request_id}/{what}").parse()?)
}

/// Posts the handler's response: one JSON document, or the streaming mode's prelude
/// (status, headers, cookies), eight NUL bytes, then the body as it comes.
async fn respond<R, B, St, D, E>(
    client: &Client,
    request_id: &str,
    response: R,
) -> Result<(), Error>
where
    R: IntoFunctionResponse<B, St>,
    B: Serialize,
    St: Stream<Item = Result<D, E>> + Unpin + Send + 'static,
    D: Into<Bytes> + Send,
    E: Into<Error> + Send + Debug,
{
    let uri = response_uri(request_id, "response")?;
    let request = match response.into_response() {
        FunctionResponse::BufferedResponse(body) => build_request()
            .method(Method::POST)
            .uri(uri)
            .body(Body::from(serde_json::to_vec(&body)?))?,
        FunctionResponse::StreamingResponse(mut streaming) => {
            streaming
                .metadata_prelude
                .headers
                .entry(CONTENT_TYPE)
                .or_insert(http::HeaderValue::from_static("application/octet-stream"));
            let prelude = serde_json::to_vec(&streaming.metadata_prelude)?;
            let (mut tx, rx) = Body::channel();
            tokio::spawn(telemetry::propagate(async move {
                if tx.send_data(prelude.into()).await.is_err()
                    || tx.send_data(Bytes::from_static(&[0; 8])).await.is_err()
                {
                    return;
                }
                while let Some(chunk) = streaming.stream.next().await {
                    let Ok(chunk) = chunk else {
                        // A body that fails midway ends the stream here; the client
                        // sees the response end.
                        tracing::error!("the response stream failed");
                        return;
                    };
                    if tx.send_data(chunk.into()).await.is_err() {
                        return;
                    }
                }
            }));
            build_request()
                .method(Method::POST)
                .uri(uri)
                .header("transfer-encoding", "chunked")
                .header("lambda-runtime-function-response-mode", "streaming")
                .header(
                    CONTENT_TYPE,
                    "application/vnd.awslambda.http-integration-response",
                )
                .body(rx)?
        }
    };
    finish(client.call(request).await?).await
}

/// Reports a failed invocation (`/error`) with a diagnostic that names no internals.
async fn report(client: &Client, request_id: &str, kind: &str, message: &str) -> Result<(), Error> {
    let diagnostic = Diagnostic {
        error_type: kind.to_owned(),
        error_message: message.to_owned(),
    };
    let request = build_request()
        .method(Method::POST)
        .uri(response_uri(request_id, "error")?)
        .header("lambda-runtime-function-error-type", kind)
        .body(Body::from(serde_json::to_vec(&diagnostic)?))?;
    finish(client.call(request).await?).await
}

async fn finish<B: http_body::Body>(response: http::Response<B>) -> Result<(), Error> {
    let status = response.status();
    // Drain the body so the connection goes back to the pool.
    let _ = response.into_body().collect().await;
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("the Runtime API answered {status}").into())
    }
}
