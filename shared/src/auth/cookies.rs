//! The @supabase/ssr session cookie: `sb-<project-ref>-auth-token`, holding the whole
//! session as `base64-` + base64url(JSON) (older clients: URI-encoded JSON), split into
//! `<name>.0`, `<name>.1`, ... chunks when longer than 3180 characters.

use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use cookie::{Cookie, SameSite};
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};

/// @supabase/ssr's chunk size (after encodeURIComponent, a no-op on base64url).
pub const MAX_CHUNK_SIZE: usize = 3180;
/// Cookies longer than this in total are not read (a session is 2-4 KB).
pub const MAX_SESSION_BYTES: usize = 32 * 1024;
/// @supabase/ssr's default lifetime: 400 days.
pub const MAX_AGE_SECONDS: i64 = 400 * 24 * 60 * 60;
const BASE64_PREFIX: &str = "base64-";

/// What this backend reads from a session; the rest of the JSON is ignored.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct StoredSession {
    pub access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// All cookies of the request, by name (the last one wins on duplicates).
pub fn request_cookies(req: &Request) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for header in req.headers().get_all(http::header::COOKIE) {
        let Ok(text) = header.to_str() else { continue };
        for cookie in Cookie::split_parse(text).flatten() {
            out.push((cookie.name().to_owned(), cookie.value().to_owned()));
        }
    }
    out
}

/// The raw session value: the bare cookie, else the chunks `.0`, `.1`, ... joined in
/// order until one is missing.
fn raw_value(cookies: &[(String, String)], name: &str) -> Option<String> {
    let get = |n: &str| cookies.iter().rev().find(|(k, _)| k == n).map(|(_, v)| v);
    if let Some(v) = get(name) {
        return Some(v.clone());
    }
    let mut joined = String::new();
    for i in 0.. {
        match get(&format!("{name}.{i}")) {
            Some(part) => {
                joined.push_str(part);
                if joined.len() > MAX_SESSION_BYTES {
                    return None;
                }
            }
            None => break,
        }
    }
    (!joined.is_empty()).then_some(joined)
}

/// The session in the request's cookies, if there is a readable one.
pub fn read(req: &Request, name: &str) -> Option<StoredSession> {
    let raw = raw_value(&request_cookies(req), name)?;
    if raw.len() > MAX_SESSION_BYTES {
        return None;
    }
    let json: Vec<u8> = match raw.strip_prefix(BASE64_PREFIX) {
        Some(encoded) => {
            let trimmed = encoded.trim_end_matches('=');
            URL_SAFE_NO_PAD
                .decode(trimmed)
                .or_else(|_| URL_SAFE.decode(encoded))
                .ok()?
        }
        None => percent_decode(&raw)?.into_bytes(),
    };
    // A bare JSON string (very old clients stored only the token) is not a session.
    serde_json::from_slice::<StoredSession>(&json)
        .ok()
        .filter(|s| !s.access_token.is_empty())
}

