//! The Authorization header and the token behind it: `credential` (header over cookie,
//! bearer syntax, size limits) and, for whatever token it yields, the verifier (JWT
//! header, base64, claims, HS256 signature; a `kid` asks a JWKS URL that refuses the
//! connection at once). Input: the header value, then after a NUL byte a Cookie header.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use shared::auth::{credential, TokenVerifier};

const COOKIE: &str = "sb-local-auth-token";

fn verifier() -> &'static (tokio::runtime::Runtime, TokenVerifier) {
    static VERIFIER: OnceLock<(tokio::runtime::Runtime, TokenVerifier)> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let config = shared::Config::from_lookup(|name| {
            match name {
                "SUPABASE_URL" => Some("http://127.0.0.1:9".into()),
                "SUPABASE_ANON_KEY" => Some("fuzz-anon-key".into()),
                // Dev-only: the corpus's valid tokens are signed with it.
                "SUPABASE_JWT_SECRET" => Some("fuzz-secret-not-a-secret-0123456789abcdef".into()),
                "AUTH_COOKIE_NAME" => Some(COOKIE.into()),
                _ => None,
            }
        })
        .expect("fuzz config");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let client = reqwest_client();
        let verifier = TokenVerifier::new(&config, client).expect("verifier");
        (runtime, verifier)
    })
}

fn reqwest_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(200))
        .build()
        .expect("client")
}

fuzz_target!(|data: &[u8]| {
    let (authorization, cookie) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let mut builder = http::Request::builder();
    if let Ok(value) = http::HeaderValue::from_bytes(authorization) {
        if !authorization.is_empty() {
            builder = builder.header(http::header::AUTHORIZATION, value);
        }
    }
    if let Some(Ok(value)) = cookie.map(http::HeaderValue::from_bytes) {
        builder = builder.header(http::header::COOKIE, value);
    }
    let Ok(req) = builder.body(lambda_http::Body::Empty) else {
        return;
    };
    if let Ok((token, _)) = credential(&req, COOKIE) {
        let (runtime, verifier) = verifier();
        let _ = runtime.block_on(verifier.verify(&token, None));
    }
});
