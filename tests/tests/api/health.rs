//! GET /health: no credentials, no database.

use functions::routes;
use integration_tests::*;

#[tokio::test]
async fn health_answers_without_a_token_or_a_database() {
    let res = Req::get("/health").send(&routes::HEALTH).await;
    let data = res.assert_ok(200);
    assert_eq!(data["status"], "ok");

    // Even with PostgREST gone it answers: it never touches the database.
    let app = app_with_unreachable_postgrest();
    let res = send_with(&app, &routes::HEALTH, Req::get("/health").build()).await;
    assert_eq!(res.status, 200);
}

#[tokio::test]
async fn a_wrong_method_is_405_with_allow() {
    let res = Req::post("/health").send(&routes::HEALTH).await;
    res.assert_error(405, "METHOD_NOT_ALLOWED");
    assert_eq!(res.header("allow"), Some("GET"));
}

/// A PostgREST that accepts the connection but never answers: the call times out
/// (UPSTREAM_TIMEOUT_MS) and the request is a clean 503, not a hang or a 500.
#[tokio::test]
async fn a_postgrest_that_hangs_is_503_after_the_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket); // keep it open, say nothing
        }
    });
    let config = shared::Config::from_lookup(|name| match name {
        "SUPABASE_REST_URL" => Some(format!("http://127.0.0.1:{port}")),
        "UPSTREAM_TIMEOUT_MS" => Some("300".into()),
        other => std::env::var(other).ok(),
    })
    .unwrap();
    let app = shared::App::new(config).unwrap();
    let user = user().await;
    let res = send_with(
        &app,
        &routes::LIST_WORKSPACES,
        Req::get("/workspaces").as_user(&user).build(),
    )
    .await;
    res.assert_error(503, "SERVICE_UNAVAILABLE");
    let body = res.body.to_string();
    assert!(
        !body.contains("timed out") && !body.contains("127.0.0.1"),
        "{body}"
    );
}
