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

/// Every other route that needs only Postgres: one request each on its happy path.
#[tokio::test]
async fn every_postgres_only_route_makes_one_postgrest_request() {
    let proxy = CountingProxy::start().await;
    let admin = user_with_role("admin").await;
    let other = user().await;
    let ws = workspace(&admin).await;

    let one = |calls: Vec<String>, what: &str| {
        assert_eq!(calls.len(), 1, "{what}: {calls:?}");
        calls.into_iter().next().unwrap()
    };

    // Workspaces and members.
    let call = one(
        upstream(
            &proxy,
            &routes::CREATE_WORKSPACE,
            Req::post("/workspaces")
                .as_user(&admin)
                .json(json!({ "name": "Trips" })),
            201,
        )
        .await,
        "create-workspace",
    );
    assert_eq!(call, "POST /rpc/create_workspace");
    one(
        upstream(
            &proxy,
            &routes::LIST_WORKSPACES,
            Req::get("/workspaces").as_user(&admin),
            200,
        )
        .await,
        "list-workspaces",
    );
    let call = one(
        upstream(
            &proxy,
            &routes::ADD_WORKSPACE_MEMBER,
            Req::post("/workspaces/{id}/members")
                .as_user(&admin)
                .param("id", ws)
                .json(json!({ "userId": other.id, "role": "member" })),
            201,
        )
        .await,
        "add-workspace-member",
    );
    assert_eq!(call, "POST /rpc/add_workspace_member");
    let call = one(
        upstream(
            &proxy,
            &routes::REMOVE_WORKSPACE_MEMBER,
            Req::delete("/workspaces/{id}/members/{userId}")
                .as_user(&admin)
                .param("id", ws)
                .param("userId", other.id),
            204,
        )
        .await,
        "remove-workspace-member",
    );
    assert_eq!(call, "POST /rpc/remove_workspace_member");

    // Posts.
    let res = Req::post("/posts")
        .as_user(&admin)
        .json(json!({ "title": "Trip" }))
        .send(&routes::CREATE_POST)
        .await;
    let post = res.assert_ok(201)["id"].as_str().unwrap().to_owned();
    one(
        upstream(
            &proxy,
            &routes::CREATE_POST,
            Req::post("/posts")
                .as_user(&admin)
                .json(json!({ "title": "Another" })),
            201,
        )
        .await,
        "create-post",
    );
    assert_eq!(
        one(
            upstream(
                &proxy,
                &routes::LIST_POSTS,
                Req::get("/posts").as_user(&admin),
                200
            )
            .await,
            "list-posts"
        ),
        "POST /rpc/list_posts"
    );
    one(
        upstream(
            &proxy,
            &routes::GET_POST,
            Req::get("/posts/{id}").as_user(&admin).param("id", &post),
            200,
        )
        .await,
        "get-post",
    );
    assert_eq!(
        one(
            upstream(
                &proxy,
                &routes::UPDATE_POST,
                Req::patch("/posts/{id}")
                    .as_user(&admin)
                    .param("id", &post)
                    .json(json!({ "title": "Renamed" })),
                200
            )
            .await,
            "update-post"
        ),
        "POST /rpc/update_post"
    );
    one(
        upstream(
            &proxy,
            &routes::PUBLISH_POST,
            Req::post("/posts/{id}/publish")
                .as_user(&admin)
                .param("id", &post),
            200,
        )
        .await,
        "publish-post",
    );
    assert_eq!(
        one(
            upstream(
                &proxy,
                &routes::DELETE_POST,
                Req::delete("/posts/{id}")
                    .as_user(&admin)
                    .param("id", &post),
                204
            )
            .await,
            "delete-post"
        ),
        "POST /rpc/delete_post"
    );

    // Users, /me, settings, the audit log.
    assert_eq!(
        one(
            upstream(&proxy, &routes::ME, Req::get("/me").as_user(&admin), 200).await,
            "me"
        ),
        "POST /rpc/me"
    );
    assert_eq!(
        one(
            upstream(
                &proxy,
                &routes::LIST_USERS,
                Req::get("/users")
                    .as_user(&admin)
                    .query("search", "example"),
                200
            )
            .await,
            "list-users"
        ),
        "POST /rpc/list_users"
    );
    assert_eq!(
        one(
            upstream(
                &proxy,
                &routes::GET_USER,
                Req::get("/users/{id}")
                    .as_user(&admin)
                    .param("id", other.id),
                200
            )
            .await,
            "get-user"
        ),
        "POST /rpc/get_user"
    );
    one(
        upstream(
            &proxy,
            &routes::UPDATE_USER,
            Req::patch("/users/{id}")
                .as_user(&admin)
                .param("id", admin.id)
                .json(json!({ "name": "Ada Trips" })),
            200,
        )
        .await,
        "update-user",
    );
    // PUT /settings rewrites the shared rows (same values, new updated_by).
    let _settings = SETTINGS_LOCK.lock().await;
    let settings = Req::get("/settings")
        .as_user(&admin)
        .send(&routes::GET_SETTINGS)
        .await;
    let current = settings.assert_ok(200).clone();
    assert_eq!(
        one(
            upstream(
                &proxy,
                &routes::GET_SETTINGS,
                Req::get("/settings").as_user(&admin),
                200
            )
            .await,
            "get-settings"
        ),
        "POST /rpc/get_settings"
    );
    one(
        upstream(
            &proxy,
            &routes::UPDATE_SETTINGS,
            Req::new(http::Method::PUT, "/settings")
                .as_user(&admin)
                .json(current),
            200,
        )
        .await,
        "update-settings",
    );
    assert_eq!(
        one(
            upstream(
                &proxy,
                &routes::LIST_AUDIT_LOG,
                Req::get("/audit-log").as_user(&admin),
                200
            )
            .await,
            "list-audit-log"
        ),
        "POST /rpc/list_audit_log"
    );

    // Uploads: the row in one request (presigning is local, S3 is not called).
    one(
        upstream(
            &proxy,
            &routes::CREATE_UPLOAD,
            Req::post("/uploads")
                .as_user(&admin)
                .json(json!({ "filename": "trip.png", "contentType": "image/png", "size": 100 })),
            201,
        )
        .await,
        "create-upload",
    );
    one(
        upstream(
            &proxy,
            &routes::LIST_UPLOADS,
            Req::get("/uploads").as_user(&admin),
            200,
        )
        .await,
        "list-uploads",
    );

    // An export: each part one call (download URLs are presigned locally).
    for part in functions::users::export::ExportPart::ALL {
        let call = one(
            upstream(
                &proxy,
                &routes::EXPORT_MY_DATA,
                Req::get("/me/export")
                    .as_user(&admin)
                    .query("part", part.as_str()),
                200,
            )
            .await,
            part.as_str(),
        );
        assert_eq!(call, "POST /rpc/export_my_data");
    }
}

