//! GET /stream: server-sent events through the real compiled binary under
//! `cargo lambda watch` (lambda_http's streaming runner), read incrementally.

use std::time::Duration;

use integration_tests::*;
use serde_json::Value;

/// `cargo lambda watch` runs one instance per function and mixes up concurrent
/// streaming invocations of the same function (on AWS every concurrent request gets
/// its own execution environment): the tests in this file take turns.
static ONE_STREAM_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn url(path: &str) -> String {
    format!("{}{}", stack().api_url, path)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(180))
        .build()
        .unwrap()
}

/// Reads the body chunk by chunk until `needle` has arrived; returns what was read.
async fn read_until(res: &mut reqwest::Response, buf: &mut String, needle: &str) {
    while !buf.contains(needle) {
        match res.chunk().await.unwrap() {
            Some(chunk) => buf.push_str(&String::from_utf8_lossy(&chunk)),
            None => panic!("stream ended before {needle:?}: {buf}"),
        }
    }
}

fn events(buf: &str) -> Vec<Value> {
    buf.split("\n\n")
        .filter_map(|block| block.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).expect("each data line is JSON"))
        .collect()
}

#[tokio::test]
async fn events_arrive_one_by_one_and_end_with_done() {
    let _turn = ONE_STREAM_AT_A_TIME.lock().await;
    let user = user().await;
    let mut res = client()
        .get(url("/stream?count=4&intervalMs=400&heartbeatMs=150"))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert!(res.headers().contains_key("ratelimit-policy"));

    // The first event is readable while the producer is still working: the end marker
    // has not been written yet.
    let mut buf = String::new();
    read_until(&mut res, &mut buf, "\"seq\":1").await;
    assert!(
        !buf.contains("[DONE]"),
        "the whole stream arrived at once: {buf}"
    );
    assert_eq!(events(&buf).len(), 1);

    read_until(&mut res, &mut buf, "data: [DONE]").await;
    let all = events(&buf);
    assert_eq!(
        all.iter()
            .map(|e| e["seq"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
    assert!(all.iter().all(|e| e["total"] == 4));
    assert!(
        buf.contains(": keep-alive"),
        "heartbeats between events: {buf}"
    );
    assert!(res.chunk().await.unwrap().is_none(), "nothing after [DONE]");
}

#[tokio::test]
async fn an_unauthenticated_stream_is_401_json() {
    let _turn = ONE_STREAM_AT_A_TIME.lock().await;
    let res = client().get(url("/stream?count=2")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "UNAUTHORIZED");

    let res = client()
        .get(url("/stream?count=2"))
        .bearer_auth("not.a.token")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn invalid_stream_parameters_are_422() {
    let _turn = ONE_STREAM_AT_A_TIME.lock().await;
    let user = user().await;
    let res = client()
        .get(url("/stream?count=1000"))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["error"]["details"]["fields"].get("count").is_some(),
        "{body}"
    );
}

#[tokio::test]
async fn a_client_that_goes_away_stops_the_producer() {
    let _turn = ONE_STREAM_AT_A_TIME.lock().await;
    let log_path = std::env::var("LOCAL_API_LOG").expect("LOCAL_API_LOG (set by make test)");
    let user = user().await;
    let mut res = client()
        .get(url("/stream?count=50&intervalMs=200"))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let mut buf = String::new();
    read_until(&mut res, &mut buf, "\"seq\":2").await;
    drop(res); // hang up after two of fifty events

    // The producer notices at its next write and logs how far it got.
    let mut ended = None;
    for _ in 0..100 {
        let log = std::fs::read_to_string(&log_path).unwrap();
        ended = log
            .lines()
            .filter(|l| l.contains(&request_id) && l.contains("stream ended"))
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .next();
        if ended.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ended = ended.expect("the producer logged its end");
    assert_eq!(ended["reason"], "client_gone", "{ended}");
    assert!(ended["events_sent"].as_u64().unwrap() < 50, "{ended}");
}
