//! Sessions end when they end (issue 22, parts 1 and 2): a token whose session was signed
//! out or revoked, passed its not_after, or whose user is banned or deleted is refused
//! with 401 by every user route and by PostgREST itself (the request gate,
//! `private.session_is_live`), reads included, anonymous sessions alike; sign-out with
//! scope local, global and others; GET /me/sessions and DELETE /me/sessions/{id}.
//!
//! Sign-in and sign-out go through the Supabase Auth STAND-IN (tools/devstack,
//! `auth-standin`), which keeps auth.sessions as GoTrue does (one row per sign-in, with
//! the client's user agent and address; logout scopes as GoTrue's /logout).

use functions::routes;
use integration_tests::*;
use serde_json::{json, Value};
use shared::Route;
use uuid::Uuid;

const ALLOWED: &str = "http://localhost:3000";
const PASSWORD: &str = "correct horse battery staple";

/// Signs `user` in through POST /auth/sign-in from a browser with `agent`: the access
/// token of the new session, and the session cookie's value.
async fn sign_in(user: &TestUser, agent: &str) -> (String, String) {
    let res = Req::post("/auth/sign-in")
        .ip(&test_ip())
        .header("origin", ALLOWED)
        .header("user-agent", agent)
        .json(json!({ "email": user.email, "password": PASSWORD }))
        .send(&routes::SIGN_IN)
        .await;
    res.assert_ok(200);
    let cookie = res
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{}=", cookie_name())))
        .expect("a session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let value = cookie.split_once('=').unwrap().1;
    let json = session_json(value);
    let token = json["access_token"].as_str().unwrap().to_owned();
    (token, cookie)
}

/// The session JSON of an @supabase/ssr cookie value.
fn session_json(value: &str) -> Value {
    use base64::Engine;
    let encoded = value.strip_prefix("base64-").expect("base64- value");
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(encoded)
            .unwrap(),
    )
    .unwrap()
}

fn session_id_of(token: &str) -> Uuid {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    claims["session_id"].as_str().unwrap().parse().unwrap()
}

/// The route's request with its example body (valid input), so nothing but the session
/// decides the answer.
fn valid_request(route: &Route) -> Req {
    sample_request(route)
}

/// 401 as the contract says for a token that was refused: UNAUTHORIZED, with
/// `WWW-Authenticate: Bearer error="invalid_token"`, the envelope and no leak.
#[track_caller]
fn assert_session_ended(res: &Res, what: &str) {
    assert_eq!(res.status.as_u16(), 401, "{what}: {}", res.body);
    res.assert_error(401, "UNAUTHORIZED");
    assert_eq!(
        res.header("www-authenticate"),
        Some("Bearer error=\"invalid_token\""),
        "{what}"
    );
    assert_eq!(
        res.body["error"]["message"], "The session has ended; sign in again",
        "{what}"
    );
    assert_no_leak(res);
}

/// Straight to PostgREST: 401 SESSION_ENDED with the same WWW-Authenticate.
#[track_caller]
fn assert_direct_refused(direct: &Direct, what: &str) {
    direct.assert_refused(401, "SESSION_ENDED");
    assert_eq!(
        direct.header("www-authenticate"),
        Some("Bearer error=\"invalid_token\""),
        "{what}: {direct:?}"
    );
}

/// A read and a write straight to PostgREST with `token`.
async fn assert_postgrest_refuses(token: &str, what: &str) {
    let read = postgrest_direct(
        reqwest::Method::GET,
        "profiles?select=id",
        Some(token),
        None,
    )
    .await;
    assert_direct_refused(&read, &format!("{what}: a read"));
    let write = postgrest_direct(
        reqwest::Method::POST,
        "rpc/create_workspace",
        Some(token),
        Some(json!({ "name": "Never" })),
    )
    .await;
    assert_direct_refused(&write, &format!("{what}: a write"));
}

async fn exec(sql: &str, id: &Uuid) {
    db().await.execute(sql, &[id]).await.unwrap();
}

