//! The @supabase/ssr session cookie: one or more Cookie headers (split at NUL bytes),
//! whole or in `.0`, `.1`, ... chunks, `base64-` prefixed or raw JSON, read as the
//! pipeline reads it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::auth::cookies;

const COOKIE: &str = "sb-local-auth-token";

fuzz_target!(|data: &[u8]| {
    let mut builder = http::Request::builder();
    for part in data.split(|b| *b == 0) {
        if let Ok(value) = http::HeaderValue::from_bytes(part) {
            builder = builder.header(http::header::COOKIE, value);
        }
    }
    let Ok(req) = builder.body(lambda_http::Body::Empty) else {
        return;
    };
    let names = cookies::present_names(&req, COOKIE);
    if let Some(session) = cookies::read(&req, COOKIE) {
        assert!(!names.is_empty(), "a session from no cookie of that name");
        let _ = session.access_token.len();
    }
});
