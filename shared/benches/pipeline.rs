//! What the pipeline costs per request before any network call: verifying an HS256
//! access token the instance has seen (remembered) and one it has not (the signature
//! checked), refusing a tampered one, an ES256 signature check alone (the JWKS path's
//! cryptography), reading the session cookie, and parsing plus validating a JSON body.
//! Run with `cargo bench -p shared`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use jsonwebtoken::{encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use lambda_http::{Body, Request};
use serde::Deserialize;
use serde_json::json;
use shared::{App, Config};
use validator::Validate;

const SECRET: &str = "bench-only-secret-0123456789abcdef0123456789";

fn config() -> Config {
    Config::from_lookup(|name| match name {
        "SUPABASE_URL" => Some("https://bench.supabase.co".into()),
        "SUPABASE_ANON_KEY" => Some("anon".into()),
        "SUPABASE_JWT_SECRET" => Some(SECRET.into()),
        _ => None,
    })
    .unwrap()
}

fn claims() -> serde_json::Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "iss": "https://bench.supabase.co/auth/v1", "aud": "authenticated",
        "role": "authenticated", "sub": uuid::Uuid::new_v4(), "email": "a@b.c",
        "session_id": uuid::Uuid::new_v4(), "aal": "aal1", "iat": now, "exp": now + 3600,
    })
}

#[derive(Deserialize, Validate)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct NewProject {
    #[validate(
        length(min = 1, max = 100),
        custom(function = "shared::pipeline::input::plain_text")
    )]
    name: String,
    #[validate(length(max = 1000))]
    description: Option<String>,
    workspace_id: uuid::Uuid,
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let app = App::new(config()).unwrap();
    let hs256 = encode(
        &Header::default(),
        &claims(),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    c.bench_function("verify a remembered HS256 access token", |b| {
        b.iter(|| {
            rt.block_on(app.tokens.verify(black_box(&hs256), None))
                .unwrap()
        })
    });
    // A token this instance has not seen: each one different (its sub), made outside
    // the timed part.
    c.bench_function("verify a new HS256 access token", |b| {
        b.iter_batched(
            || {
                encode(
                    &Header::default(),
                    &claims(),
                    &EncodingKey::from_secret(SECRET.as_bytes()),
                )
                .unwrap()
            },
            |token| rt.block_on(app.tokens.verify(&token, None)).unwrap(),
            BatchSize::SmallInput,
        )
    });

    // The ES256 signature and claims check as the JWKS path makes it (jsonwebtoken with
    // its rust_crypto backend), without the key lookup.
    let signing = p256_key();
    let es256 = encode(
        &Header::new(Algorithm::ES256),
        &claims(),
        &EncodingKey::from_ec_der(&signing.0),
    )
    .unwrap();
    let verifying = DecodingKey::from_ec_components(&signing.1, &signing.2).unwrap();
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&["authenticated"]);
    c.bench_function("check an ES256 signature", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<serde_json::Value>(black_box(&es256), &verifying, &validation)
                .unwrap()
        })
    });

    let refused = format!("{hs256}x");
    c.bench_function("refuse a tampered token", |b| {
        b.iter(|| {
            rt.block_on(app.tokens.verify(black_box(&refused), None))
                .unwrap_err()
        })
    });

    let session = format!(
        "sb-bench-auth-token=base64-{}",
        base64_url(&json!({ "access_token": hs256, "refresh_token": "r" }).to_string())
    );
    let cookie_req: Request = http::Request::builder()
        .header("cookie", session.as_str())
        .body(Body::Empty)
        .unwrap();
    c.bench_function("read the @supabase/ssr session cookie", |b| {
        b.iter(|| {
            shared::auth::cookies::read(black_box(&cookie_req), "sb-bench-auth-token").unwrap()
        })
    });

    let body = json!({
        "name": "Launch", "description": "x".repeat(500), "workspaceId": uuid::Uuid::new_v4()
    })
    .to_string();
    let req: Request = http::Request::builder()
        .header("content-type", "application/json")
        .body(Body::Text(body))
        .unwrap();
    c.bench_function("parse and validate a JSON body", |b| {
        b.iter(|| shared::pipeline::input::json_body::<NewProject>(black_box(&req)).unwrap())
    });
}

/// A new P-256 key: its PKCS#8 DER, and the public point's x and y (base64url).
fn p256_key() -> (Vec<u8>, String, String) {
    use base64::Engine;
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    use p256::pkcs8::EncodePrivateKey;
    let key = p256::SecretKey::random(&mut rand_core::OsRng);
    let der = key.to_pkcs8_der().unwrap().as_bytes().to_vec();
    let point = key.public_key().to_encoded_point(false);
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    (der, b64(point.x().unwrap()), b64(point.y().unwrap()))
}

fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

criterion_group!(benches, bench);
criterion_main!(benches);
