//! What browsers send: the @supabase/ssr session cookie (single, chunked, legacy,
//! broken), CSRF protection for cookie credentials, and CORS for allowed origins.

use functions::routes;
use integration_tests::*;
use serde_json::json;

const ALLOWED: &str = "http://localhost:3000";
const FOREIGN: &str = "https://evil.example";

fn with_session(req: Req, token: &str) -> Req {
    req.cookie(&format!(
        "{}={}",
        cookie_name(),
        session_cookie_value(token)
    ))
}

#[tokio::test]
async fn a_single_base64_session_cookie_authenticates() {
    let user = user().await;
    let res = with_session(Req::get("/workspaces"), &user.token)
        .send(&routes::LIST_WORKSPACES)
        .await;
    res.assert_ok(200);
}

#[tokio::test]
async fn a_chunked_session_cookie_authenticates() {
    let user = user().await;
    let value = session_cookie_value(&user.token);
    let (a, rest) = value.split_at(value.len() / 3);
    let (b, c) = rest.split_at(rest.len() / 2);
    let name = cookie_name();
    // Chunks in any order, in separate Cookie headers, next to unrelated cookies.
    let res = Req::get("/workspaces")
        .cookie(&format!("theme=dark; {name}.2={c}"))
        .cookie(&format!("{name}.0={a}; {name}.1={b}"))
        .send(&routes::LIST_WORKSPACES)
        .await;
    res.assert_ok(200);
}

#[tokio::test]
async fn a_legacy_uri_encoded_json_cookie_authenticates() {
    let user = user().await;
    let json = json!({ "access_token": user.token, "refresh_token": "r" }).to_string();
    let encoded: String = json
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let res = Req::get("/workspaces")
        .cookie(&format!("{}={encoded}", cookie_name()))
        .send(&routes::LIST_WORKSPACES)
        .await;
    res.assert_ok(200);
}

#[tokio::test]
async fn broken_session_cookies_are_401_never_500() {
    let user = user().await;
    let name = cookie_name();
    let value = session_cookie_value(&user.token);
    for cookie in [
        format!("{name}=base64-%%%"),
        format!("{name}=base64-bm90IGpzb24"),
        format!("{name}=%7Bnot-json"),
        format!("{name}="),
        format!("{name}.1={}", &value[10..]), // chunk .0 missing
        format!("{name}={}", session_cookie_value("not.a.jwt")),
        format!("{name}={}", session_cookie_value(&expired_token(&user))),
        format!("{name}={}", "A".repeat(40 * 1024)),
    ] {
        let res = Req::get("/workspaces")
            .cookie(&cookie)
            .send(&routes::LIST_WORKSPACES)
            .await;
        res.assert_error(401, "UNAUTHORIZED");
    }
}

#[tokio::test]
async fn the_authorization_header_wins_over_the_cookie() {
    let alice = user().await;
    let bob = user().await;
    let ws = workspace(&bob).await;

    // Bearer is Bob, cookie is Alice: the request is Bob's.
    let res = with_session(Req::get("/workspaces"), &alice.token)
        .as_user(&bob)
        .send(&routes::LIST_WORKSPACES)
        .await;
    let data = res.assert_ok(200);
    assert_eq!(data[0]["id"], ws.to_string());

    // A bad header is not rescued by a good cookie.
    let res = with_session(Req::get("/workspaces"), &alice.token)
        .bearer("not-a-token")
        .send(&routes::LIST_WORKSPACES)
        .await;
    res.assert_error(401, "UNAUTHORIZED");

    // A good header is not spoiled by a broken cookie.
    let res = Req::get("/workspaces")
        .cookie(&format!("{}=base64-garbage", cookie_name()))
        .as_user(&bob)
        .send(&routes::LIST_WORKSPACES)
        .await;
    res.assert_ok(200);
}

