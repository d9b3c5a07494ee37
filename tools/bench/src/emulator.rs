//! A Lambda Runtime API emulator: the part of the Lambda service a function process talks
//! to (<https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>), over HTTP/1.1 on
//! 127.0.0.1, handed to the function as `AWS_LAMBDA_RUNTIME_API`.
//!
//! - `GET /2018-06-01/runtime/invocation/next` long-polls until an event is queued and
//!   answers it with the headers the service sends: a fresh request id, a deadline 30 s
//!   ahead (epoch milliseconds), the function's ARN and a fresh X-Ray trace id
//!   (`Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;Sampled=0`) per invocation. lambda_runtime's
//!   own loop copied the trace id into `_X_AMZN_TRACE_ID` on every invocation (the leak
//!   shared/src/pipeline/runtime.rs avoids), so a new value each time is what makes the long
//!   memory run honest.
//! - `POST /2018-06-01/runtime/invocation/{id}/response` and `.../{id}/error`: the
//!   invocation's outcome, timestamped the moment its body has been read completely.
//! - `POST /2018-06-01/runtime/init/error`: a failed cold start; every waiting invocation
//!   fails with it.
//!
//! One emulator serves one function process. [`Emulator::enqueue`] returns the instant the
//! event was handed over (straight to the waiting `/next` request when the function is
//! already polling); the outcome carries the instant the response arrived, so a latency
//! is exactly "event available" to "response received".

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::error::{Context, Result};

const API_PREFIX: &str = "/2018-06-01/runtime";
/// The deadline each invocation is given, as the service computes it from the timeout.
const INVOCATION_TIMEOUT: Duration = Duration::from_secs(30);

/// How an invocation ended, as the function reported it.
pub enum Outcome {
    /// `POST /invocation/{id}/response`: the body, and when it had been read.
    Response { body: Bytes, at: Instant },
    /// `POST /invocation/{id}/error`: the handler failed.
    Error { body: Bytes },
    /// `POST /init/error`: the cold start failed.
    InitError { body: Bytes },
}

/// A queued event: its outcome arrives through [`Invocation::outcome`].
pub struct Invocation {
    /// When the event became available to the function.
    pub enqueued_at: Instant,
    outcome: oneshot::Receiver<Outcome>,
}

impl Invocation {
    /// Waits for the function's answer. (Callers race this against the process exiting.)
    pub async fn outcome(&mut self) -> Result<Outcome> {
        (&mut self.outcome)
            .await
            .context("the emulator stopped before the invocation ended")
    }
}

pub struct Emulator {
    address: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

struct Shared {
    function_arn: String,
    state: Mutex<State>,
    /// Woken whenever the function starts long-polling `/next`.
    polling: Notify,
}

#[derive(Default)]
struct State {
    /// Events not handed out yet (the function was not polling when they came).
    queue: VecDeque<Event>,
    /// The function's pending `GET /next`, if it is polling right now.
    poller: Option<oneshot::Sender<Event>>,
    /// Invocations handed out (or queued) and not answered yet, by request id.
    waiting: HashMap<String, oneshot::Sender<Outcome>>,
}

struct Event {
    request_id: String,
    trace_id: String,
    deadline_ms: u128,
    body: Bytes,
}

impl Event {
    fn new(body: Bytes) -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            request_id: Uuid::new_v4().to_string(),
            trace_id: trace_id(now.as_secs()),
            deadline_ms: (now + INVOCATION_TIMEOUT).as_millis(),
            body,
        }
    }
}

/// A fresh X-Ray trace header value, as Lambda hands it to the runtime.
fn trace_id(epoch_seconds: u64) -> String {
    let root = Uuid::new_v4().simple().to_string();
    let parent = Uuid::new_v4().simple().to_string();
    format!(
        "Root=1-{:08x}-{};Parent={};Sampled=0",
        epoch_seconds as u32,
        &root[..24],
        &parent[..16]
    )
}

