//! The JWKS cache against a JWKS endpoint the test controls: key rotation without a
//! redeploy, outages after start-up, and bounded refetching for unknown kids.

use std::time::Duration;

use functions::routes;
use integration_tests::*;
use jsonwebtoken::Algorithm;
use serde_json::json;

fn jwks(kids: &[(&str, Algorithm)]) -> serde_json::Value {
    json!({ "keys": kids.iter().map(|(k, a)| public_jwk(k, *a)).collect::<Vec<_>>() })
}

async fn list(app: &shared::App, token: &str) -> Res {
    send_with(
        app,
        &routes::LIST_WORKSPACES,
        Req::get("/workspaces").bearer(token).build(),
    )
    .await
}

#[tokio::test]
async fn a_key_published_after_start_up_is_accepted_after_one_refetch() {
    let server = JwksServer::start(jwks(&[("key-a", Algorithm::ES256)])).await;
    let app = app_with_jwks(&server.url, Duration::from_secs(600), Duration::ZERO);
    let user = user().await;

    list(&app, &es256_token(user.id, json!({})))
        .await
        .assert_ok(200);
    assert_eq!(server.fetches(), 1, "one fetch at first use");

    // Rotation: key-b appears in the set and starts signing.
    server.serve(jwks(&[
        ("key-a", Algorithm::ES256),
        ("key-b", Algorithm::ES256),
    ]));
    let rotated = signed_with(
        Algorithm::ES256,
        "key-b",
        &ec_key("key-b"),
        &claims_for(user.id, json!({})),
    );
    list(&app, &rotated).await.assert_ok(200);
    assert_eq!(server.fetches(), 2, "exactly one refetch for the new kid");

    // Both keys now come from the cache.
    list(&app, &rotated).await.assert_ok(200);
    list(&app, &es256_token(user.id, json!({})))
        .await
        .assert_ok(200);
    assert_eq!(server.fetches(), 2);
}

#[tokio::test]
async fn a_remembered_token_is_refused_once_its_key_leaves_the_set() {
    let server = JwksServer::start(jwks(&[
        ("key-a", Algorithm::ES256),
        ("key-b", Algorithm::ES256),
    ]))
    .await;
    // A zero lifetime: every request looks at the key set as it is now.
    let app = app_with_jwks(&server.url, Duration::ZERO, Duration::ZERO);
    let user = user().await;
    let token = signed_with(
        Algorithm::ES256,
        "key-b",
        &ec_key("key-b"),
        &claims_for(user.id, json!({})),
    );
    // Verified once, then taken from the instance's verified tokens.
    list(&app, &token).await.assert_ok(200);
    list(&app, &token).await.assert_ok(200);

    // key-b is revoked: it leaves the published set.
    server.serve(jwks(&[("key-a", Algorithm::ES256)]));
    list(&app, &token).await.assert_error(401, "UNAUTHORIZED");
    // A token of the key that stays is still accepted.
    list(&app, &es256_token(user.id, json!({})))
        .await
        .assert_ok(200);
}

#[tokio::test]
async fn rs256_keys_from_the_jwks_verify_too() {
    let server = JwksServer::start(jwks(&[("key-c", Algorithm::RS256)])).await;
    let app = app_with_jwks(&server.url, Duration::from_secs(600), Duration::ZERO);
    let user = user().await;
    let token = signed_with(
        Algorithm::RS256,
        "key-c",
        &rsa_key("key-c"),
        &claims_for(user.id, json!({})),
    );
    list(&app, &token).await.assert_ok(200);
    // An RS256 key never verifies an ES256 header (the key decides the algorithm).
    let confused = signed_with(
        Algorithm::ES256,
        "key-c",
        &ec_key("key-a"),
        &claims_for(user.id, json!({})),
    );
    list(&app, &confused)
        .await
        .assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn an_outage_after_start_up_keeps_accepting_valid_tokens() {
    let server = JwksServer::start(jwks(&[("key-a", Algorithm::ES256)])).await;
    // A zero lifetime: every request wants a fresh set, so every request meets the outage.
    let app = app_with_jwks(&server.url, Duration::ZERO, Duration::ZERO);
    let user = user().await;
    list(&app, &es256_token(user.id, json!({})))
        .await
        .assert_ok(200);

    server.go_down();
    for _ in 0..3 {
        list(&app, &es256_token(user.id, json!({})))
            .await
            .assert_ok(200);
    }
    assert!(
        server.fetches() >= 4,
        "it did try to refresh: {}",
        server.fetches()
    );
    // And still refuses what it always refused.
    let unknown = signed_with(
        Algorithm::ES256,
        "key-b",
        &ec_key("key-b"),
        &claims_for(user.id, json!({})),
    );
    list(&app, &unknown).await.assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn unknown_kids_refetch_at_most_once_per_cooldown() {
    let server = JwksServer::start(jwks(&[("key-a", Algorithm::ES256)])).await;
    let app = app_with_jwks(
        &server.url,
        Duration::from_secs(600),
        Duration::from_secs(60),
    );
    let user = user().await;
    list(&app, &es256_token(user.id, json!({})))
        .await
        .assert_ok(200);
    for i in 0..20 {
        let token = signed_with(
            Algorithm::ES256,
            &format!("bogus-{i}"),
            &ec_key("key-a"),
            &claims_for(user.id, json!({})),
        );
        list(&app, &token).await.assert_error(401, "UNAUTHORIZED");
    }
    assert_eq!(
        server.fetches(),
        1,
        "bogus kids within the cooldown cause no fetch"
    );
}

#[tokio::test]
async fn a_jwks_that_was_never_reachable_is_503_not_401() {
    let server = JwksServer::start(jwks(&[("key-a", Algorithm::ES256)])).await;
    server.go_down();
    let app = app_with_jwks(&server.url, Duration::from_secs(600), Duration::ZERO);
    let user = user().await;
    let res = list(&app, &es256_token(user.id, json!({}))).await;
    res.assert_error(503, "SERVICE_UNAVAILABLE");
    // Once it is back, the same token is accepted.
    server.serve(jwks(&[("key-a", Algorithm::ES256)]));
    list(&app, &es256_token(user.id, json!({})))
        .await
        .assert_ok(200);
}

#[tokio::test]
async fn an_invalid_jwks_document_is_not_used() {
    let server = JwksServer::start(json!({ "keys": "not a list" })).await;
    let app = app_with_jwks(&server.url, Duration::from_secs(600), Duration::ZERO);
    let user = user().await;
    list(&app, &es256_token(user.id, json!({})))
        .await
        .assert_error(503, "SERVICE_UNAVAILABLE");

    // A symmetric key smuggled into the set is never used for HS256 or anything else.
    server.serve(json!({ "keys": [{ "kty": "oct", "kid": "key-a", "k": "c2VjcmV0" }] }));
    let forged = signed_with(
        Algorithm::HS256,
        "key-a",
        &jsonwebtoken::EncodingKey::from_secret(b"secret"),
        &claims_for(user.id, json!({})),
    );
    list(&app, &forged).await.assert_error(401, "UNAUTHORIZED");

    // An oversized document is refused as a whole.
    let mut keys = vec![public_jwk("key-a", Algorithm::ES256)];
    keys.push(json!({ "kty": "EC", "kid": "pad", "x": "x".repeat(70 * 1024) }));
    server.serve(json!({ "keys": keys }));
    let fresh = app_with_jwks(&server.url, Duration::from_secs(600), Duration::ZERO);
    list(&fresh, &es256_token(user.id, json!({})))
        .await
        .assert_error(503, "SERVICE_UNAVAILABLE");
}
