//! Observability of a real function process: its stdout, served by a Lambda Runtime API
//! of the test's own (no local stack, no fixed port).
//!
//! The functions run as they do on Lambda: the compiled binaries in the target directory
//! (`cargo build -p functions --bins`, which `make test` runs first), started with the
//! variables Lambda sets, given two invocations with known request ids and trace
//! headers. Their log lines must be JSON with `function`, `cold_start` (true on the
//! first invocation's lines only), `requestId` and `xray_trace_id` at the top level,
//! and their embedded-metric-format lines must name the namespace, the `function`
//! dimension and the request metrics.
//!
//! For the trace header passed on to PostgREST, `me` (GET /me, one PostgREST call) runs
//! against a stand-in "PostgREST": a local HTTP server that records the headers it is
//! sent and answers 503. It checks nothing else; the real PostgREST is not needed to see
//! what the function sends.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use integration_tests::runtime::{
    epoch, http_event, is_emf, unused_address, Event, Function, RuntimeApi,
};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use uuid::Uuid;

const NAMESPACE: &str = "TelemetryTest";
const JWT_SECRET: &str = "telemetry-test-secret-at-least-32-characters";

/// The EMF documents of one invocation whose dimensions are exactly `dimensions`.
fn emf<'a>(lines: &'a [Value], request_id: &str, dimensions: Value) -> Vec<&'a Value> {
    lines
        .iter()
        .filter(|l| is_emf(l) && l["requestId"] == request_id)
        .filter(|l| l["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == json!([dimensions]))
        .collect()
}

/// Every log line (not EMF) names the function and says whether it is the cold start;
/// the lines of each invocation carry its ids. Returns the log lines by request id.
fn check_log_lines<'a>(
    lines: &'a [Value],
    function: &str,
    invocations: &[(&Event, bool)],
) -> HashMap<String, Vec<&'a Value>> {
    let mut by_request: HashMap<String, Vec<&Value>> = HashMap::new();
    for line in lines.iter().filter(|l| !is_emf(l)) {
        assert_eq!(line["function"], function, "{line}");
        assert!(line["level"].is_string(), "{line}");
        assert!(
            line.get("span").is_none(),
            "span fields are top level: {line}"
        );
        assert!(line.get("name").is_none(), "no span name: {line}");
        match line["requestId"].as_str() {
            Some(id) => by_request.entry(id.to_owned()).or_default().push(line),
            // Outside an invocation: the cold start (these tests stop the process warm
            // only after the last line they read).
            None => assert_eq!(line["cold_start"], true, "{line}"),
        }
    }
    for (event, cold) in invocations {
        let own = by_request
            .get(&event.request_id)
            .unwrap_or_else(|| panic!("no log line of {}: {lines:#?}", event.request_id));
        for line in own {
            assert_eq!(line["cold_start"], *cold, "{line}");
            assert_eq!(line["xray_trace_id"], event.root(), "{line}");
        }
        let request = own
            .iter()
            .find(|l| l["message"] == "request")
            .unwrap_or_else(|| panic!("no request line: {own:#?}"));
        assert_eq!(request["request_id"], event.request_id.as_str());
    }
    assert_eq!(by_request.len(), invocations.len(), "{by_request:#?}");
    by_request
}

/// The request metrics of one invocation: `requests` 1, a latency, the cold start only
/// on the first.
fn check_request_metrics(lines: &[Value], function: &str, event: &Event, cold: bool) {
    let docs = emf(lines, &event.request_id, json!(["function"]));
    assert_eq!(docs.len(), 1, "one document per dimension set: {lines:#?}");
    let doc = docs[0];
    let aws = &doc["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(aws["Namespace"], NAMESPACE);
    assert!(doc["_aws"]["Timestamp"].as_u64().unwrap() > 1_700_000_000_000);
    assert_eq!(doc["function"], function);
    assert_eq!(doc["xray_trace_id"], event.root());
    assert_eq!(doc["requests"], 1, "{doc}");
    let latency = doc["latency"].as_array().expect("latency values");
    assert_eq!(latency.len(), 1, "{doc}");
    assert!(latency[0].as_f64().unwrap() >= 0.0);
    let names: Vec<&str> = aws["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"requests") && names.contains(&"latency"),
        "{doc}"
    );
    assert!(aws["Metrics"]
        .as_array()
        .unwrap()
        .contains(&json!({"Name": "latency", "Unit": "Milliseconds"})));
    if cold {
        assert_eq!(doc["cold_starts"], 1, "{doc}");
    } else {
        assert!(doc.get("cold_starts").is_none(), "{doc}");
    }
}

#[tokio::test]
async fn every_line_names_the_function_the_invocation_and_the_cold_start() {
    let mut api = RuntimeApi::start().await;
    let function = "telemetry-health";
    let process = Function::start(
        "health",
        &api,
        function,
        &[("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE.into())],
    );
    let event = || {
        Event::new(http_event(
            "GET /health",
            "/health",
            json!({"host": "telemetry.example"}),
        ))
    };
    let (first, second) = (event(), event());

    for invocation in [&first, &second] {
        let (kind, response) = api.invoke(invocation).await;
        assert_eq!(kind, "response", "{response}");
        assert_eq!(response["statusCode"], 200, "{response}");
    }
    let lines = process.lines_after_metrics_of(&second.request_id).await;

    check_log_lines(&lines, function, &[(&first, true), (&second, false)]);
    check_request_metrics(&lines, function, &first, true);
    check_request_metrics(&lines, function, &second, false);
    // A 200 is neither an error nor a refusal.
    assert!(lines
        .iter()
        .filter(|l| is_emf(l))
        .all(|l| l.get("code").is_none()));
}

/// The stand-in "PostgREST": records the headers of every request and answers 503.
async fn recording_postgrest() -> (String, Arc<Mutex<Vec<http::HeaderMap>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let record = record.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<Incoming>| {
                    let record = record.clone();
                    async move {
                        record.lock().unwrap().push(req.headers().clone());
                        let _ = req.into_body().collect().await;
                        Ok::<_, Infallible>(
                            Response::builder()
                                .status(StatusCode::SERVICE_UNAVAILABLE)
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from_static(b"{}")))
                                .unwrap(),
                        )
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(socket), service)
                    .await;
            });
        }
    });
    (url, seen)
}