fn percent_decode(raw: &str) -> Option<String> {
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// The names of the session cookies (bare and chunks) present in the request.
pub fn present_names(req: &Request, name: &str) -> Vec<String> {
    let chunk_prefix = format!("{name}.");
    let mut names: Vec<String> = request_cookies(req)
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| {
            k == name
                || k.strip_prefix(&chunk_prefix)
                    .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

pub use crate::config::CookieScope as Scope;

/// `Set-Cookie` values storing `session` the way @supabase/ssr does (chunked when
/// long), plus expiring any previous session cookie that is not rewritten.
pub fn write(
    name: &str,
    session_json: &serde_json::Value,
    scope: Scope<'_>,
    previous: &[String],
) -> Vec<String> {
    let value = format!(
        "{BASE64_PREFIX}{}",
        URL_SAFE_NO_PAD.encode(session_json.to_string())
    );
    let mut written = Vec::new();
    let mut headers = Vec::new();
    if value.len() <= MAX_CHUNK_SIZE {
        headers.push(build(name, &value, scope, MAX_AGE_SECONDS));
        written.push(name.to_owned());
    } else {
        for (i, chunk) in value.as_bytes().chunks(MAX_CHUNK_SIZE).enumerate() {
            let chunk_name = format!("{name}.{i}");
            let chunk = std::str::from_utf8(chunk).expect("base64 is ASCII");
            headers.push(build(&chunk_name, chunk, scope, MAX_AGE_SECONDS));
            written.push(chunk_name);
        }
    }
    for old in previous {
        if !written.contains(old) {
            headers.push(build(old, "", scope, 0));
        }
    }
    headers
}

/// `Set-Cookie` values that delete every session cookie the request carried (and the
/// bare name in any case).
pub fn clear(name: &str, scope: Scope<'_>, previous: &[String]) -> Vec<String> {
    let mut names = previous.to_vec();
    if !names.iter().any(|n| n == name) {
        names.push(name.to_owned());
    }
    names.iter().map(|n| build(n, "", scope, 0)).collect()
}

fn build(name: &str, value: &str, scope: Scope<'_>, max_age: i64) -> String {
    let mut cookie = Cookie::build((name.to_owned(), value.to_owned()))
        .path("/")
        .http_only(true)
        .secure(scope.secure)
        .same_site(SameSite::Lax)
        .max_age(cookie::time::Duration::seconds(max_age));
    if let Some(domain) = scope.domain {
        cookie = cookie.domain(domain.to_owned());
    }
    cookie.build().to_string()
}

/// How long a PKCE code verifier waits for its callback (an OAuth round trip).
pub const CODE_VERIFIER_MAX_AGE_SECONDS: i64 = 600;

/// The cookie that keeps an OAuth sign-in's PKCE code verifier, named as @supabase/ssr
/// names it: `<session cookie name>-code-verifier`.
pub fn code_verifier_name(name: &str) -> String {
    format!("{name}-code-verifier")
}

/// `Set-Cookie` for the verifier, stored as @supabase/ssr stores it (`base64-` +
/// base64url of the JSON string), HttpOnly, SameSite=Lax (sent on the top-level
/// redirect back from the provider), 10 minutes.
pub fn write_code_verifier(name: &str, verifier: &str, scope: Scope<'_>) -> String {
    let json = serde_json::Value::String(verifier.to_owned()).to_string();
    let value = format!("{BASE64_PREFIX}{}", URL_SAFE_NO_PAD.encode(json));
    build(
        &code_verifier_name(name),
        &value,
        scope,
        CODE_VERIFIER_MAX_AGE_SECONDS,
    )
}

/// `Set-Cookie` deleting the verifier cookie.
pub fn clear_code_verifier(name: &str, scope: Scope<'_>) -> String {
    build(&code_verifier_name(name), "", scope, 0)
}

/// The PKCE code verifier the request's cookie holds, if it is a well-formed one
/// (RFC 7636: 43 to 128 characters of `[A-Za-z0-9-._~]`).
pub fn read_code_verifier(req: &Request, name: &str) -> Option<String> {
    let wanted = code_verifier_name(name);
    let raw = req
        .headers()
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == wanted)
        .map(|(_, v)| v.to_owned())?;
    let json = match raw.strip_prefix(BASE64_PREFIX) {
        Some(encoded) => String::from_utf8(URL_SAFE_NO_PAD.decode(encoded).ok()?).ok()?,
        None => raw,
    };
    let verifier = match serde_json::from_str::<serde_json::Value>(&json) {
        Ok(serde_json::Value::String(v)) => v,
        _ => json,
    };
    // supabase-js marks a password-recovery flow as `<verifier>/PASSWORD_RECOVERY`.
    let verifier = verifier
        .split_once('/')
        .map_or(verifier.as_str(), |(v, _)| v)
        .to_owned();
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    well_formed.then_some(verifier)
}

/// How long an email link waits for its browser: Supabase's default email OTP lifetime.
pub const EMAIL_LINK_MAX_AGE_SECONDS: i64 = 3600;

/// The cookie that ties an email link to the browser that asked for it (sign-up, magic
/// link, recovery): `<session cookie name>-email-link`. It holds a random secret; the
/// link carries only its SHA-256 (`flow`), so the link's reader cannot forge the cookie.
pub fn email_link_name(name: &str) -> String {
    format!("{name}-email-link")
}

/// `Set-Cookie` for the email-link secret: HttpOnly, SameSite=Lax (sent on the top-level
/// navigation from the email), one hour.
pub fn write_email_link(name: &str, secret: &str, scope: Scope<'_>) -> String {
    build(
        &email_link_name(name),
        secret,
        scope,
        EMAIL_LINK_MAX_AGE_SECONDS,
    )
}

/// `Set-Cookie` deleting the email-link cookie (its link was used).
pub fn clear_email_link(name: &str, scope: Scope<'_>) -> String {
    build(&email_link_name(name), "", scope, 0)
}

/// The email-link secret the request's cookie holds, if it is a well-formed one (43
/// base64url characters).
pub fn read_email_link(req: &Request, name: &str) -> Option<String> {
    let wanted = email_link_name(name);
    let secret = request_cookies(req)
        .into_iter()
        .rev()
        .find(|(n, _)| *n == wanted)
        .map(|(_, v)| v)?;
    let well_formed = secret.len() == 43
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
    well_formed.then_some(secret)
}

/// The response with these `Set-Cookie` headers added (values that are not valid
/// header text are dropped).
pub fn set(mut response: Response<Body>, cookies: Vec<String>) -> Response<Body> {
    for cookie in cookies {
        if let Ok(v) = http::HeaderValue::from_str(&cookie) {
            response.headers_mut().append(http::header::SET_COOKIE, v);
        }
    }
    response
}

/// The `Set-Cookie` values that clear every session cookie the request carries (the
/// configured name, its chunks and a legacy single cookie).
pub fn clearing(config: &crate::config::Config, req: &Request) -> Vec<String> {
    let name = &config.auth_cookie_name;
    clear(name, config.cookie_scope(), &present_names(req, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECURE: Scope<'static> = Scope {
        secure: true,
        domain: None,
    };

    #[test]
    fn a_cookie_domain_reaches_every_cookie_and_none_is_host_only() {
        let session = serde_json::json!({ "access_token": "a" });
        let scoped = Scope {
            secure: true,
            domain: Some("api.example.com"),
        };
        for cookie in write(
            "sb-x-auth-token",
            &session,
            scoped,
            &["sb-x-auth-token.0".into()],
        )
        .into_iter()
        .chain(clear("sb-x-auth-token", scoped, &[]))
        .chain([write_code_verifier(
            "sb-x-auth-token",
            &"v".repeat(43),
            scoped,
        )]) {
            assert!(cookie.contains("Domain=api.example.com"), "{cookie}");
        }
        for cookie in write("sb-x-auth-token", &session, SECURE, &[]) {
            assert!(!cookie.contains("Domain"), "{cookie}");
        }
    }
    use lambda_http::Body;

    fn req(cookie: &str) -> Request {
        http::Request::builder()
            .header("cookie", cookie)
            .body(Body::Empty)
            .unwrap()
    }

    fn encoded(json: &str) -> String {
        format!("base64-{}", URL_SAFE_NO_PAD.encode(json))
    }

    #[test]
    fn the_code_verifier_round_trips_as_supabase_ssr_stores_it() {
        let verifier = "a".repeat(43);
        let set = write_code_verifier("sb-x-auth-token", &verifier, SECURE);
        assert!(
            set.starts_with("sb-x-auth-token-code-verifier=base64-"),
            "{set}"
        );
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Secure"));
        assert!(set.contains("Max-Age=600"), "{set}");
        let pair = set.split(';').next().unwrap();
        assert_eq!(
            read_code_verifier(&req(pair), "sb-x-auth-token"),
            Some(verifier.clone())
        );
        // supabase-js's recovery marker, and a plain value, are read too.
        let marked = format!(
            "sb-x-auth-token-code-verifier={}",
            encoded(&format!("\"{verifier}/PASSWORD_RECOVERY\""))
        );
        assert_eq!(
            read_code_verifier(&req(&marked), "sb-x-auth-token"),
            Some(verifier.clone())
        );
        // Too short, bad characters, absent, or the session cookie itself: none.
        for cookie in [
            "sb-x-auth-token-code-verifier=short".to_owned(),
            format!("sb-x-auth-token-code-verifier={}", "<".repeat(50)),
            format!("sb-x-auth-token={}", encoded("{}")),
            "other=1".to_owned(),
        ] {
            assert_eq!(
                read_code_verifier(&req(&cookie), "sb-x-auth-token"),
                None,
                "{cookie}"
            );
        }
        assert!(clear_code_verifier(
            "sb-x-auth-token",
            Scope {
                secure: false,
                domain: None
            }
        )
        .contains("Max-Age=0"));
    }

    #[test]
    fn reads_single_chunked_and_legacy_cookies() {
        let json = r#"{"access_token":"a.b.c","refresh_token":"r","user":{}}"#;
        let s = read(
            &req(&format!("sb-x-auth-token={}", encoded(json))),
            "sb-x-auth-token",
        )
        .unwrap();
        assert_eq!(s.access_token, "a.b.c");

        let value = encoded(json);
        let (a, b) = value.split_at(10);
        let chunked = format!("sb-x-auth-token.1={b}; other=1; sb-x-auth-token.0={a}");
        assert_eq!(
            read(&req(&chunked), "sb-x-auth-token")
                .unwrap()
                .access_token,
            "a.b.c"
        );

        let legacy = "sb-x-auth-token=%7B%22access_token%22%3A%22a.b.c%22%7D";
        assert_eq!(
            read(&req(legacy), "sb-x-auth-token").unwrap().access_token,
            "a.b.c"
        );
    }

    #[test]
    fn broken_cookies_are_no_session() {
        for cookie in [
            "sb-x-auth-token=base64-!!!",
            "sb-x-auth-token=base64-bm90IGpzb24",
            "sb-x-auth-token=%ZZ",
            "sb-x-auth-token.1=abc",
            "sb-x-auth-token=",
            "unrelated=1",
        ] {
            assert!(read(&req(cookie), "sb-x-auth-token").is_none(), "{cookie}");
        }
    }

    #[test]
    fn writes_chunks_for_long_sessions_and_expires_stale_ones() {
        let long = serde_json::json!({ "access_token": "x".repeat(5000) });
        let previous = vec!["sb-x-auth-token".to_owned()];
        let headers = write("sb-x-auth-token", &long, SECURE, &previous);
        assert!(headers[0].starts_with("sb-x-auth-token.0=base64-"));
        assert!(headers[1].starts_with("sb-x-auth-token.1="));
        let last = headers.last().unwrap();
        assert!(last.starts_with("sb-x-auth-token=;") && last.contains("Max-Age=0"));
        for h in &headers {
            assert!(h.contains("HttpOnly") && h.contains("Secure") && h.contains("SameSite=Lax"));
        }
    }
}
