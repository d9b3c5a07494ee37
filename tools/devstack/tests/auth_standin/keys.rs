//! GET /.well-known/jwks.json: the signing key and AUTH_EXTRA_PUBLIC_KEYS, public parts
//! only; the access tokens the stand-in signs verify with it.

use std::sync::Arc;

use serde_json::Value;

use crate::support::{tests, World, ISSUER};

tests![
    jwks_publishes_the_public_keys,
    tokens_verify_with_the_published_key
];

async fn jwks_publishes_the_public_keys(world: Arc<World>) {
    let app = world.app().await;
    // Open: no apikey needed.
    let answer = app
        .get("/auth/v1/.well-known/jwks.json")
        .no_apikey()
        .send()
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("cache-control"), Some("public, max-age=600"));
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let keys = answer.json()["keys"].as_array().unwrap().clone();
    let described: Vec<(&str, &str)> = keys
        .iter()
        .map(|k| (k["kid"].as_str().unwrap(), k["kty"].as_str().unwrap()))
        .collect();
    assert_eq!(
        described,
        [("key-a", "EC"), ("key-b", "EC"), ("key-c", "RSA")]
    );
    for key in &keys {
        assert_eq!(key["use"], "sig");
        assert_eq!(key["key_ops"], serde_json::json!(["verify"]));
        assert_eq!(key["ext"], true);
        // Nothing private: no EC `d`, no RSA primes.
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(key.get(private).is_none(), "{private} published: {key}");
        }
    }
    assert_eq!(keys[0]["crv"], "P-256");
}

async fn tokens_verify_with_the_published_key(world: Arc<World>) {
    let app = world.app().await;
    let user = app.user("jwks").await;
    let session = app.sign_in(&user).await;
    let token = session["access_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.kid.as_deref(), Some("key-a"));
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    let claims = app.verify_token(token).await;
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["sub"], Value::String(user.id.to_string()));
}
