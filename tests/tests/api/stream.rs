//! GET /stream: server-sent events through the real compiled binary under
//! `cargo lambda watch` (lambda_http's streaming runner), read incrementally.

use integration_tests::sse::{client, read_until, url};
use integration_tests::*;
use serde_json::Value;

/// `cargo lambda watch` runs one instance per function and mixes up concurrent
/// streaming invocations of the same function (on AWS every concurrent request gets
/// its own execution environment): the tests in this file take turns.
static ONE_STREAM_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A turn at the stream function. Released a moment after the test's last response:
/// `cargo lambda watch` closes the runtime connection after a streamed response, and the
/// function's runtime client must see that before its next poll (a local-only race;
/// Lambda's runtime API keeps the connection).
struct Turn(#[allow(dead_code)] tokio::sync::MutexGuard<'static, ()>);

async fn turn() -> Turn {
    Turn(ONE_STREAM_AT_A_TIME.lock().await)
}

impl Drop for Turn {
    fn drop(&mut self) {
        std::thread::sleep(std::time::Duration::from_millis(500));
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
    let _turn = turn().await;
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
    let _turn = turn().await;
    let res = client().get(url("/stream?count=2")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "UNAUTHORIZED");
    drop(_turn);

    let _turn = turn().await;
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
    let _turn = turn().await;
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

    // Each bound alone is fine, together they would outlast the function's 60 s
    // timeout: refused before any event, naming intervalMs.
    let res = client()
        .get(url("/stream?count=100&intervalMs=10000"))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    let fields = body["error"]["details"]["fields"].as_object().unwrap();
    assert_eq!(fields.keys().collect::<Vec<_>>(), ["intervalMs"], "{body}");
}
