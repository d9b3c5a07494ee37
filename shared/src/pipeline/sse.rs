//! Server-sent events through Lambda response streaming (a Function URL with
//! InvokeMode RESPONSE_STREAM: API Gateway HTTP APIs cannot stream).
//!
//! The request goes through the same pipeline as every route ([`crate::pipeline::dispatch_with`]:
//! CORS, credentials, verification, error shape, headers, log line); only when it is
//! admitted does a producer task start writing events into the response body:
//! `data: {json}` lines, `: keep-alive` comments as heartbeats, and `data: [DONE]` at
//! the end. When the client goes away the body is dropped, the next write fails, and the
//! producer stops.

use std::convert::Infallible;
use std::future::Future;

use bytes::Bytes;
use http::HeaderValue;
use http_body_util::channel::Channel;
use lambda_http::{Body, Request, Response};

use crate::auth::SignedIn;
use crate::clients::App;
use crate::pipeline::dispatch::{cold_start, dispatch_with, signed_in};
pub use crate::pipeline::events::{EventBody, EventSink, Gone};
use crate::pipeline::response::ApiResult;
use crate::pipeline::route::{Handler, Route};

/// Runs the pipeline; when the request is admitted, `producer` writes the events.
/// Refusals keep the API's usual JSON error shape and status.
pub async fn dispatch_stream<F, Fut, P, PFut>(
    app: &App,
    route: &Route,
    req: Request,
    admit: F,
    producer: P,
) -> Response<EventBody>
where
    F: FnOnce(App, SignedIn, Request) -> Fut,
    Fut: Future<Output = ApiResult>,
    P: FnOnce(App, SignedIn, Request, EventSink) -> PFut,
    PFut: Future<Output = ()> + Send + 'static,
{
    let mut admitted = None;
    let slot = &mut admitted;
    let response = dispatch_with(app, route, req, |app, caller, user, req| async move {
        let caller = signed_in(caller, user)?;
        // Route-specific admission (input, limits); its Ok response's headers are kept.
        let response = admit(app, caller.clone(), clone_request(&req)).await?;
        *slot = Some((caller, req));
        Ok(response)
    })
    .await;

    let (mut parts, body) = response.into_parts();
    // Admitted: the route's admission answered Ok, and that answer is the response.
    match admitted {
        Some((caller, req)) => {
            let (tx, body) = Channel::new(8);
            parts.headers.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream; charset=utf-8"),
            );
            // Do not let proxies buffer the stream.
            parts
                .headers
                .insert("x-accel-buffering", HeaderValue::from_static("no"));
            parts.headers.remove(http::header::CONTENT_LENGTH);
            // The producer runs as the invocation's: its log lines carry the request id
            // and trace id, its upstream calls the trace header.
            tokio::spawn(crate::pipeline::telemetry::propagate(producer(
                app.clone(),
                caller,
                req,
                EventSink::new(tx),
            )));
            Response::from_parts(parts, body)
        }
        None => {
            let (mut tx, channel) = Channel::new(1);
            let bytes = match body {
                Body::Text(t) => Bytes::from(t),
                Body::Binary(b) => Bytes::from(b),
                _ => Bytes::new(),
            };
            if !bytes.is_empty() {
                let _ = tx.try_send(http_body::Frame::data(bytes));
            }
            drop(tx);
            Response::from_parts(parts, channel)
        }
    }
}

/// A copy of the request head (method, URI, headers, extensions such as the Lambda
/// context and path parameters) for the admission step; the body is not needed there.
fn clone_request(req: &Request) -> Request {
    let mut copy = http::Request::builder()
        .method(req.method().clone())
        .uri(req.uri().clone())
        .version(req.version())
        .body(Body::Empty)
        .expect("a valid request head");
    *copy.headers_mut() = req.headers().clone();
    *copy.extensions_mut() = req.extensions().clone();
    copy
}

/// Starts the Lambda runtime in streaming mode for a streaming route of the table: its
/// binary's whole `main`.
pub fn serve(route: Route) -> Result<(), lambda_http::Error> {
    let Handler::Stream { admit, produce } = route.handler else {
        let message = format!(
            "{} is a JSON route: serve it with shared::pipeline::serve",
            route.function
        );
        return Err(message.into());
    };
    crate::pipeline::runtime::start(async move {
        let app = cold_start(&route).await?;
        let (app, route) = (&app, &route);
        let service = lambda_http::service_fn(move |req: Request| async move {
            Ok::<_, Infallible>(dispatch_stream(app, route, req, admit, produce).await)
        });
        crate::pipeline::runtime::serve(lambda_http::StreamAdapter::from(service)).await
    })
}