impl Emulator {
    /// Listens on a free port of 127.0.0.1 for the function named `function`.
    pub async fn start(function: &str) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the Runtime API emulator")?;
        let address = listener.local_addr()?;
        let shared = Arc::new(Shared {
            function_arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{function}"),
            state: Mutex::default(),
            polling: Notify::new(),
        });
        let server = tokio::spawn(serve(listener, shared.clone()));
        Ok(Self {
            address,
            shared,
            server,
        })
    }

    /// The value of `AWS_LAMBDA_RUNTIME_API` (`host:port`).
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// Makes `event` available to the function: handed straight to its pending
    /// `GET /next` when it is polling, else queued for the next poll.
    pub fn enqueue(&self, event: Bytes) -> Invocation {
        let event = Event::new(event);
        let request_id = event.request_id.clone();
        let (done, outcome) = oneshot::channel();
        let mut state = self.shared.state();
        state.waiting.insert(request_id, done);
        let enqueued_at = Instant::now();
        match state.poller.take() {
            Some(poller) => {
                if let Err(event) = poller.send(event) {
                    // That poll's connection went away: the next poll takes it.
                    state.queue.push_back(event);
                }
            }
            None => state.queue.push_back(event),
        }
        Invocation {
            enqueued_at,
            outcome,
        }
    }

    /// Returns once the function is long-polling `/next` (idle, waiting for work).
    pub async fn wait_for_poll(&self) {
        loop {
            let notified = self.shared.polling.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_polling() {
                return;
            }
            notified.await;
        }
    }

    fn is_polling(&self) -> bool {
        self.shared
            .state()
            .poller
            .as_ref()
            .is_some_and(|p| !p.is_closed())
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // Never held across an await; a panic elsewhere does not make the data wrong.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn finish(&self, request_id: &str, outcome: Outcome) -> bool {
        match self.state().waiting.remove(request_id) {
            Some(done) => {
                let _ = done.send(outcome);
                true
            }
            None => false,
        }
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(shared.clone(), req));
            // A connection ends when the function process goes away.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

type Answer = Response<Full<Bytes>>;

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Answer, Infallible> {
    let Some(path) = req.uri().path().strip_prefix(API_PREFIX).map(str::to_owned) else {
        return Ok(status(StatusCode::NOT_FOUND));
    };
    let method = req.method().clone();
    if method == Method::GET && path == "/invocation/next" {
        return Ok(next(&shared).await);
    }
    if method != Method::POST {
        return Ok(status(StatusCode::METHOD_NOT_ALLOWED));
    }
    let body = match req.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Ok(status(StatusCode::BAD_REQUEST)),
    };
    let at = Instant::now();
    if path == "/init/error" {
        let waiting: Vec<_> = shared.state().waiting.drain().collect();
        for (_, done) in waiting {
            let _ = done.send(Outcome::InitError { body: body.clone() });
        }
        return Ok(accepted());
    }
    let Some((request_id, kind)) = path
        .strip_prefix("/invocation/")
        .and_then(|rest| rest.split_once('/'))
    else {
        return Ok(status(StatusCode::NOT_FOUND));
    };
    let outcome = match kind {
        "response" => Outcome::Response { body, at },
        "error" => Outcome::Error { body },
        _ => return Ok(status(StatusCode::NOT_FOUND)),
    };
    if shared.finish(request_id, outcome) {
        Ok(accepted())
    } else {
        // As the service answers an unknown or already answered request id.
        Ok(status(StatusCode::BAD_REQUEST))
    }
}

/// `GET /next`: the queued event, or wait for one.
async fn next(shared: &Shared) -> Answer {
    let queued = {
        let mut state = shared.state();
        match state.queue.pop_front() {
            Some(event) => Ok(event),
            None => {
                let (poller, handed) = oneshot::channel();
                state.poller = Some(poller);
                Err(handed)
            }
        }
    };
    let event = match queued {
        Ok(event) => event,
        Err(handed) => {
            shared.polling.notify_waiters();
            match handed.await {
                Ok(event) => event,
                // Replaced by a newer poll (the runtime polls one at a time).
                Err(_) => return status(StatusCode::SERVICE_UNAVAILABLE),
            }
        }
    };
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .header("lambda-runtime-aws-request-id", &event.request_id)
        .header("lambda-runtime-deadline-ms", event.deadline_ms.to_string())
        .header("lambda-runtime-invoked-function-arn", &shared.function_arn)
        .header("lambda-runtime-trace-id", &event.trace_id)
        .body(Full::new(event.body))
        .unwrap_or_else(|_| status(StatusCode::INTERNAL_SERVER_ERROR))
}

fn accepted() -> Answer {
    let mut response = Response::new(Full::new(Bytes::from_static(b"{\"status\":\"OK\"}")));
    *response.status_mut() = StatusCode::ACCEPTED;
    response
}

fn status(code: StatusCode) -> Answer {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = code;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_have_the_x_ray_shape_and_are_fresh() {
        let a = trace_id(0x6a00_0000);
        let b = trace_id(0x6a00_0000);
        assert_ne!(a, b);
        let rest = a.strip_prefix("Root=1-6a000000-").unwrap();
        let (root, rest) = rest.split_once(";Parent=").unwrap();
        let (parent, sampled) = rest.split_once(';').unwrap();
        assert_eq!(root.len(), 24);
        assert_eq!(parent.len(), 16);
        assert!(root
            .chars()
            .chain(parent.chars())
            .all(|c| c.is_ascii_hexdigit()));
        assert_eq!(sampled, "Sampled=0");
    }
}
