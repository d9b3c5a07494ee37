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
