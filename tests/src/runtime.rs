//! A Lambda Runtime API of the test's own, and the compiled function binaries run under
//! it as Lambda runs them (one invocation at a time per process, Lambda's variables, no
//! `cargo lambda watch` in between): for tests of a real process's output, and of many
//! processes at once.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Mutex as AsyncMutex};
use uuid::Uuid;

/// One invocation as the Lambda service hands it over.
pub struct Event {
    pub request_id: String,
    pub trace_header: String,
    pub body: String,
}

impl Event {
    pub fn new(event: Value) -> Self {
        let root = Uuid::new_v4().simple().to_string();
        let parent = Uuid::new_v4().simple().to_string();
        Self {
            request_id: Uuid::new_v4().to_string(),
            trace_header: format!(
                "Root=1-{:08x}-{};Parent={};Sampled=1",
                epoch().as_secs() as u32,
                &root[..24],
                &parent[..16]
            ),
            body: event.to_string(),
        }
    }

    /// The log lines' `xray_trace_id`: the header's Root part.
    pub fn root(&self) -> &str {
        self.trace_header
            .strip_prefix("Root=")
            .and_then(|rest| rest.split(';').next())
            .unwrap()
    }
}

pub fn epoch() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap()
}

/// The Runtime API's side of the protocol
/// (<https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>): `next` hands out
/// the queued events (and waits when there are none), `response`/`error` report back.
pub struct RuntimeApi {
    pub address: String,
    events: mpsc::UnboundedSender<Event>,
    outcomes: mpsc::UnboundedReceiver<(String, String, Value)>,
}

impl RuntimeApi {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let (events, queue) = mpsc::unbounded_channel::<Event>();
        let (report, outcomes) = mpsc::unbounded_channel();
        let queue = Arc::new(AsyncMutex::new(queue));
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (queue, report) = (queue.clone(), report.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let (queue, report) = (queue.clone(), report.clone());
                        async move { Ok::<_, Infallible>(answer(req, &queue, &report).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(socket), service)
                        .await;
                });
            }
        });
        Self {
            address,
            events,
            outcomes,
        }
    }

    /// Hands `event` to the function and waits for its outcome: ("response" or
    /// "error", the body).
    pub async fn invoke(&mut self, event: &Event) -> (String, Value) {
        self.events
            .send(Event {
                request_id: event.request_id.clone(),
                trace_header: event.trace_header.clone(),
                body: event.body.clone(),
            })
            .unwrap();
        let (id, kind, body) = tokio::time::timeout(Duration::from_secs(30), self.outcomes.recv())
            .await
            .expect("the function answered within 30 s")
            .expect("the Runtime API is running");
        assert_eq!(id, event.request_id, "{kind}: {body}");
        (kind, body)
    }
}

impl RuntimeApi {
    /// Hands every event to whichever function process asks first (each process one at
    /// a time, as Lambda runs them) and waits for all their outcomes: by request id,
    /// ("response" or "error", the body).
    pub async fn invoke_all(&mut self, events: &[Event]) -> HashMap<String, (String, Value)> {
        for event in events {
            self.events
                .send(Event {
                    request_id: event.request_id.clone(),
                    trace_header: event.trace_header.clone(),
                    body: event.body.clone(),
                })
                .unwrap();
        }
        let mut outcomes = HashMap::new();
        while outcomes.len() < events.len() {
            let (id, kind, body) =
                tokio::time::timeout(Duration::from_secs(60), self.outcomes.recv())
                    .await
                    .expect("the functions answered within 60 s")
                    .expect("the Runtime API is running");
            outcomes.insert(id, (kind, body));
        }
        outcomes
    }
}

type Queue = AsyncMutex<mpsc::UnboundedReceiver<Event>>;
type Report = mpsc::UnboundedSender<(String, String, Value)>;

