//! OAuth with PKCE, email links and new passwords (issue 14), through the Supabase Auth
//! stand-in (tools/devstack: GoTrue cannot run here; these tests depend on its
//! /authorize, fake provider, grant_type=pkce, /otp, /verify, /recover, PUT /user and its
//! mailbox, which stands for the emails a real project sends).
//!
//! The browser's part is played by hand: each redirect is read (never followed) and the
//! next request made with the cookies a browser would send.

use functions::routes;
use integration_tests::*;
use reqwest::redirect::Policy;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use url::Url;
use uuid::Uuid;

const APP: &str = "http://localhost:3000";

/// The Host the in-process requests claim: cargo lambda watch's, which the stand-in may
/// redirect back to (AUTH_URI_ALLOW_LIST in scripts/test.sh).
fn api_host() -> String {
    stack().api_url.trim_start_matches("http://").to_owned()
}

fn api(path: &str) -> String {
    format!("http://{}{}", api_host(), path)
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

fn location(res: &Res) -> Url {
    Url::parse(res.header("location").expect("a Location header")).unwrap()
}

fn query_of(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The `name=value` part of each Set-Cookie.
fn set_cookies(res: &Res) -> Vec<String> {
    res.headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

fn cookie_pair(res: &Res, name: &str) -> Option<String> {
    set_cookies(res)
        .into_iter()
        .filter(|c| !c.contains("Max-Age=0"))
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(|c| c.split(';').next().unwrap().to_owned())
}

/// The session cookie (chunked when long, as @supabase/ssr writes it) as a browser would
/// send it back, if one was set.
fn session_cookie(res: &Res) -> Option<String> {
    let name = cookie_name();
    let pairs: Vec<String> = set_cookies(res)
        .into_iter()
        .filter(|c| !c.contains("Max-Age=0"))
        .map(|c| c.split(';').next().unwrap().to_owned())
        .filter(|pair| {
            let n = pair.split('=').next().unwrap();
            n == name
                || n.strip_prefix(&format!("{name}."))
                    .is_some_and(|i| i.parse::<u32>().is_ok())
        })
        .collect();
    (!pairs.is_empty()).then(|| pairs.join("; "))
}

fn verifier_cookie_name() -> String {
    format!("{}-code-verifier", cookie_name())
}

/// The verifier a cookie pair holds (`base64-` + base64url of the JSON string).
fn verifier_of(pair: &str) -> String {
    use base64::Engine;
    let value = pair.split_once('=').unwrap().1;
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(value.strip_prefix("base64-").unwrap())
        .unwrap();
    serde_json::from_slice::<String>(&json).unwrap()
}

/// GET /auth/oauth/github?next=..: the redirect and the verifier cookie pair.
async fn start(provider: &str, next: &str) -> (Res, String) {
    let res = Req::get("/auth/oauth/{provider}")
        .param("provider", provider)
        .query("next", next)
        .header("host", &api_host())
        .send(&routes::OAUTH_START)
        .await;
    assert_eq!(res.status.as_u16(), 302, "{res:?}");
    let pair = cookie_pair(&res, &verifier_cookie_name()).expect("the verifier cookie");
    (res, pair)
}

/// The user at the provider: follows /authorize to the fake provider, consents as
/// `email` (or denies), and returns where the provider sends the browser back.
async fn at_the_provider(authorize: &Url, email: &str, deny: bool) -> Url {
    let res = browser().get(authorize.as_str()).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 302, "{:?}", res.text().await);
    let consent = Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    let mut consent = consent.clone();
    consent.query_pairs_mut().append_pair("email", email);
    if deny {
        consent.query_pairs_mut().append_pair("deny", "1");
    }
    let res = browser().get(consent.as_str()).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 302, "{:?}", res.text().await);
    Url::parse(res.headers()["location"].to_str().unwrap()).unwrap()
}

/// GET /auth/callback with the query the provider sent back and these cookies.
async fn callback(back: &Url, cookie: Option<&str>) -> Res {
    let mut req = Req::get("/auth/callback").header("host", &api_host());
    for (k, v) in back.query_pairs() {
        req = req.query(&k, v.into_owned());
    }
    if let Some(cookie) = cookie {
        req = req.cookie(cookie);
    }
    req.send(&routes::OAUTH_CALLBACK).await
}

async fn sign_in_rows(user: Uuid) -> Vec<Value> {
    db().await
        .query(
            "select metadata from public.audit_log where action = 'SIGN_IN' and actor_id = $1 order by created_at",
            &[&user],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

async fn user_id(email: &str) -> Option<Uuid> {
    db().await
        .query_opt("select id from auth.users where email = $1", &[&email])
        .await
        .unwrap()
        .map(|r| r.get(0))
}

// ---------------------------------------------------------------------------------------
// OAuth with PKCE
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn github_sign_in_round_trip_sets_the_session_and_lands_on_next() {
    let (res, verifier_pair) = start("github", "/welcome?tab=1").await;
    // The redirect: Supabase Auth's /authorize with the S256 challenge of the cookie's
    // verifier, and a way back to this API's callback with `next`.
    let authorize = location(&res);
    assert!(
        authorize
            .as_str()
            .starts_with(&format!("{}/auth/v1/authorize?", stack().supabase_url)),
        "{authorize}"
    );
    assert_eq!(query_of(&authorize, "provider").as_deref(), Some("github"));
    assert_eq!(
        query_of(&authorize, "code_challenge_method").as_deref(),
        Some("s256")
    );
    let verifier = verifier_of(&verifier_pair);
    use base64::Engine;
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    assert_eq!(query_of(&authorize, "code_challenge"), Some(challenge));
    let redirect_to = Url::parse(&query_of(&authorize, "redirect_to").unwrap()).unwrap();
    assert_eq!(redirect_to.path(), "/auth/callback");
    assert_eq!(
        query_of(&redirect_to, "next").as_deref(),
        Some("http://localhost:3000/welcome?tab=1")
    );
    let set = set_cookies(&res).join("\n");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Max-Age=600"),
        "{set}"
    );
    assert_security_headers(&res.headers);

    // At GitHub (the stand-in's fake provider), then back.
    let email = format!("gh-{}@example.test", Uuid::new_v4());
    let back = at_the_provider(&authorize, &email, false).await;
    assert!(query_of(&back, "code").is_some(), "{back}");
    let res = callback(&back, Some(&verifier_pair)).await;
    assert_eq!(res.status.as_u16(), 303, "{res:?}");
    let landed = location(&res);
    assert_eq!(
        landed.as_str(),
        "http://localhost:3000/welcome?tab=1&new_user=true"
    );
    let session = session_cookie(&res).expect("the session cookie");
    assert!(
        set_cookies(&res)
            .iter()
            .any(|c| c.starts_with(&format!("{}=;", verifier_cookie_name()))
                && c.contains("Max-Age=0")),
        "the verifier is cleared: {:?}",
        set_cookies(&res)
    );
    // The cookie is a working session of that user.
    let me = Req::get("/me").cookie(&session).send(&routes::ME).await;
    assert_eq!(me.assert_ok(200)["email"], email);
    let id = user_id(&email).await.unwrap();
    let rows = sign_in_rows(id).await;
    assert_eq!(
        rows,
        [json!({ "provider": "github", "method": "oauth", "firstSignIn": true })]
    );

    // The same code again (a replay): refused, and lands with the error.
    let res = callback(&back, Some(&verifier_pair)).await;
    assert_eq!(res.status.as_u16(), 303);
    let landed = location(&res);
    assert_eq!(landed.path(), "/welcome");
    assert_eq!(query_of(&landed, "error").as_deref(), Some("invalid_code"));
    assert!(session_cookie(&res).is_none());

    // A second sign-in of the same person is not new.
    let (res, pair) = start("github", "/").await;
    let back = at_the_provider(&location(&res), &email, false).await;
    let res = callback(&back, Some(&pair)).await;
    assert_eq!(location(&res).as_str(), "http://localhost:3000/");
    assert_eq!(sign_in_rows(id).await.len(), 2);
}

#[tokio::test]
async fn a_callback_without_the_verifier_or_with_another_one_is_refused() {
    let email = format!("gh-{}@example.test", Uuid::new_v4());
    let (res, _pair) = start("google", "/in").await;
    let back = at_the_provider(&location(&res), &email, false).await;

    // No verifier cookie (another browser): the code is not even tried.
    let res = callback(&back, None).await;
    assert_eq!(res.status.as_u16(), 303);
    let landed = location(&res);
    assert_eq!(
        query_of(&landed, "error").as_deref(),
        Some("missing_verifier")
    );
    assert!(session_cookie(&res).is_none());

    // Another flow's verifier: Supabase Auth refuses the exchange.
    let (_, other_pair) = start("google", "/in").await;
    let res = callback(&back, Some(&other_pair)).await;
    assert_eq!(
        query_of(&location(&res), "error").as_deref(),
        Some("invalid_code")
    );
    assert!(session_cookie(&res).is_none());
    assert_security_headers(&res.headers);
}

#[tokio::test]
async fn the_providers_refusal_lands_on_next_with_its_error() {
    let email = format!("gh-{}@example.test", Uuid::new_v4());
    let (res, pair) = start("github", "/after").await;
    let back = at_the_provider(&location(&res), &email, true).await;
    assert!(query_of(&back, "error").is_some(), "{back}");
    let res = callback(&back, Some(&pair)).await;
    assert_eq!(res.status.as_u16(), 303);
    let landed = location(&res);
    assert_eq!(landed.path(), "/after");
    assert_eq!(query_of(&landed, "error").as_deref(), Some("access_denied"));
    assert!(query_of(&landed, "error_description").is_some());
    assert!(session_cookie(&res).is_none());
    assert_eq!(user_id(&email).await, None, "no user for a refusal");
}

#[tokio::test]
async fn next_must_be_a_path_or_an_allowed_origin() {
    for next in [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
        "http://localhost:3000.evil.example/",
    ] {
        let res = Req::get("/auth/oauth/{provider}")
            .param("provider", "github")
            .query("next", next)
            .header("host", &api_host())
            .send(&routes::OAUTH_START)
            .await;
        res.assert_invalid("next");
        assert!(set_cookies(&res).is_empty(), "no verifier for a refusal");
    }
    // An allowed origin is fine.
    let (res, _) = start("github", "https://app.example.test/x").await;
    let redirect_to = Url::parse(&query_of(&location(&res), "redirect_to").unwrap()).unwrap();
    assert_eq!(
        query_of(&redirect_to, "next").as_deref(),
        Some("https://app.example.test/x")
    );

    // A crafted callback with a foreign next lands on the app, not there.
    let res = Req::get("/auth/callback")
        .header("host", &api_host())
        .query("code", "x")
        .query("next", "https://evil.example/")
        .send(&routes::OAUTH_CALLBACK)
        .await;
    assert_eq!(res.status.as_u16(), 303);
    let landed = location(&res);
    assert_eq!(landed.origin().ascii_serialization(), APP);
    assert_eq!(query_of(&landed, "error").as_deref(), Some("invalid_next"));
}

#[tokio::test]
async fn an_unknown_provider_is_404() {
    let res = Req::get("/auth/oauth/{provider}")
        .param("provider", "myspace")
        .header("host", &api_host())
        .send(&routes::OAUTH_START)
        .await;
    res.assert_error(404, "NOT_FOUND");
}

// ---------------------------------------------------------------------------------------
// Email links
// ---------------------------------------------------------------------------------------

/// The newest message of the stand-in's mailbox to `email`.
async fn newest_mail(email: &str) -> Value {
    let key = std::env::var("SUPABASE_SERVICE_ROLE_KEY").unwrap();
    let res = reqwest::Client::new()
        .get(format!("{}/auth/v1/_dev/mailbox", stack().supabase_url))
        .query(&[("email", email)])
        .header("apikey", &key)
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let mails: Value = res.json().await.unwrap();
    mails[0].clone()
}

/// The link an email template makes of a message: the API's /auth/confirm (the
/// redirect_to the API gave Supabase Auth) with the token hash and type.
fn link_of(mail: &Value, kind: &str) -> Req {
    let redirect = Url::parse(mail["redirectTo"].as_str().expect("redirectTo")).unwrap();
    assert_eq!(redirect.path(), "/auth/confirm", "{mail}");
    let mut req = Req::get("/auth/confirm")
        .header("host", &api_host())
        .query("token_hash", mail["tokenHash"].as_str().unwrap())
        .query("type", kind);
    for (k, v) in redirect.query_pairs() {
        req = req.query(&k, v.into_owned());
    }
    req
}

/// The email-link cookie a link request set (`name=value`), as the browser that asked
/// sends it back with the link.
fn asked_here(res: &Res) -> String {
    cookie_pair(res, &format!("{}-email-link", cookie_name())).expect("the email-link cookie")
}

/// A browser's email-link secret and its flow (the SHA-256 the API puts in links), made
/// up: for links the test makes itself.
fn made_up_flow() -> (String, String) {
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let secret = engine.encode(Uuid::new_v4().as_bytes().repeat(2));
    let secret = secret[..43].to_owned();
    let flow = engine.encode(Sha256::digest(secret.as_bytes()));
    (format!("{}-email-link={secret}", cookie_name()), flow)
}

/// The app's confirmation step for `mail`'s link: the person's POST /auth/confirm from
/// the app's origin.
async fn confirm_here(mail: &Value, kind: &str) -> Res {
    Req::post("/auth/confirm")
        .header("origin", APP)
        .json(json!({ "tokenHash": mail["tokenHash"], "type": kind }))
        .send(&routes::COMPLETE_EMAIL_LINK)
        .await
}

fn magic_link(email: &str, next: &str) -> Req {
    Req::post("/auth/magic-link")
        .header("host", &api_host())
        .ip(&format!("198.19.{}.{}", rand_octet(), rand_octet()))
        .json(json!({ "email": email, "next": next }))
}

fn rand_octet() -> u8 {
    Uuid::new_v4().as_bytes()[0].max(1)
}

#[tokio::test]
async fn a_magic_link_signs_in_once() {
    let user = user_with_password("a long enough password").await;
    let res = magic_link(&user.email, "/dash")
        .send(&routes::MAGIC_LINK)
        .await;
    assert_eq!(res.status.as_u16(), 202, "{}", res.body);
    assert_eq!(res.body, json!({ "data": { "sent": true } }));
    let here = asked_here(&res);
    let mail = newest_mail(&user.email).await;
    assert_eq!(mail["type"], "magiclink", "{mail}");

    // Opened in the browser that asked for it.
    let res = link_of(&mail, "magiclink")
        .cookie(&here)
        .send(&routes::CONFIRM_EMAIL_LINK)
        .await;
    assert_eq!(res.status.as_u16(), 303, "{res:?}");
    // Its first sign-in through the API: the app is told so.
    assert_eq!(
        location(&res).as_str(),
        "http://localhost:3000/dash?new_user=true"
    );
    let session = session_cookie(&res).expect("the session cookie");
    let me = Req::get("/me").cookie(&session).send(&routes::ME).await;
    assert_eq!(me.assert_ok(200)["email"], user.email);
    let rows = sign_in_rows(user.id).await;
    assert_eq!(rows.last().unwrap()["method"], "magiclink");
    assert_eq!(rows.last().unwrap()["provider"], "email");

    // The email-link cookie is used up with it.
    assert!(set_cookies(&res).iter().any(|c| c
        .starts_with(&format!("{}-email-link=;", cookie_name()))
        && c.contains("Max-Age=0")));

    // The link again: used, so it lands with the error and no cookie.
    let res = link_of(&mail, "magiclink")
        .cookie(&here)
        .send(&routes::CONFIRM_EMAIL_LINK)
        .await;
    assert_eq!(res.status.as_u16(), 303);
    let landed = location(&res);
    assert_eq!(landed.path(), "/dash");
    assert_eq!(query_of(&landed, "error").as_deref(), Some("otp_expired"));
    assert!(session_cookie(&res).is_none());
}

#[tokio::test]
async fn an_unknown_address_gets_the_same_answer_and_a_sign_up_link() {
    let email = format!("link-{}@example.test", Uuid::new_v4());
    let res = magic_link(&email, "/start").send(&routes::MAGIC_LINK).await;
    assert_eq!(res.status.as_u16(), 202, "{}", res.body);
    assert_eq!(res.body, json!({ "data": { "sent": true } }));
    let here = asked_here(&res);
    let mail = newest_mail(&email).await;
    let kind = mail["type"].as_str().unwrap().to_owned();
    let kind = if kind == "confirmation" {
        "signup".to_owned()
    } else {
        kind
    };
    let res = link_of(&mail, &kind)
        .cookie(&here)
        .send(&routes::CONFIRM_EMAIL_LINK)
        .await;
    assert_eq!(res.status.as_u16(), 303, "{res:?}");
    // A magic link's new user has Supabase Auth's random password, which nobody knows:
    // cleared at the confirmation, and the app may offer to set one.
    assert_eq!(
        location(&res).as_str(),
        "http://localhost:3000/start?new_user=true&set_password=true"
    );
    let id = user_id(&email).await.unwrap();
    let role: String = db()
        .await
        .query_one(
            "select role::text from public.user_roles where user_id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(role, "user");
}

#[tokio::test]
async fn links_are_limited_per_email_and_refuse_a_foreign_next() {
    let user = user_with_password("a long enough password").await;
    for _ in 0..3 {
        let res = magic_link(&user.email, "/").send(&routes::MAGIC_LINK).await;
        assert_eq!(res.status.as_u16(), 202, "{}", res.body);
    }
    let res = magic_link(&user.email, "/").send(&routes::MAGIC_LINK).await;
    res.assert_error(429, "RATE_LIMITED");
    assert!(res.header("retry-after").is_some());

    let res = magic_link(
        &format!("x-{}@example.test", Uuid::new_v4()),
        "https://evil.example/",
    )
    .send(&routes::MAGIC_LINK)
    .await;
    res.assert_invalid("next");
    let res = Req::post("/auth/magic-link")
        .header("host", &api_host())
        .header("origin", "https://evil.example")
        .json(json!({ "email": user.email }))
        .send(&routes::MAGIC_LINK)
        .await;
    res.assert_error(403, "CSRF_FAILED");
}

#[tokio::test]
async fn a_link_that_is_made_up_or_incomplete_lands_with_an_error() {
    let (cookie, flow) = made_up_flow();
    for (hash, kind, error) in [
        (
            "0123456789abcdef0123456789abcdef0123456789abcdef01234567",
            "magiclink",
            "otp_expired",
        ),
        ("abc", "nonsense", "invalid_link"),
        ("", "magiclink", "invalid_link"),
    ] {
        let res = Req::get("/auth/confirm")
            .header("host", &api_host())
            .cookie(&cookie)
            .query("token_hash", hash)
            .query("type", kind)
            .query("next", "/x")
            .query("flow", &flow)
            .send(&routes::CONFIRM_EMAIL_LINK)
            .await;
        assert_eq!(res.status.as_u16(), 303, "{res:?}");
        let landed = location(&res);
        assert_eq!(landed.path(), "/x");
        assert_eq!(
            query_of(&landed, "error").as_deref(),
            Some(error),
            "{landed}"
        );
        assert!(session_cookie(&res).is_none());
        assert_security_headers(&res.headers);
    }
}

// ---------------------------------------------------------------------------------------
// Recovery, then a new password
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_recovery_link_signs_in_and_the_new_password_replaces_the_old() {
    let user = user_with_password("the old password").await;
    // The recovery email, asked for through the API (an unknown address gets the same).
    let res = Req::post("/auth/recover")
        .header("host", &api_host())
        .ip(&format!("198.19.{}.{}", rand_octet(), rand_octet()))
        .json(json!({ "email": user.email, "next": "/account/password" }))
        .send(&routes::RECOVER)
        .await;
    assert_eq!(res.status.as_u16(), 202, "{}", res.body);
    assert_eq!(res.body, json!({ "data": { "sent": true } }));
    let here = asked_here(&res);
    let unknown = format!("nobody-{}@example.test", Uuid::new_v4());
    let res = Req::post("/auth/recover")
        .header("host", &api_host())
        .ip(&format!("198.19.{}.{}", rand_octet(), rand_octet()))
        .json(json!({ "email": unknown }))
        .send(&routes::RECOVER)
        .await;
    assert_eq!(res.status.as_u16(), 202, "{}", res.body);
    assert_eq!(res.body, json!({ "data": { "sent": true } }));
    assert_eq!(user_id(&unknown).await, None, "recovery creates no one");
    let mail = newest_mail(&user.email).await;
    assert_eq!(mail["type"], "recovery", "{mail}");
    let res = link_of(&mail, "recovery")
        .cookie(&here)
        .send(&routes::CONFIRM_EMAIL_LINK)
        .await;
    assert_eq!(res.status.as_u16(), 303, "{res:?}");
    assert_eq!(location(&res).path(), "/account/password");
    let session = session_cookie(&res).expect("signed in by the link");
    assert_eq!(
        sign_in_rows(user.id).await.last().unwrap()["method"],
        "recovery"
    );

    // Too short first, then a good one.
    let res = Req::post("/auth/password")
        .cookie(&session)
        .header("origin", APP)
        .json(json!({ "password": "short" }))
        .send(&routes::SET_PASSWORD)
        .await;
    res.assert_invalid("password");
    let res = Req::post("/auth/password")
        .cookie(&session)
        .header("origin", APP)
        .json(json!({ "password": "the brand new password" }))
        .send(&routes::SET_PASSWORD)
        .await;
    assert_eq!(res.status.as_u16(), 204, "{}", res.body);

    let sign_in = |password: &'static str| {
        Req::post("/auth/sign-in")
            .ip(&format!("198.18.{}.{}", rand_octet(), rand_octet()))
            .json(json!({ "email": user.email, "password": password }))
    };
    sign_in("the brand new password")
        .send(&routes::SIGN_IN)
        .await
        .assert_ok(200);
    sign_in("the old password")
        .send(&routes::SIGN_IN)
        .await
        .assert_error(401, "UNAUTHORIZED");

    // Without a session: 401; from a foreign origin with the cookie: CSRF.
    Req::post("/auth/password")
        .json(json!({ "password": "another new password" }))
        .send(&routes::SET_PASSWORD)
        .await
        .assert_error(401, "UNAUTHORIZED");
    Req::post("/auth/password")
        .cookie(&session)
        .header("origin", "https://evil.example")
        .json(json!({ "password": "another new password" }))
        .send(&routes::SET_PASSWORD)
        .await
        .assert_error(403, "CSRF_FAILED");
}

#[tokio::test]
async fn an_expired_link_lands_with_otp_expired_and_signs_no_one_in() {
    let user = user_with_password("a long enough password").await;
    let res = magic_link(&user.email, "/dash")
        .send(&routes::MAGIC_LINK)
        .await;
    assert_eq!(res.status.as_u16(), 202, "{}", res.body);
    let here = asked_here(&res);
    let mail = newest_mail(&user.email).await;
    // An hour and a minute later (AUTH_MAILER_OTP_EXP is an hour): moved back in time.
    db().await
        .execute(
            "update auth.users set recovery_sent_at = now() - interval '61 minutes' where id = $1",
            &[&user.id],
        )
        .await
        .unwrap();
    let res = link_of(&mail, "magiclink")
        .cookie(&here)
        .send(&routes::CONFIRM_EMAIL_LINK)
        .await;
    assert_eq!(res.status.as_u16(), 303, "{res:?}");
    let landed = location(&res);
    assert_eq!(landed.path(), "/dash");
    assert_eq!(query_of(&landed, "error").as_deref(), Some("otp_expired"));
    assert!(session_cookie(&res).is_none());
    // At the confirmation step too.
    let res = confirm_here(&mail, "magiclink").await;
    res.assert_error(401, "UNAUTHORIZED");
    assert!(session_cookie(&res).is_none());
    assert!(
        sign_in_rows(user.id).await.is_empty(),
        "no sign-in recorded"
    );
}

#[tokio::test]
async fn an_email_change_link_applies_the_new_address() {
    let user = user_with_password("a long enough password").await;
    // Signed in (a session of the stand-in), the user asks for a new address, as
    // supabase-js's updateUser({email}) does.
    let res = Req::post("/auth/sign-in")
        .ip(&format!("198.18.{}.{}", rand_octet(), rand_octet()))
        .json(json!({ "email": user.email, "password": "a long enough password" }))
        .send(&routes::SIGN_IN)
        .await;
    res.assert_ok(200);
    let session = session_cookie(&res).unwrap();
    let token = {
        use base64::Engine;
        let joined: String = session
            .split("; ")
            .map(|pair| pair.split_once('=').unwrap().1)
            .collect();
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(joined.strip_prefix("base64-").unwrap())
            .unwrap();
        serde_json::from_slice::<Value>(&json).unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let new_email = format!("moved-{}@example.test", Uuid::new_v4());
    let anon = std::env::var("SUPABASE_ANON_KEY").unwrap();
    let res = reqwest::Client::new()
        .put(format!("{}/auth/v1/user", stack().supabase_url))
        .query(&[("redirect_to", api("/auth/confirm?next=/account"))])
        .header("apikey", &anon)
        .bearer_auth(&token)
        .json(&json!({ "email": new_email }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200, "{:?}", res.text().await);
    let mail = newest_mail(&new_email).await;
    assert_eq!(mail["type"], "email_change", "{mail}");
    // Asked for through Supabase Auth directly, not this API: no browser is tied to the
    // link, so it lands on the confirmation step, and nothing is applied yet.
    let res = link_of(&mail, "email_change")
        .send(&routes::CONFIRM_EMAIL_LINK)
        .await;
    assert_eq!(res.status.as_u16(), 303, "{res:?}");
    let step = location(&res);
    assert_eq!(step.path(), "/account");
    assert_eq!(
        step.fragment(),
        Some(
            format!(
                "confirm_token_hash={}&confirm_type=email_change",
                mail["tokenHash"].as_str().unwrap()
            )
            .as_str()
        )
    );
    assert!(set_cookies(&res).is_empty(), "{res:?}");
    assert_eq!(user_id(&new_email).await, None);
    // The person confirms on the app's step.
    let res = confirm_here(&mail, "email_change").await;
    res.assert_ok(200);
    assert!(session_cookie(&res).is_some());
    assert_eq!(user_id(&new_email).await, Some(user.id));
    assert_eq!(
        sign_in_rows(user.id).await.last().unwrap()["method"],
        "email_change"
    );
}

#[tokio::test]
async fn supabase_auth_down_lands_with_auth_unavailable_or_answers_503() {
    let app = app_with_unreachable_auth();
    // An email link in the browser that asked for it: lands on next with the error, no
    // cookie.
    let (cookie, flow) = made_up_flow();
    let req = Req::get("/auth/confirm")
        .header("host", &api_host())
        .cookie(&cookie)
        .query("flow", &flow)
        .query(
            "token_hash",
            "0123456789abcdef0123456789abcdef0123456789abcdef01234567",
        )
        .query("type", "magiclink")
        .query("next", "/x")
        .build();
    let res = send_with(&app, &routes::CONFIRM_EMAIL_LINK, req).await;
    assert_eq!(res.status.as_u16(), 303, "{res:?}");
    assert_eq!(
        query_of(&location(&res), "error").as_deref(),
        Some("auth_unavailable")
    );
    assert!(session_cookie(&res).is_none());

    // The OAuth callback, verifier and code in hand: the same, and the verifier cleared.
    let (_, pair) = start("github", "/x").await;
    let req = Req::get("/auth/callback")
        .header("host", &api_host())
        .cookie(&pair)
        .query("code", Uuid::new_v4())
        .query("next", "/x")
        .build();
    let res = send_with(&app, &routes::OAUTH_CALLBACK, req).await;
    assert_eq!(res.status.as_u16(), 303, "{res:?}");
    assert_eq!(
        query_of(&location(&res), "error").as_deref(),
        Some("auth_unavailable")
    );
    assert!(set_cookies(&res).iter().any(|c| c
        .starts_with(&format!("{}=;", verifier_cookie_name()))
        && c.contains("Max-Age=0")));

    // The confirmation step: 503.
    let req = Req::post("/auth/confirm")
        .header("origin", APP)
        .json(json!({ "tokenHash": "0123456789abcdef", "type": "magiclink" }))
        .build();
    send_with(&app, &routes::COMPLETE_EMAIL_LINK, req)
        .await
        .assert_error(503, "SERVICE_UNAVAILABLE");

    // A link request and a new password: 503, nothing said about the address.
    let req = magic_link("someone@example.test", "/").build();
    send_with(&app, &routes::MAGIC_LINK, req)
        .await
        .assert_error(503, "SERVICE_UNAVAILABLE");
    let user = user().await;
    let req = Req::post("/auth/password")
        .as_user(&user)
        .json(json!({ "password": "the brand new password" }))
        .build();
    send_with(&app, &routes::SET_PASSWORD, req)
        .await
        .assert_error(503, "SERVICE_UNAVAILABLE");
}

// ---------------------------------------------------------------------------------------
// Email links sign in only the browser that asked, or a person who chooses to (issue 22,
// part 4)
// ---------------------------------------------------------------------------------------

/// The app's confirmation step in a link's redirect: `next` with the link's parts in
/// its fragment.
#[track_caller]
fn assert_confirmation_step(res: &Res, mail: &Value, kind: &str, path: &str) {
    assert_eq!(res.status.as_u16(), 303, "{res:?}");
    let step = location(res);
    assert_eq!(step.path(), path);
    assert_eq!(
        step.fragment().unwrap_or_default(),
        format!(
            "confirm_token_hash={}&confirm_type={kind}",
            mail["tokenHash"].as_str().unwrap()
        )
    );
    assert_eq!(query_of(&step, "error"), None);
    assert!(
        session_cookie(res).is_none(),
        "no sign-in at the step: {res:?}"
    );
    assert_security_headers(&res.headers);
}

#[tokio::test]
async fn a_link_opened_in_another_browser_signs_in_only_when_the_person_confirms() {
    // Login CSRF: the attacker asks for a link to their own account, then leads another
    // browser to it (a cross-site top-level navigation).
    let attacker = user_with_password("a long enough password").await;
    let res = magic_link(&attacker.email, "/dash")
        .send(&routes::MAGIC_LINK)
        .await;
    assert_eq!(res.status.as_u16(), 202, "{}", res.body);
    let mail = newest_mail(&attacker.email).await;

    // The victim's browser, with no email-link cookie, or with one of its own link.
    let victims_own = {
        let victim = user_with_password("a long enough password").await;
        asked_here(
            &magic_link(&victim.email, "/")
                .send(&routes::MAGIC_LINK)
                .await,
        )
    };
    for cookie in [None, Some(victims_own.as_str())] {
        let mut req = link_of(&mail, "magiclink").header("sec-fetch-site", "cross-site");
        if let Some(cookie) = cookie {
            req = req.cookie(cookie);
        }
        let res = req.send(&routes::CONFIRM_EMAIL_LINK).await;
        assert_confirmation_step(&res, &mail, "magiclink", "/dash");
    }
    assert!(
        sign_in_rows(attacker.id).await.is_empty(),
        "nobody signed in"
    );

    // A page of the attacker's cannot press the button: a cross-site POST is refused.
    for (origin, site) in [("https://evil.example", None), (APP, Some("cross-site"))] {
        let mut req = Req::post("/auth/confirm")
            .header("origin", origin)
            .json(json!({ "tokenHash": mail["tokenHash"], "type": "magiclink" }));
        if let Some(site) = site {
            req = req.header("sec-fetch-site", site);
        }
        let res = req.send(&routes::COMPLETE_EMAIL_LINK).await;
        res.assert_error(403, "CSRF_FAILED");
        assert!(session_cookie(&res).is_none());
    }
    assert!(
        sign_in_rows(attacker.id).await.is_empty(),
        "nobody signed in"
    );

    // The link still works where it was meant to: the person on another device confirms
    // on the app's step (a same-site POST), and is signed in.
    let res = Req::post("/auth/confirm")
        .header("origin", APP)
        .header("sec-fetch-site", "same-site")
        .json(json!({ "tokenHash": mail["tokenHash"], "type": "magiclink" }))
        .send(&routes::COMPLETE_EMAIL_LINK)
        .await;
    res.assert_ok(200);
    assert_eq!(res.body["data"]["user"]["id"], json!(attacker.id));
    assert_eq!(res.body["data"]["setPassword"], false);
    assert!(res.body["data"]["expiresAt"].is_i64());
    assert!(
        res.body["data"].get("access_token").is_none(),
        "tokens stay in the cookie"
    );
    let session = session_cookie(&res).expect("the session cookie");
    let me = Req::get("/me").cookie(&session).send(&routes::ME).await;
    assert_eq!(me.assert_ok(200)["email"], attacker.email);
    assert_eq!(
        sign_in_rows(attacker.id).await.last().unwrap()["method"],
        "magiclink"
    );
    // Used: again, it is refused.
    let res = Req::post("/auth/confirm")
        .header("origin", APP)
        .json(json!({ "tokenHash": mail["tokenHash"], "type": "magiclink" }))
        .send(&routes::COMPLETE_EMAIL_LINK)
        .await;
    res.assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn a_mail_scanner_opening_the_link_uses_nothing_up() {
    let user = user_with_password("a long enough password").await;
    let res = magic_link(&user.email, "/").send(&routes::MAGIC_LINK).await;
    let here = asked_here(&res);
    let mail = newest_mail(&user.email).await;
    // The scanner: no cookie.
    let res = link_of(&mail, "magiclink")
        .send(&routes::CONFIRM_EMAIL_LINK)
        .await;
    assert_confirmation_step(&res, &mail, "magiclink", "/");
    // The person, in the browser that asked: signed in at once.
    let res = link_of(&mail, "magiclink")
        .cookie(&here)
        .send(&routes::CONFIRM_EMAIL_LINK)
        .await;
    assert_eq!(res.status.as_u16(), 303, "{res:?}");
    assert_eq!(query_of(&location(&res), "error"), None, "{res:?}");
    assert!(session_cookie(&res).is_some());
}

#[tokio::test]
async fn the_confirmation_step_refuses_what_is_not_a_link() {
    for (body, field) in [
        (
            json!({ "tokenHash": "a/b", "type": "magiclink" }),
            "tokenHash",
        ),
        (json!({ "tokenHash": "", "type": "magiclink" }), "tokenHash"),
        (
            json!({ "tokenHash": "a".repeat(257), "type": "magiclink" }),
            "tokenHash",
        ),
        (json!({ "tokenHash": "abc", "type": "sms" }), "type"),
        (json!({ "tokenHash": "abc" }), "type"),
        (
            json!({ "tokenHash": "abc", "type": "magiclink", "next": "/" }),
            "next",
        ),
    ] {
        let res = Req::post("/auth/confirm")
            .header("origin", APP)
            .json(body)
            .send(&routes::COMPLETE_EMAIL_LINK)
            .await;
        res.assert_invalid(field);
    }
    // A well-formed link that Supabase Auth does not know: 401, no cookie.
    let res = Req::post("/auth/confirm")
        .header("origin", APP)
        .json(json!({ "tokenHash": "0123456789abcdef0123456789abcdef0123456789abcdef01234567", "type": "magiclink" }))
        .send(&routes::COMPLETE_EMAIL_LINK)
        .await;
    res.assert_error(401, "UNAUTHORIZED");
    assert!(session_cookie(&res).is_none());
}

// ---------------------------------------------------------------------------------------
// No pre-registered accounts (issue 22, part 3): a password set before the address was
// confirmed survives only a confirmation in the browser that set it
// ---------------------------------------------------------------------------------------

const ATTACKERS: &str = "the attacker's password";
const OWNERS: &str = "the owner's own password";

fn sign_up_req(email: &str, password: &str) -> Req {
    Req::post("/auth/sign-up")
        .header("host", &api_host())
        .ip(&format!("198.19.{}.{}", rand_octet(), rand_octet()))
        .json(json!({ "email": email, "password": password, "name": "Some One" }))
}

/// Signs up `email` with `password` (202) and returns the browser's email-link cookie.
async fn signed_up(email: &str, password: &str) -> String {
    let res = sign_up_req(email, password).send(&routes::SIGN_UP).await;
    assert_eq!(res.status.as_u16(), 202, "{}", res.body);
    asked_here(&res)
}

/// The status of a sign-in with this email and password.
async fn sign_in_status(email: &str, password: &str) -> u16 {
    Req::post("/auth/sign-in")
        .ip(&format!("198.18.{}.{}", rand_octet(), rand_octet()))
        .json(json!({ "email": email, "password": password }))
        .send(&routes::SIGN_IN)
        .await
        .status
        .as_u16()
}

async fn cleared_audits(email: &str) -> i64 {
    db().await
        .query_one(
            "select count(*) from public.audit_log a join auth.users u on u.id = a.actor_id \
             where a.action = 'PASSWORD_CLEARED' and u.email = $1",
            &[&email],
        )
        .await
        .unwrap()
        .get(0)
}

/// The owner, signed in by their confirmation, sets a password and signs in with it.
async fn owner_sets_a_password(session: &str, email: &str) {
    let res = Req::post("/auth/password")
        .cookie(session)
        .header("origin", APP)
        .json(json!({ "password": OWNERS }))
        .send(&routes::SET_PASSWORD)
        .await;
    assert_eq!(res.status.as_u16(), 204, "{}", res.body);
    assert_eq!(sign_in_status(email, OWNERS).await, 200);
    assert_eq!(sign_in_status(email, ATTACKERS).await, 401);
}

/// `mail`'s sign-up link opened in another browser than the one that signed up: the
/// confirmation step, then the person's click. Signed in, told to set a password (the
/// one set before is gone); the session cookie.
async fn confirmed_elsewhere(mail: &Value) -> String {
    let res = link_of(mail, "signup")
        .send(&routes::CONFIRM_EMAIL_LINK)
        .await;
    assert_confirmation_step(&res, mail, "signup", "/");
    let res = confirm_here(mail, "signup").await;
    res.assert_ok(200);
    assert_eq!(res.body["data"]["setPassword"], true);
    assert_eq!(res.body["data"]["isNewUser"], true);
    session_cookie(&res).expect("signed in where the link was opened")
}

fn victim() -> String {
    format!("victim-{}@example.test", Uuid::new_v4())
}

#[tokio::test]
async fn a_pre_registration_does_not_survive_the_owners_own_sign_up() {
    let email = victim();
    let _attackers_browser = signed_up(&email, ATTACKERS).await;
    // The owner signs up too: the same answer as for any address.
    let res = sign_up_req(&email, OWNERS).send(&routes::SIGN_UP).await;
    assert_eq!(res.status.as_u16(), 202, "{}", res.body);
    assert_eq!(
        res.body,
        json!({ "data": { "email": email, "confirmationSent": true } })
    );
    let owners_browser = asked_here(&res);
    // Supabase Auth kept the first password and mailed the owner a new confirmation; they
    // open it in the browser they signed up in.
    let mail = newest_mail(&email).await;
    assert_eq!(mail["type"], "confirmation", "{mail}");
    let res = link_of(&mail, "signup")
        .cookie(&owners_browser)
        .send(&routes::CONFIRM_EMAIL_LINK)
        .await;
    assert_eq!(res.status.as_u16(), 303, "{res:?}");
    assert_eq!(
        query_of(&location(&res), "set_password").as_deref(),
        Some("true"),
        "the app is told to offer a new password: {res:?}"
    );
    let session = session_cookie(&res).expect("the owner is signed in");
    // The attacker's password is gone (and the owner's was never stored).
    assert_eq!(sign_in_status(&email, ATTACKERS).await, 401);
    assert_eq!(cleared_audits(&email).await, 1);
    owner_sets_a_password(&session, &email).await;
}

#[tokio::test]
async fn a_pre_registration_does_not_survive_a_magic_link() {
    let email = victim();
    signed_up(&email, ATTACKERS).await;
    let res = magic_link(&email, "/").send(&routes::MAGIC_LINK).await;
    let owners_browser = asked_here(&res);
    let mail = newest_mail(&email).await;
    // For an unconfirmed address Supabase Auth's magic link is the sign-up confirmation.
    assert_eq!(mail["type"], "confirmation", "{mail}");
    let res = link_of(&mail, "signup")
        .cookie(&owners_browser)
        .send(&routes::CONFIRM_EMAIL_LINK)
        .await;
    assert_eq!(res.status.as_u16(), 303, "{res:?}");
    let session = session_cookie(&res).expect("the owner is signed in");
    assert_eq!(sign_in_status(&email, ATTACKERS).await, 401);
    owner_sets_a_password(&session, &email).await;
}

#[tokio::test]
async fn a_pre_registration_does_not_survive_a_recovery_link() {
    let email = victim();
    signed_up(&email, ATTACKERS).await;
    let res = Req::post("/auth/recover")
        .header("host", &api_host())
        .ip(&format!("198.19.{}.{}", rand_octet(), rand_octet()))
        .json(json!({ "email": email, "next": "/account/password" }))
        .send(&routes::RECOVER)
        .await;
    assert_eq!(res.status.as_u16(), 202, "{}", res.body);
    let owners_browser = asked_here(&res);
    let mail = newest_mail(&email).await;
    assert_eq!(mail["type"], "recovery", "{mail}");
    let res = link_of(&mail, "recovery")
        .cookie(&owners_browser)
        .send(&routes::CONFIRM_EMAIL_LINK)
        .await;
    assert_eq!(res.status.as_u16(), 303, "{res:?}");
    let session = session_cookie(&res).expect("the owner is signed in");
    assert_eq!(sign_in_status(&email, ATTACKERS).await, 401);
    assert_eq!(cleared_audits(&email).await, 1);
    owner_sets_a_password(&session, &email).await;
}

#[tokio::test]
async fn a_pre_registration_does_not_survive_an_oauth_sign_in_with_the_address() {
    let email = victim();
    signed_up(&email, ATTACKERS).await;
    let (res, verifier) = start("github", "/").await;
    let back = at_the_provider(&location(&res), &email, false).await;
    let res = callback(&back, Some(&verifier)).await;
    assert_eq!(res.status.as_u16(), 303, "{res:?}");
    assert!(session_cookie(&res).is_some(), "{res:?}");
    assert_eq!(sign_in_status(&email, ATTACKERS).await, 401);
}

#[tokio::test]
async fn a_pre_registration_does_not_survive_the_owner_confirming_the_attackers_link() {
    let email = victim();
    signed_up(&email, ATTACKERS).await;
    // The attacker's sign-up mailed the owner; the owner opens it in their own browser:
    // the confirmation step, then their choice.
    let session = confirmed_elsewhere(&newest_mail(&email).await).await;
    assert_eq!(sign_in_status(&email, ATTACKERS).await, 401);
    owner_sets_a_password(&session, &email).await;
}

#[tokio::test]
async fn a_sign_up_confirmed_in_its_own_browser_keeps_its_password() {
    let email = victim();
    let browser = signed_up(&email, OWNERS).await;
    let mail = newest_mail(&email).await;
    let res = link_of(&mail, "signup")
        .cookie(&browser)
        .send(&routes::CONFIRM_EMAIL_LINK)
        .await;
    assert_eq!(res.status.as_u16(), 303, "{res:?}");
    assert_eq!(
        location(&res).as_str(),
        "http://localhost:3000/?new_user=true"
    );
    assert!(session_cookie(&res).is_some());
    assert_eq!(sign_in_status(&email, OWNERS).await, 200);
    assert_eq!(cleared_audits(&email).await, 0);
}

#[tokio::test]
async fn a_sign_up_confirmed_on_another_device_asks_for_a_new_password() {
    let email = victim();
    signed_up(&email, OWNERS).await;
    // Opened on the phone: the step, then the person's choice.
    let session = confirmed_elsewhere(&newest_mail(&email).await).await;
    // The password chosen elsewhere did not survive; the owner sets one here.
    assert_eq!(sign_in_status(&email, OWNERS).await, 401);
    let res = Req::post("/auth/password")
        .cookie(&session)
        .header("origin", APP)
        .json(json!({ "password": "a new password here" }))
        .send(&routes::SET_PASSWORD)
        .await;
    assert_eq!(res.status.as_u16(), 204, "{}", res.body);
    assert_eq!(sign_in_status(&email, "a new password here").await, 200);
}

#[tokio::test]
async fn a_sign_up_link_waits_when_the_database_cannot_say_which_browser_confirms() {
    // The browser that signed up opens its link while PostgREST is down: nothing is
    // verified (the password's fate would be undecided), the link stays usable.
    let email = victim();
    let browser = signed_up(&email, OWNERS).await;
    let mail = newest_mail(&email).await;
    let req = link_of(&mail, "signup").cookie(&browser).build();
    let res = send_with(
        &app_with_unreachable_postgrest(),
        &routes::CONFIRM_EMAIL_LINK,
        req,
    )
    .await;
    assert_eq!(res.status.as_u16(), 303, "{res:?}");
    assert_eq!(
        query_of(&location(&res), "error").as_deref(),
        Some("auth_unavailable")
    );
    assert!(session_cookie(&res).is_none());
    // Back up: the same link, the same browser, signed in with the password kept.
    let res = link_of(&mail, "signup")
        .cookie(&browser)
        .send(&routes::CONFIRM_EMAIL_LINK)
        .await;
    assert_eq!(res.status.as_u16(), 303, "{res:?}");
    assert!(session_cookie(&res).is_some());
    assert_eq!(sign_in_status(&email, OWNERS).await, 200);
}

#[tokio::test]
async fn only_the_service_role_binds_prepares_or_gives_back_straight_through_postgrest() {
    // A user (or anon) calling the functions behind the pre-registration rule and the
    // sign-in limit directly: refused, nothing bound or given back.
    let user = user_with_password(OWNERS).await;
    let flow = made_up_flow().1;
    for (function, body) in [
        (
            "bind_sign_up",
            json!({ "p_email": user.email, "p_password": OWNERS, "p_flow": flow }),
        ),
        (
            "prepare_email_confirmation",
            json!({ "p_token_hash": "abc", "p_flow": flow }),
        ),
        (
            "release_subject_hit",
            json!({ "p_rule": "sign-in:email", "p_subject": "x" }),
        ),
    ] {
        let path = format!("rpc/{function}");
        let as_user = postgrest_direct(
            reqwest::Method::POST,
            &path,
            Some(&user.token),
            Some(body.clone()),
        )
        .await;
        as_user.assert_refused(403, "42501");
        let as_anon = postgrest_direct(reqwest::Method::POST, &path, None, Some(body)).await;
        as_anon.assert_refused(401, "42501");
    }
}
