//! Token attacks, each its own test, each a 401 from a user route (GET /workspaces),
//! with the contract's error body and `WWW-Authenticate: Bearer`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use functions::routes;
use integration_tests::*;
use jsonwebtoken::Algorithm;
use serde_json::{json, Value};
use uuid::Uuid;

async fn assert_refused(token: &str) -> Res {
    let res = Req::get("/workspaces")
        .bearer(token)
        .send(&routes::LIST_WORKSPACES)
        .await;
    res.assert_error(401, "UNAUTHORIZED");
    assert!(res
        .header("www-authenticate")
        .is_some_and(|v| v.starts_with("Bearer")));
    assert!(!res.body.to_string().contains(token), "token echoed");
    res
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn parts(token: &str) -> Vec<String> {
    token.split('.').map(str::to_owned).collect()
}

#[tokio::test]
async fn control_a_valid_es256_token_is_accepted() {
    // The positive control for every refusal below: same route, same claims shape.
    let user = user().await;
    let res = Req::get("/workspaces")
        .bearer(&es256_token(user.id, json!({})))
        .send(&routes::LIST_WORKSPACES)
        .await;
    res.assert_ok(200);
}

#[tokio::test]
async fn alg_none_is_refused() {
    let user = user().await;
    let header = json!({ "alg": "none", "typ": "JWT" });
    let token = format!("{}.{}.", b64(&header), b64(&claims_for(user.id, json!({}))));
    assert_refused(&token).await;
}

#[tokio::test]
async fn hs256_signed_with_the_rsa_public_key_as_secret_is_refused() {
    // The classic algorithm confusion: the attacker knows the published RSA key and
    // signs HS256 with it, hoping the verifier uses the key with the header's alg.
    let user = user().await;
    let public_pem = {
        let output = std::process::Command::new("openssl")
            .args(["pkey", "-pubout", "-in"])
            .arg(format!(
                "{}/key-c.pem",
                std::env::var("TEST_KEYS_DIR").unwrap()
            ))
            .output()
            .unwrap();
        output.stdout
    };
    let mut header = jsonwebtoken::Header::new(Algorithm::HS256);
    header.kid = Some("key-c".into());
    let token = jsonwebtoken::encode(
        &header,
        &claims_for(user.id, json!({})),
        &jsonwebtoken::EncodingKey::from_secret(&public_pem),
    )
    .unwrap();
    assert_refused(&token).await;
}

#[tokio::test]
async fn an_unknown_kid_is_refused() {
    let user = user().await;
    let token = signed_with(
        Algorithm::ES256,
        "key-that-does-not-exist",
        &ec_key("key-a"),
        &claims_for(user.id, json!({})),
    );
    assert_refused(&token).await;
}

#[tokio::test]
async fn a_kid_with_path_characters_is_refused() {
    let user = user().await;
    for kid in [
        "../../etc/passwd",
        "key-a/../key-a",
        "key-a%00",
        "key a",
        "http://evil/jwks",
    ] {
        let token = signed_with(
            Algorithm::ES256,
            kid,
            &ec_key("key-a"),
            &claims_for(user.id, json!({})),
        );
        let res = assert_refused(&token).await;
        assert!(!res.body.to_string().contains(kid));
    }
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let user = user().await;
    let now = chrono::Utc::now().timestamp();
    assert_refused(&es256_token(
        user.id,
        json!({ "iat": now - 7200, "exp": now - 3600 }),
    ))
    .await;
}

#[tokio::test]
async fn a_token_not_valid_yet_is_refused() {
    let user = user().await;
    let now = chrono::Utc::now().timestamp();
    assert_refused(&es256_token(user.id, json!({ "nbf": now + 3600 }))).await;
}

#[tokio::test]
async fn a_wrong_issuer_is_refused() {
    let user = user().await;
    assert_refused(&es256_token(
        user.id,
        json!({ "iss": "https://other.supabase.co/auth/v1" }),
    ))
    .await;
}

#[tokio::test]
async fn a_wrong_audience_is_refused() {
    let user = user().await;
    assert_refused(&es256_token(user.id, json!({ "aud": "anon" }))).await;
}

#[tokio::test]
async fn the_anon_role_is_refused_on_a_user_route() {
    let user = user().await;
    assert_refused(&es256_token(user.id, json!({ "role": "anon" }))).await;
}

#[tokio::test]
async fn the_service_role_is_refused_on_a_user_route() {
    let user = user().await;
    assert_refused(&es256_token(user.id, json!({ "role": "service_role" }))).await;
    // The real service role API key too: it is not a user.
    assert_refused(&std::env::var("SUPABASE_SERVICE_ROLE_KEY").unwrap()).await;
}

#[tokio::test]
async fn a_missing_sub_is_refused() {
    assert_refused(&es256_token(Uuid::new_v4(), json!({ "sub": null }))).await;
}

#[tokio::test]
async fn a_sub_that_is_not_a_uuid_is_refused() {
    assert_refused(&es256_token(Uuid::new_v4(), json!({ "sub": "admin" }))).await;
}

#[tokio::test]
async fn a_tampered_payload_is_refused() {
    let user = user().await;
    let other = user_with_password("irrelevant").await;
    let p = parts(&es256_token(user.id, json!({})));
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&p[1]).unwrap()).unwrap();
    claims["sub"] = json!(other.id);
    let token = format!("{}.{}.{}", p[0], b64(&claims), p[2]);
    assert_refused(&token).await;
}

#[tokio::test]
async fn a_stripped_signature_is_refused() {
    let user = user().await;
    let p = parts(&es256_token(user.id, json!({})));
    assert_refused(&format!("{}.{}.", p[0], p[1])).await;
    assert_refused(&format!("{}.{}", p[0], p[1])).await;
}

#[tokio::test]
async fn a_64_kb_token_is_refused() {
    let user = user().await;
    let padding = "x".repeat(64 * 1024);
    let token = es256_token(user.id, json!({ "user_metadata": { "padding": padding } }));
    assert!(token.len() > 64 * 1024);
    assert_refused(&token).await;
}

#[tokio::test]
async fn a_token_in_the_query_string_is_ignored() {
    let user = user().await;
    let token = es256_token(user.id, json!({}));
    for name in ["access_token", "token", "jwt"] {
        let res = Req::get("/workspaces")
            .query(name, &token)
            .send(&routes::LIST_WORKSPACES)
            .await;
        res.assert_error(401, "UNAUTHORIZED");
        assert_eq!(res.header("www-authenticate"), Some("Bearer"));
    }
}

#[tokio::test]
async fn embedded_jwk_jku_and_x5u_headers_are_ignored() {
    // A token signed with the attacker's own key (key-b is not the project's signing
    // key here: it is re-labelled), pointing at that key through header fields that
    // must never be followed. Only the configured key set decides.
    let user = user().await;
    let claims = claims_for(user.id, json!({}));
    let attacker_key = ec_key("key-b");
    let mut header = jsonwebtoken::Header::new(Algorithm::ES256);
    header.kid = Some("attacker".into());
    header.jku = Some("http://127.0.0.1:9/jwks.json".into());
    header.x5u = Some("http://127.0.0.1:9/cert.pem".into());
    header.jwk =
        Some(jsonwebtoken::jwk::Jwk::from_encoding_key(&attacker_key, Algorithm::ES256).unwrap());
    let token = jsonwebtoken::encode(&header, &claims, &attacker_key).unwrap();
    assert_refused(&token).await;
}