async fn answer(req: Request<Incoming>, queue: &Queue, report: &Report) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    let body = req.into_body().collect().await.unwrap().to_bytes();
    let parse = |b: &Bytes| serde_json::from_slice(b).unwrap_or(Value::Null);
    if method == Method::GET && path == "/2018-06-01/runtime/invocation/next" {
        let Some(event) = queue.lock().await.recv().await else {
            return std::future::pending().await;
        };
        let deadline = (epoch() + Duration::from_secs(30)).as_millis().to_string();
        return Response::builder()
            .header("lambda-runtime-aws-request-id", &event.request_id)
            .header("lambda-runtime-deadline-ms", deadline)
            .header(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:telemetry",
            )
            .header("lambda-runtime-trace-id", &event.trace_header)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(event.body)))
            .unwrap();
    }
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["2018-06-01", "runtime", "invocation", id, kind @ ("response" | "error")] => {
            let _ = report.send((id.to_string(), kind.to_string(), parse(&body)));
        }
        ["2018-06-01", "runtime", "init", "error"] => {
            let _ = report.send((String::new(), "init error".into(), parse(&body)));
        }
        _ => {
            return Response::builder()
                .status(StatusCode::NOT_FOUND)
                .body(Full::default())
                .unwrap()
        }
    }
    Response::builder()
        .status(StatusCode::ACCEPTED)
        .body(Full::default())
        .unwrap()
}

/// A function process and the lines of its stdout; killed when dropped.
pub struct Function {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Function {
    /// Starts the compiled binary `name` with Lambda's variables and `env`.
    pub fn start(name: &str, api: &RuntimeApi, lambda_name: &str, env: &[(&str, String)]) -> Self {
        let binary = binary(name);
        let mut command = Command::new(&binary);
        command
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", &api.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", lambda_name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_REGION", "us-east-1")
            .env("RUST_LOG", "info")
            // Nothing listens there: these functions need no Supabase Auth.
            .env("SUPABASE_URL", format!("http://{}", unused_address()))
            .env("SUPABASE_ANON_KEY", "anon-key")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line);
            }
        });
        Self { child, lines }
    }

    /// Every stdout line so far, each parsed as a JSON object with each key once (a line
    /// that is not fails the test).
    pub fn json_lines(&self) -> Vec<Value> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .map(|l| {
                let value: Value = serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}"));
                let object = value
                    .as_object()
                    .unwrap_or_else(|| panic!("not an object: {l}"));
                for key in object.keys() {
                    let quoted = format!("{}:", Value::from(key.as_str()));
                    assert_eq!(l.matches(&quoted).count(), 1, "{key} repeated: {l}");
                }
                value
            })
            .collect()
    }

    /// Waits until the EMF lines of `request_id` are out (the flush follows the
    /// response), then returns every line.
    pub async fn lines_after_metrics_of(&self, request_id: &str) -> Vec<Value> {
        let started = Instant::now();
        loop {
            let lines = self.json_lines();
            if lines
                .iter()
                .any(|l| is_emf(l) && l["requestId"] == request_id)
            {
                return lines;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no metrics for {request_id}: {lines:#?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The compiled function binary beside this test's (`target/debug/deps/..` -> `target/debug/<name>`).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build it first (`cargo build -p functions --bin {name}`)",
        path.display()
    );
    path
}

pub fn unused_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

/// An API Gateway HTTP API (payload 2.0) event.
pub fn http_event(route_key: &str, path: &str, headers: Value) -> Value {
    json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "telemetry",
            "domainName": "telemetry.example",
            "domainPrefix": "telemetry",
            "http": {
                "method": "GET",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.10",
                "userAgent": "telemetry-test"
            },
            "requestId": Uuid::new_v4().to_string(),
            "routeKey": route_key,
            "stage": "$default",
            "time": "02/Dec/2026:12:00:00 +0000",
            "timeEpoch": epoch().as_millis() as u64
        },
        "isBase64Encoded": false
    })
}

pub fn is_emf(line: &Value) -> bool {
    line.get("_aws").is_some()
}