async fn workspaces_named(name: &str) -> i64 {
    db().await
        .query_one(
            "select count(*) from public.workspaces where name = $1",
            &[&name],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn cookie_post_from_a_foreign_origin_is_csrf_failed() {
    let user = user().await;
    let name = format!("csrf-foreign-{}", user.id);
    let res = with_session(Req::post("/workspaces"), &user.token)
        .header("origin", FOREIGN)
        .json(json!({ "name": name }))
        .send(&routes::CREATE_WORKSPACE)
        .await;
    res.assert_error(403, "CSRF_FAILED");
    assert_eq!(workspaces_named(&name).await, 0);
}

#[tokio::test]
async fn cookie_post_marked_cross_site_is_csrf_failed() {
    let user = user().await;
    let name = format!("csrf-cross-site-{}", user.id);
    let res = with_session(Req::post("/workspaces"), &user.token)
        .header("origin", ALLOWED)
        .header("sec-fetch-site", "cross-site")
        .json(json!({ "name": name }))
        .send(&routes::CREATE_WORKSPACE)
        .await;
    res.assert_error(403, "CSRF_FAILED");
    assert_eq!(workspaces_named(&name).await, 0);
}

#[tokio::test]
async fn cookie_post_without_origin_or_referer_is_csrf_failed() {
    let user = user().await;
    let name = format!("csrf-none-{}", user.id);
    let res = with_session(Req::post("/workspaces"), &user.token)
        .json(json!({ "name": name }))
        .send(&routes::CREATE_WORKSPACE)
        .await;
    res.assert_error(403, "CSRF_FAILED");
    // Origin "null" (sandboxed frames, some redirects) is no origin.
    let res = with_session(Req::post("/workspaces"), &user.token)
        .header("origin", "null")
        .json(json!({ "name": name }))
        .send(&routes::CREATE_WORKSPACE)
        .await;
    res.assert_error(403, "CSRF_FAILED");
    assert_eq!(workspaces_named(&name).await, 0);
}

#[tokio::test]
async fn cookie_unsafe_methods_from_allowed_origins_are_accepted() {
    let user = user().await;
    let name = format!("csrf-ok-{}", user.id);
    let res = with_session(Req::post("/workspaces"), &user.token)
        .header("origin", ALLOWED)
        .header("sec-fetch-site", "same-site")
        .json(json!({ "name": name }))
        .send(&routes::CREATE_WORKSPACE)
        .await;
    res.assert_ok(201);
    // Without Origin, an allowed Referer does.
    let res = with_session(Req::post("/workspaces"), &user.token)
        .header("referer", "https://app.example.test/settings?tab=1")
        .json(json!({ "name": name }))
        .send(&routes::CREATE_WORKSPACE)
        .await;
    res.assert_ok(201);
    assert_eq!(workspaces_named(&name).await, 2);
    // A foreign Referer does not.
    let res = with_session(Req::post("/workspaces"), &user.token)
        .header("referer", "https://evil.example/page")
        .json(json!({ "name": name }))
        .send(&routes::CREATE_WORKSPACE)
        .await;
    res.assert_error(403, "CSRF_FAILED");
}

#[tokio::test]
async fn bearer_requests_need_no_origin() {
    let user = user().await;
    let name = format!("bearer-{}", user.id);
    let res = Req::post("/workspaces")
        .as_user(&user)
        .header("origin", FOREIGN)
        .json(json!({ "name": name }))
        .send(&routes::CREATE_WORKSPACE)
        .await;
    res.assert_ok(201);
    let res = Req::post("/workspaces")
        .as_user(&user)
        .json(json!({ "name": name }))
        .send(&routes::CREATE_WORKSPACE)
        .await;
    res.assert_ok(201);
    assert_eq!(workspaces_named(&name).await, 2);
}

#[tokio::test]
async fn cookie_reads_need_no_origin() {
    let user = user().await;
    let res = with_session(Req::get("/workspaces"), &user.token)
        .header("origin", FOREIGN)
        .send(&routes::LIST_WORKSPACES)
        .await;
    res.assert_ok(200);
    // ...but the foreign origin gets no CORS grant, so a browser will not let it read.
    assert!(res.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn cors_preflight_from_an_allowed_origin() {
    let res = Req::new(http::Method::OPTIONS, "/projects")
        .header("origin", ALLOWED)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "Authorization, Content-Type, X-Evil",
        )
        .send(&routes::LIST_PROJECTS)
        .await;
    assert_eq!(res.status, 204);
    assert_eq!(res.header("access-control-allow-origin"), Some(ALLOWED));
    assert_eq!(res.header("access-control-allow-credentials"), Some("true"));
    assert!(res
        .header("access-control-allow-methods")
        .unwrap()
        .contains("POST"));
    let headers = res
        .header("access-control-allow-headers")
        .unwrap()
        .to_lowercase();
    assert!(headers.contains("authorization") && headers.contains("content-type"));
    assert!(!headers.contains("x-evil"));
    assert!(res.header("vary").unwrap().contains("Origin"));
    assert_security_headers(&res.headers);
}

#[tokio::test]
async fn cors_preflight_from_other_origins_is_refused() {
    for origin in [
        FOREIGN,
        "null",
        "http://localhost:3000.evil.example",
        "HTTP://LOCALHOST:3000",
    ] {
        let res = Req::new(http::Method::OPTIONS, "/projects")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send(&routes::LIST_PROJECTS)
            .await;
        res.assert_error(403, "FORBIDDEN");
        assert!(
            res.header("access-control-allow-origin").is_none(),
            "{origin}"
        );
        assert!(
            res.header("access-control-allow-credentials").is_none(),
            "{origin}"
        );
    }
}

#[tokio::test]
async fn cors_headers_only_for_allowed_origins_and_never_a_wildcard() {
    let user = user().await;
    let res = Req::get("/workspaces")
        .as_user(&user)
        .header("origin", ALLOWED)
        .send(&routes::LIST_WORKSPACES)
        .await;
    res.assert_ok(200);
    assert_eq!(res.header("access-control-allow-origin"), Some(ALLOWED));
    assert_eq!(res.header("access-control-allow-credentials"), Some("true"));
    assert!(res.header("vary").unwrap().contains("Origin"));

    // Errors get them too (the browser must be able to read a 401).
    let res = Req::get("/workspaces")
        .header("origin", ALLOWED)
        .send(&routes::LIST_WORKSPACES)
        .await;
    assert_eq!(res.status, 401);
    assert_eq!(res.header("access-control-allow-origin"), Some(ALLOWED));

    let res = Req::get("/workspaces")
        .as_user(&user)
        .header("origin", FOREIGN)
        .send(&routes::LIST_WORKSPACES)
        .await;
    assert!(res.header("access-control-allow-origin").is_none());
    assert!(res.header("vary").unwrap().contains("Origin"));
}
