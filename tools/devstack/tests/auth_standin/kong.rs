//! Kong in front of GoTrue: the apikey check, its open routes, and the 404s of paths
//! outside /auth/v1 (Kong's) and of unknown routes and methods (GoTrue's).

use std::sync::Arc;

use axum::http::Method;
use serde_json::json;

use crate::support::{tests, World, SERVICE_KEY};

tests![
    paths_outside_auth_v1_are_kongs_404,
    keyed_routes_need_the_anon_or_service_role_key,
    open_routes_need_no_key,
    unknown_routes_and_methods_are_gotrues_404,
];

async fn paths_outside_auth_v1_are_kongs_404(world: Arc<World>) {
    let app = world.app().await;
    for path in ["/", "/auth", "/rest/v1/users", "//auth/v1/user"] {
        let answer = app.get(path).send().await;
        assert_eq!(answer.status, 404, "{path}");
        assert_eq!(
            answer.json(),
            json!({ "message": "no Route matched with those values" })
        );
    }
}

async fn keyed_routes_need_the_anon_or_service_role_key(world: Arc<World>) {
    let app = world.app().await;
    let answer = app.get("/auth/v1/user").no_apikey().send().await;
    assert_eq!(answer.status, 401);
    let hint = "No `apikey` request header or url param was found.";
    assert_eq!(
        answer.json(),
        json!({ "message": "No API key found in request", "hint": hint })
    );

    let answer = app
        .get("/auth/v1/user")
        .header("apikey", "wrong")
        .send()
        .await;
    assert_eq!(answer.status, 401);
    let hint = "Double check your Supabase `anon` or `service_role` API key.";
    assert_eq!(
        answer.json(),
        json!({ "message": "Invalid API key", "hint": hint })
    );

    // The key passes (the endpoint then wants a bearer token): as a header, as a query
    // parameter (percent-decoded), the service role's too.
    for call in [
        app.get("/auth/v1/user"),
        app.get("/auth/v1/user?apikey=test%2Danon-key").no_apikey(),
        app.get("/auth/v1/user").header("apikey", SERVICE_KEY),
    ] {
        call.send().await.assert_error(
            401,
            "no_authorization",
            "This endpoint requires a valid Bearer token",
        );
    }
    // Only GET of the JWKS is open.
    let answer = app
        .request(Method::HEAD, "/auth/v1/.well-known/jwks.json")
        .no_apikey()
        .send()
        .await;
    assert_eq!(answer.status, 401);
}

async fn open_routes_need_no_key(world: Arc<World>) {
    let app = world.app().await;
    let jwks = app
        .get("/auth/v1/.well-known/jwks.json")
        .no_apikey()
        .send()
        .await;
    assert_eq!(jwks.status, 200);
    let verify = app
        .post("/auth/v1/verify")
        .no_apikey()
        .json(json!({}))
        .send()
        .await;
    verify.assert_error(
        400,
        "validation_failed",
        "Verify requires a verification type",
    );
    let authorize = app
        .get("/auth/v1/authorize?provider=github")
        .no_apikey()
        .send()
        .await;
    assert_eq!(authorize.status, 302);
    let callback = app.get("/auth/v1/callback").no_apikey().send().await;
    callback.assert_error(404, "not_found", "Not Found");
    let provider = app
        .get("/auth/v1/_fake-provider/github/authorize")
        .no_apikey()
        .send()
        .await;
    assert_eq!(provider.status, 303);
    let mailbox = app.get("/auth/v1/_dev/mailbox").no_apikey().send().await;
    mailbox.assert_error(
        401,
        "no_authorization",
        "This endpoint requires a valid Bearer token",
    );
    // Another method on an open path is not open.
    let answer = app
        .request(Method::POST, "/auth/v1/_dev/mailbox")
        .no_apikey()
        .send()
        .await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.json()["message"], "No API key found in request");
}

async fn unknown_routes_and_methods_are_gotrues_404(world: Arc<World>) {
    let app = world.app().await;
    let calls = [
        app.get("/auth/v1"),
        app.get("/auth/v1/nope"),
        app.get("/auth/v1/user/"),
        app.get("/auth/v1/us%65r"),
        app.get("/auth/v1/token"),
        app.request(Method::OPTIONS, "/auth/v1/user"),
        app.request(Method::HEAD, "/auth/v1/.well-known/jwks.json"),
        app.request(Method::HEAD, "/auth/v1/_fake-provider/github/authorize"),
        app.request(Method::PATCH, "/auth/v1/_dev/mailbox"),
        app.put("/auth/v1/authorize"),
        app.get("/auth/v1/verify"),
        app.get("/auth/v1/_fake-provider//authorize"),
        app.get("/auth/v1/_fake-provider/a/b/authorize"),
        app.post("/auth/v1/admin/users/x").bearer(SERVICE_KEY),
    ];
    for call in calls {
        let answer = call.send().await;
        assert_eq!(answer.status, 404);
        // No 405, no Allow header (axum's own answer to a wrong method).
        assert_eq!(answer.header("allow"), None);
        if !answer.body.is_empty() {
            answer.assert_error(404, "not_found", "Not Found");
        }
    }
}