// ---------------------------------------------------------------------------------------
// 1. Every way a session ends, at every user route and straight to PostgREST
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn every_user_route_refuses_a_token_whose_session_was_deleted() {
    let app = app();
    // An admin, so that no route's fast deny from the token's role answers first.
    let user = user_with_role("admin").await;
    // The token works while its session lives, and this instance now remembers it as
    // verified (shared::auth's verified tokens): the same instance must still refuse it.
    send_with(&app, &routes::ME, Req::get("/me").as_user(&user).build())
        .await
        .assert_ok(200);
    exec("delete from auth.sessions where id = $1", &user.id).await;

    for route in user_routes() {
        let res = send_with(&app, route, valid_request(route).as_user(&user).build()).await;
        assert_session_ended(&res, route.function);
    }
    assert_postgrest_refuses(&user.token, "a deleted session").await;
    // Nothing was written on the way: no workspace, no counted write.
    let db = db().await;
    let rows: i64 = db
        .query_one(
            "select count(*) from public.workspaces where created_by = $1",
            &[&user.id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 0);
    let counted: i64 = db
        .query_one(
            "select count(*) from private.rate_limit_counters where key like '%' || ($1::uuid)::text",
            &[&user.id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(counted, 0, "an ended session's requests are not counted");
}

#[tokio::test]
async fn a_session_past_its_not_after_or_of_a_banned_user_is_refused_until_that_changes() {
    // (what, the SQL that ends it, the SQL that makes it live again)
    for (what, ended, live) in [
        (
            "not_after passed",
            "update auth.sessions set not_after = now() - interval '1 second' where id = $1",
            "update auth.sessions set not_after = now() + interval '1 hour' where id = $1",
        ),
        (
            "banned",
            "update auth.users set banned_until = now() + interval '1 day' where id = $1",
            "update auth.users set banned_until = now() - interval '1 second' where id = $1",
        ),
    ] {
        let user = user().await;
        exec(ended, &user.id).await;
        let res = Req::get("/me").as_user(&user).send(&routes::ME).await;
        assert_session_ended(&res, what);
        let res = Req::post("/workspaces")
            .as_user(&user)
            .json(json!({ "name": "Late" }))
            .send(&routes::CREATE_WORKSPACE)
            .await;
        assert_session_ended(&res, &format!("{what}: a write"));
        assert_postgrest_refuses(&user.token, what).await;

        exec(live, &user.id).await;
        Req::get("/me")
            .as_user(&user)
            .send(&routes::ME)
            .await
            .assert_ok(200);
    }
}

#[tokio::test]
async fn a_deleted_users_token_is_refused() {
    // Soft-deleted (deleted_at) and deleted for good (the sessions go with the row).
    let soft = user().await;
    exec(
        "update auth.users set deleted_at = now() where id = $1",
        &soft.id,
    )
    .await;
    let res = Req::get("/me").as_user(&soft).send(&routes::ME).await;
    assert_session_ended(&res, "soft-deleted");
    assert_postgrest_refuses(&soft.token, "soft-deleted").await;

    let gone = user().await;
    exec("delete from auth.users where id = $1", &gone.id).await;
    let res = Req::get("/me").as_user(&gone).send(&routes::ME).await;
    assert_session_ended(&res, "deleted");
    assert_postgrest_refuses(&gone.token, "deleted").await;
}

#[tokio::test]
async fn an_anonymous_session_follows_the_same_rule() {
    let anon = user().await;
    exec(
        "update auth.users set is_anonymous = true, email = null where id = $1",
        &anon.id,
    )
    .await;
    let token = es256_token(anon.id, json!({ "is_anonymous": true }));
    Req::get("/posts")
        .bearer(&token)
        .send(&routes::LIST_POSTS)
        .await
        .assert_ok(200);
    exec("delete from auth.sessions where id = $1", &anon.id).await;
    let res = Req::get("/posts")
        .bearer(&token)
        .send(&routes::LIST_POSTS)
        .await;
    assert_session_ended(&res, "an anonymous session");
    let read = postgrest_direct(reqwest::Method::GET, "posts?select=id", Some(&token), None).await;
    assert_direct_refused(&read, "an anonymous session");
}

#[tokio::test]
async fn a_token_without_a_session_or_naming_another_users_session_is_refused() {
    let user = user().await;
    let other = user_with_role("user").await;
    for (what, token) in [
        (
            "no session_id",
            es256_token(user.id, json!({ "session_id": null })),
        ),
        (
            "another user's session",
            es256_token(user.id, json!({ "session_id": other.id })),
        ),
        (
            "a session_id that is not a UUID",
            es256_token(user.id, json!({ "session_id": "not-a-uuid" })),
        ),
    ] {
        let res = Req::get("/me").bearer(&token).send(&routes::ME).await;
        assert_session_ended(&res, what);
        assert_postgrest_refuses(&token, what).await;
    }
    // The refusals are audited as AUTH_REFUSED with the reason.
    let rows = audit_rows(
        "actor_id = $1 and action = 'AUTH_REFUSED' and metadata ->> 'reason' = 'session_ended'",
        &user.id,
    )
    .await;
    assert!(!rows.is_empty(), "no audit row for the refusal");
}

#[tokio::test]
async fn the_compiled_function_refuses_an_ended_session_over_http() {
    // The same refusal from the real binary under cargo lambda watch.
    let user = user().await;
    let client = sse::client();
    let url = sse::url("/me");
    let res = client
        .get(&url)
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    exec("delete from auth.sessions where id = $1", &user.id).await;
    let res = client
        .get(&url)
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    assert_eq!(
        res.headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer error=\"invalid_token\"")
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "UNAUTHORIZED");
}

// ---------------------------------------------------------------------------------------
// 2. Signing out: this session, all, all others
// ---------------------------------------------------------------------------------------

async fn sign_out(token: &str, scope: Option<&str>) -> Res {
    let mut req = Req::post("/auth/sign-out").ip(&test_ip()).bearer(token);
    if let Some(scope) = scope {
        req = req.query("scope", scope);
    }
    req.send(&routes::SIGN_OUT).await
}

#[tokio::test]
async fn signing_out_ends_the_access_token_at_once() {
    let user = user_with_password(PASSWORD).await;
    let (token, _) = sign_in(&user, "Firefox/140 on a laptop").await;
    // One warm instance throughout: it has verified (and remembers) the token before the
    // sign-out, and refuses it after.
    let app = app();
    send_with(&app, &routes::ME, Req::get("/me").bearer(&token).build())
        .await
        .assert_ok(200);
    let direct = postgrest_direct(
        reqwest::Method::GET,
        "profiles?select=id",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(direct.status, 200, "{direct:?}");

    let res = sign_out(&token, None).await;
    assert_eq!(res.status.as_u16(), 204, "{}", res.body);

    // The access token has most of its hour left, and is refused everywhere: by the
    // instance that remembered it, by a new one, and by PostgREST.
    let res = send_with(&app, &routes::ME, Req::get("/me").bearer(&token).build()).await;
    assert_session_ended(&res, "after sign-out, by the warm instance");
    let res = Req::get("/me").bearer(&token).send(&routes::ME).await;
    assert_session_ended(&res, "after sign-out");
    assert_postgrest_refuses(&token, "after sign-out").await;
}

#[tokio::test]
async fn sign_out_scopes_end_this_all_or_all_other_sessions() {
    let user = user_with_password(PASSWORD).await;
    let me = |token: String| async move {
        Req::get("/me")
            .bearer(&token)
            .send(&routes::ME)
            .await
            .status
            .as_u16()
    };

    // local (the default): this session only.
    let (laptop, _) = sign_in(&user, "laptop").await;
    let (phone, _) = sign_in(&user, "phone").await;
    let res = sign_out(&laptop, Some("local")).await;
    assert_eq!(res.status.as_u16(), 204);
    assert_eq!((me(laptop).await, me(phone.clone()).await), (401, 200));

    // others: every session but this one; this one's cookie is not cleared.
    let (tablet, _) = sign_in(&user, "tablet").await;
    let res = Req::post("/auth/sign-out")
        .ip(&test_ip())
        .header("origin", ALLOWED)
        .cookie(&sign_in(&user, "desktop").await.1)
        .query("scope", "others")
        .send(&routes::SIGN_OUT)
        .await;
    assert_eq!(res.status.as_u16(), 204, "{}", res.body);
    assert!(
        res.headers.get("set-cookie").is_none(),
        "scope=others keeps this browser signed in: {:?}",
        res.headers
    );
    assert_eq!((me(phone).await, me(tablet).await), (401, 401));
    let left: i64 = db()
        .await
        .query_one(
            "select count(*) from auth.sessions where user_id = $1 and user_agent = 'desktop'",
            &[&user.id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 1, "the desktop session stays");

    // global: every session, this one included.
    let (a, _) = sign_in(&user, "a").await;
    let (b, _) = sign_in(&user, "b").await;
    let res = sign_out(&a, Some("global")).await;
    assert_eq!(res.status.as_u16(), 204);
    assert_eq!((me(a).await, me(b).await), (401, 401));
    let left: i64 = db()
        .await
        .query_one(
            "select count(*) from auth.sessions where user_id = $1 and id <> $1",
            &[&user.id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "no session of the user's is left");

    // Each sign-out is audited with its scope.
    let scopes: Vec<String> = db()
        .await
        .query(
            "select metadata ->> 'scope' from public.audit_log \
             where actor_id = $1 and action = 'SIGN_OUT' order by created_at",
            &[&user.id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(scopes, ["local", "others", "global"]);
}

#[tokio::test]
async fn an_unknown_sign_out_scope_is_a_422_that_ends_nothing() {
    let user = user_with_password(PASSWORD).await;
    let (token, _) = sign_in(&user, "laptop").await;
    for scope in ["everything", "", "GLOBAL"] {
        let res = sign_out(&token, Some(scope)).await;
        res.assert_invalid("scope");
    }
    let res = Req::post("/auth/sign-out")
        .ip(&test_ip())
        .bearer(&token)
        .query("scope", "local")
        .query("scope", "global")
        .send(&routes::SIGN_OUT)
        .await;
    assert_eq!(res.status.as_u16(), 422, "{}", res.body);
    Req::get("/me")
        .bearer(&token)
        .send(&routes::ME)
        .await
        .assert_ok(200);
}

// ---------------------------------------------------------------------------------------
// 3. GET /me/sessions and DELETE /me/sessions/{id}
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_user_lists_their_sessions_and_revokes_one() {
    let user = user_with_password(PASSWORD).await;
    // The harness's session of the user, then two real sign-ins through Supabase Auth.
    let (laptop, laptop_cookie) = sign_in(&user, "Firefox/140 (X11; Linux x86_64)").await;
    let (phone, _) = sign_in(&user, "Safari/18 (iPhone)").await;

    let res = Req::get("/me/sessions")
        .bearer(&laptop)
        .send(&routes::LIST_MY_SESSIONS)
        .await;
    res.assert_ok(200);
    let body = res.body.clone();
    assert_eq!(body["pagination"]["total"], 3, "{body}");
    let sessions = body["data"].as_array().unwrap();
    assert_eq!(
        sessions[0]["id"],
        json!(session_id_of(&phone)),
        "newest first"
    );
    assert_eq!(sessions[0]["userAgent"], "Safari/18 (iPhone)");
    assert_eq!(sessions[0]["current"], false);
    assert_eq!(sessions[1]["id"], json!(session_id_of(&laptop)));
    assert_eq!(sessions[1]["userAgent"], "Firefox/140 (X11; Linux x86_64)");
    assert_eq!(sessions[1]["current"], true, "the caller's own is marked");
    assert!(
        sessions[1]["ip"].as_str().unwrap().starts_with("100."),
        "{body}"
    );
    assert_eq!(sessions[1]["aal"], "aal1");
    for s in sessions {
        for key in [
            "id",
            "createdAt",
            "lastActiveAt",
            "userAgent",
            "ip",
            "aal",
            "notAfter",
            "current",
        ] {
            assert!(s.get(key).is_some(), "{key} missing: {s}");
        }
    }
    // Another user sees none of them.
    let stranger = integration_tests::user().await;
    let res = Req::get("/me/sessions")
        .as_user(&stranger)
        .send(&routes::LIST_MY_SESSIONS)
        .await;
    res.assert_ok(200);
    assert_eq!(res.body["pagination"]["total"], 1);

    // The stranger cannot end the phone's session: 404, and it still works.
    let phone_id = session_id_of(&phone);
    let res = Req::delete("/me/sessions/{id}")
        .as_user(&stranger)
        .param("id", phone_id)
        .send(&routes::REVOKE_MY_SESSION)
        .await;
    res.assert_error(404, "NOT_FOUND");
    Req::get("/me")
        .bearer(&phone)
        .send(&routes::ME)
        .await
        .assert_ok(200);

    // Nor straight through PostgREST.
    let direct = postgrest_direct(
        reqwest::Method::POST,
        "rpc/revoke_my_session",
        Some(&stranger.token),
        Some(json!({ "p_id": phone_id })),
    )
    .await;
    direct.assert_refused(404, "PT404");

    // From the laptop, the user ends the phone's session.
    let res = Req::delete("/me/sessions/{id}")
        .bearer(&laptop)
        .param("id", phone_id)
        .send(&routes::REVOKE_MY_SESSION)
        .await;
    assert_eq!(res.status.as_u16(), 204, "{}", res.body);
    assert_security_headers(&res.headers);
    // The phone's access token is refused on its next request, everywhere.
    let res = Req::get("/me").bearer(&phone).send(&routes::ME).await;
    assert_session_ended(&res, "a revoked session");
    assert_postgrest_refuses(&phone, "a revoked session").await;
    // Its refresh token is gone with it (GoTrue's refresh_tokens cascade).
    let tokens: i64 = db()
        .await
        .query_one(
            "select count(*) from auth.refresh_tokens where session_id = $1",
            &[&phone_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(tokens, 0);
    // The laptop is still signed in, cookie and all.
    Req::get("/me")
        .cookie(&laptop_cookie)
        .send(&routes::ME)
        .await
        .assert_ok(200);
    // Audited.
    let rows = audit_rows("actor_id = $1 and action = 'SESSION_REVOKED'", &user.id).await;
    assert_eq!(rows.len(), 1, "{rows:?}");

    // Ending it again, or an id that is no session, is 404; a malformed id too.
    for id in [
        phone_id.to_string(),
        Uuid::new_v4().to_string(),
        "nope".into(),
    ] {
        let res = Req::delete("/me/sessions/{id}")
            .bearer(&laptop)
            .param("id", &id)
            .send(&routes::REVOKE_MY_SESSION)
            .await;
        res.assert_error(404, "NOT_FOUND");
    }
}

#[tokio::test]
async fn session_listing_pages_and_refuses_bad_pages() {
    let user = user().await;
    for _ in 0..3 {
        new_session(&user).await;
    }
    let res = Req::get("/me/sessions")
        .as_user(&user)
        .query("pageSize", 2)
        .query("page", 2)
        .send(&routes::LIST_MY_SESSIONS)
        .await;
    res.assert_ok(200);
    assert_eq!(res.body["data"].as_array().unwrap().len(), 2);
    assert_eq!(res.body["pagination"]["total"], 4);
    for (name, value) in [
        ("pageSize", "0"),
        ("pageSize", "101"),
        ("page", "0"),
        ("sort", "x"),
    ] {
        let res = Req::get("/me/sessions")
            .as_user(&user)
            .query(name, value)
            .send(&routes::LIST_MY_SESSIONS)
            .await;
        res.assert_invalid(name);
    }
    // Anonymous callers and bad tokens: 401.
    let res = Req::get("/me/sessions")
        .send(&routes::LIST_MY_SESSIONS)
        .await;
    res.assert_error(401, "UNAUTHORIZED");
    let res = Req::get("/me/sessions")
        .bearer(&tampered_token(&user))
        .send(&routes::LIST_MY_SESSIONS)
        .await;
    res.assert_error(401, "UNAUTHORIZED");
    // Straight to PostgREST, anon cannot list anyone's sessions.
    let direct = postgrest_direct(
        reqwest::Method::POST,
        "rpc/list_my_sessions",
        None,
        Some(json!({})),
    )
    .await;
    assert_eq!(direct.status, 401, "{direct:?}");
}

#[tokio::test]
async fn revoking_a_session_with_the_cookie_needs_an_allowed_origin() {
    let user = user_with_password(PASSWORD).await;
    let (_, cookie) = sign_in(&user, "laptop").await;
    let (other, _) = new_session(&user).await;
    let res = Req::delete("/me/sessions/{id}")
        .cookie(&cookie)
        .header("origin", "https://evil.example")
        .param("id", other)
        .send(&routes::REVOKE_MY_SESSION)
        .await;
    res.assert_error(403, "CSRF_FAILED");
    let alive: i64 = db()
        .await
        .query_one(
            "select count(*) from auth.sessions where id = $1",
            &[&other],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(alive, 1, "a cross-site request ended nothing");
}