/// The user's hits on `write` in the current counters.
async fn write_hits(user: uuid::Uuid) -> i64 {
    db().await
        .query_one(
            "select coalesce(sum(hits), 0)::bigint from private.rate_limit_counters where key = $1",
            &[&format!("user:write:{user}")],
        )
        .await
        .unwrap()
        .get(0)
}

/// The write counted by the request gate is counted once, and its RateLimit headers
/// reach the API's answer.
#[tokio::test]
async fn a_write_counted_in_the_database_carries_its_ratelimit_headers() {
    let admin = user().await;
    let ws = workspace(&admin).await;
    let before = write_hits(admin.id).await;
    let res = Req::post("/projects")
        .as_user(&admin)
        .json(json!({ "workspaceId": ws, "name": "Counted once" }))
        .send(&routes::CREATE_PROJECT)
        .await;
    res.assert_ok(201);
    assert_eq!(
        write_hits(admin.id).await,
        before + 1,
        "one hit for one write"
    );
    assert_eq!(res.header("ratelimit-policy"), Some("\"write\";q=120;w=60"));
    let state = res.header("ratelimit").expect("RateLimit");
    assert!(state.starts_with("\"write\";r="), "{state}");

    // A write the database refuses (a workspace the caller is not in is refused in SQL)
    // is rolled back with its count.
    let stranger = user().await;
    let before = write_hits(stranger.id).await;
    let res = Req::post("/projects")
        .as_user(&stranger)
        .json(json!({ "workspaceId": ws, "name": "Not mine" }))
        .send(&routes::CREATE_PROJECT)
        .await;
    res.assert_error(404, "NOT_FOUND");
    assert_eq!(res.body["error"]["message"], "Workspace not found");
    assert_eq!(
        write_hits(stranger.id).await,
        before,
        "the refused write's count was rolled back"
    );
}
