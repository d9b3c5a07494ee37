//! GET /stream: a client that hangs up stops the producer. In its own test binary, which
//! cargo runs after the `api` one: no other test uses the function after the hang-up.

use std::time::Duration;

use integration_tests::sse::{client, read_until, url};
use integration_tests::*;
use serde_json::Value;

#[tokio::test]
async fn a_client_that_goes_away_stops_the_producer() {
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
