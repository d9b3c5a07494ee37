//! One upstream round trip per request (issue 10): each route that needs only Postgres
//! makes exactly one PostgREST request on its happy path, counted by a proxy in front
//! of the real PostgREST. The write's rate-limit hit travels in that same request (the
//! database's request gate counts it and sets the RateLimit headers).
//!
//! Refusals may take more work than successes; the counts here are for successes.

use functions::routes;
use integration_tests::*;
use serde_json::json;

/// The route's PostgREST requests for one successful call, in order.
async fn upstream(
    proxy: &CountingProxy,
    route: &shared::Route,
    req: Req,
    status: u16,
) -> Vec<String> {
    proxy.take();
    let res = send_with(&proxy.app(), route, req.build()).await;
    res.assert_ok(status);
    proxy.take()
}

#[tokio::test]
async fn each_project_route_makes_one_postgrest_request() {
    let proxy = CountingProxy::start().await;
    let admin = user().await;
    let ws = workspace(&admin).await;
    let id = project(ws, &admin, "Counted").await;

    let calls = upstream(
        &proxy,
        &routes::LIST_PROJECTS,
        Req::get("/projects")
            .as_user(&admin)
            .query("workspaceId", ws),
        200,
    )
    .await;
    assert_eq!(
        calls,
        ["POST /rpc/list_projects"],
        "list inside one workspace"
    );

    let calls = upstream(
        &proxy,
        &routes::LIST_PROJECTS,
        Req::get("/projects").as_user(&admin),
        200,
    )
    .await;
    assert_eq!(calls, ["POST /rpc/list_projects"], "list across workspaces");

    let calls = upstream(
        &proxy,
        &routes::GET_PROJECT,
        Req::get("/projects/{id}").as_user(&admin).param("id", id),
        200,
    )
    .await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(calls[0].starts_with("GET /projects?"), "{calls:?}");

    let calls = upstream(
        &proxy,
        &routes::CREATE_PROJECT,
        Req::post("/projects")
            .as_user(&admin)
            .json(json!({ "workspaceId": ws, "name": "One trip" })),
        201,
    )
    .await;
    assert_eq!(
        calls,
        ["POST /rpc/create_project"],
        "create: role check, count and insert in one"
    );

    let calls = upstream(
        &proxy,
        &routes::UPDATE_PROJECT,
        Req::patch("/projects/{id}")
            .as_user(&admin)
            .param("id", id)
            .json(json!({ "name": "Renamed" })),
        200,
    )
    .await;
    assert_eq!(calls, ["POST /rpc/update_project"]);

    let calls = upstream(
        &proxy,
        &routes::DELETE_PROJECT,
        Req::delete("/projects/{id}")
            .as_user(&admin)
            .param("id", id),
        204,
    )
    .await;
    assert_eq!(calls, ["POST /rpc/delete_project"]);
}

/// The write counted by the request gate is counted once, and its RateLimit headers
/// reach the API's answer.
#[tokio::test]
async fn a_write_counted_in_the_database_carries_its_ratelimit_headers() {
    let admin = user().await;
    let ws = workspace(&admin).await;
    let key = format!("user:write:{}", admin.id);
    let counter = || async {
        db().await
            .query_opt(
                "select coalesce(sum(hits), 0)::bigint from private.rate_limit_counters where key = $1",
                &[&key],
            )
            .await
            .unwrap()
            .map(|r| r.get::<_, i64>(0))
            .unwrap_or(0)
    };
    let before = counter().await;
    let res = Req::post("/projects")
        .as_user(&admin)
        .json(json!({ "workspaceId": ws, "name": "Counted once" }))
        .send(&routes::CREATE_PROJECT)
        .await;
    res.assert_ok(201);
    assert_eq!(counter().await, before + 1, "one hit for one write");
    assert_eq!(res.header("ratelimit-policy"), Some("\"write\";q=120;w=60"));
    let state = res.header("ratelimit").expect("RateLimit");
    assert!(state.starts_with("\"write\";r="), "{state}");

    // A write the database refuses (a name too long for the column's rule is caught in
    // Rust; a workspace the caller is not in is refused in SQL) is rolled back with its
    // count, and answers without the headers of a count that did not happen.
    let stranger = user().await;
    let before = {
        let key = format!("user:write:{}", stranger.id);
        db().await
            .query_opt(
                "select coalesce(sum(hits), 0)::bigint from private.rate_limit_counters where key = $1",
                &[&key],
            )
            .await
            .unwrap()
            .map(|r| r.get::<_, i64>(0))
            .unwrap_or(0)
    };
    let res = Req::post("/projects")
        .as_user(&stranger)
        .json(json!({ "workspaceId": ws, "name": "Not mine" }))
        .send(&routes::CREATE_PROJECT)
        .await;
    res.assert_error(404, "NOT_FOUND");
    assert_eq!(res.body["error"]["message"], "Workspace not found");
    let after = db()
        .await
        .query_one(
            "select coalesce(sum(hits), 0)::bigint from private.rate_limit_counters where key = $1",
            &[&format!("user:write:{}", stranger.id)],
        )
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(after, before, "the refused write's count was rolled back");
}
