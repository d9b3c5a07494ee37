//! Over real HTTP through the compiled Lambda binaries under `cargo lambda watch` (the
//! local API Gateway that scripts/test.sh starts), using the watch router of Cargo.toml.

use std::time::Duration;

use integration_tests::*;
use serde_json::{json, Value};

fn client() -> reqwest::Client {
    // The first call to a function starts its binary (cargo run): allow for that.
    reqwest::Client::builder()
        .timeout(Duration::from_secs(180))
        .build()
        .unwrap()
}

fn url(path: &str) -> String {
    format!("{}{}", stack().api_url, path)
}

#[tokio::test]
async fn a_user_creates_a_workspace_and_a_project_and_lists_it_over_http() {
    let user = user().await;
    let http = client();

    let res = http
        .post(url("/workspaces"))
        .bearer_auth(&user.token)
        .json(&json!({ "name": "Over HTTP" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"]["role"], "admin");
    let workspace_id = body["data"]["id"].as_str().unwrap().to_owned();

    let res = http
        .post(url("/projects"))
        .bearer_auth(&user.token)
        .json(&json!({ "name": "Launch", "workspaceId": workspace_id }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    let project_id = body["data"]["id"].as_str().unwrap().to_owned();

    let res = http
        .get(url(&format!(
            "/projects?workspaceId={workspace_id}&pageSize=5"
        )))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["data"][0]["id"], project_id.as_str());
    assert_eq!(
        body["pagination"],
        json!({ "page": 1, "pageSize": 5, "total": 1, "totalPages": 1 })
    );

    let project_uuid: uuid::Uuid = project_id.parse().unwrap();
    let row = db()
        .await
        .query_one(
            "select name, created_by from public.projects where id = $1",
            &[&project_uuid],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "Launch");
    assert_eq!(row.get::<_, uuid::Uuid>(1), user.id);
}

#[tokio::test]
async fn refusals_keep_their_shape_over_http() {
    let http = client();

    let res = http.get(url("/projects")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "UNAUTHORIZED");

    let user = user().await;
    let res = http
        .get(url("/projects/not-a-uuid"))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "NOT_FOUND");

    let res = http
        .post(url("/projects"))
        .bearer_auth(&user.token)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);

    let res = http.get(url("/health")).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

/// The function's request log line (JSON, in the `cargo lambda watch` output that
/// scripts/test.sh keeps in LOCAL_API_LOG) carries request id, route, status, latency
/// and user id, and the token appears nowhere in the log.
#[tokio::test]
async fn each_request_logs_one_json_line_without_the_token() {
    let log_path = std::env::var("LOCAL_API_LOG").expect("LOCAL_API_LOG (set by make test)");
    let user = user().await;
    let res = client()
        .get(url("/workspaces"))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();

    let mut line = None;
    for _ in 0..50 {
        let log = std::fs::read_to_string(&log_path).unwrap();
        line = log
            .lines()
            .filter(|l| l.contains(&request_id))
            .map(|l| serde_json::from_str::<Value>(l).expect("a JSON log line"))
            .find(|v| v["message"] == "request");
        if line.is_some() {
            assert!(!log.contains(&user.token), "the token was logged");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let line = line.expect("a request log line with the request id");
    assert_eq!(line["route"], "list-workspaces");
    assert_eq!(line["method"], "GET");
    assert_eq!(line["status"], 200);
    assert!(line["latency_ms"].is_u64());
    assert_eq!(line["user_id"], user.id.to_string());
}