#[tokio::test]
async fn postgrest_gets_the_trace_header_and_refusals_are_counted_by_code() {
    let (postgrest, seen) = recording_postgrest().await;
    let mut api = RuntimeApi::start().await;
    let function = "telemetry-me";
    let supabase = format!("http://{}", unused_address());
    let process = Function::start(
        "me",
        &api,
        function,
        &[
            ("SUPABASE_URL", supabase.clone()),
            ("SUPABASE_REST_URL", postgrest),
            ("SUPABASE_JWT_SECRET", JWT_SECRET.into()),
            ("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE.into()),
        ],
    );
    let now = epoch().as_secs();
    let claims = json!({
        "iss": format!("{supabase}/auth/v1"),
        "aud": "authenticated",
        "role": "authenticated",
        "sub": Uuid::new_v4(),
        "email": "telemetry@example.com",
        "aal": "aal1",
        "session_id": Uuid::new_v4(),
        "is_anonymous": false,
        "iat": now,
        "exp": now + 600,
    });
    let token = integration_tests::sign(&claims, JWT_SECRET);
    let signed_in = Event::new(http_event(
        "GET /me",
        "/me",
        json!({"host": "telemetry.example", "authorization": format!("Bearer {token}")}),
    ));
    let anonymous = Event::new(http_event(
        "GET /me",
        "/me",
        json!({"host": "telemetry.example"}),
    ));

    let (kind, response) = api.invoke(&signed_in).await;
    assert_eq!(kind, "response", "{response}");
    let (kind, response) = api.invoke(&anonymous).await;
    assert_eq!(kind, "response", "{response}");
    assert_eq!(response["statusCode"], 401, "{response}");
    let lines = process.lines_after_metrics_of(&anonymous.request_id).await;

    // The PostgREST call of the signed-in invocation carried its whole trace header.
    let seen = seen.lock().unwrap().clone();
    assert!(!seen.is_empty(), "the function called PostgREST");
    for headers in &seen {
        assert_eq!(
            headers.get("x-amzn-trace-id").and_then(|v| v.to_str().ok()),
            Some(signed_in.trace_header.as_str()),
            "{headers:?}"
        );
    }

    check_log_lines(&lines, function, &[(&signed_in, true), (&anonymous, false)]);
    check_request_metrics(&lines, function, &signed_in, true);
    check_request_metrics(&lines, function, &anonymous, false);
    // PostgREST's 503 is a 5xx, counted as an error by its code.
    let errors = emf(&lines, &signed_in.request_id, json!(["function", "code"]));
    assert_eq!(errors.len(), 1, "{lines:#?}");
    assert_eq!(errors[0]["errors"], 1, "{}", errors[0]);
    assert_eq!(errors[0]["code"], "SERVICE_UNAVAILABLE", "{}", errors[0]);
    // The 401 is a refusal with its code as a dimension.
    let refusals = emf(&lines, &anonymous.request_id, json!(["function", "code"]));
    assert_eq!(refusals.len(), 1, "{lines:#?}");
    assert_eq!(refusals[0]["code"], "UNAUTHORIZED");
    assert_eq!(refusals[0]["refusals"], 1);
    assert_eq!(refusals[0]["function"], function);
    assert_eq!(
        refusals[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"],
        json!([{"Name": "refusals", "Unit": "Count"}])
    );
}
