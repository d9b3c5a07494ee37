//! Cookie sessions: POST /auth/sign-in, /auth/refresh and /auth/sign-out, their rate
//! limits, login CSRF, and the audit trail of security events.
//!
//! Supabase Auth (GoTrue) cannot be installed here: these tests run against a STAND-IN
//! (tools/devstack, `auth-standin`) that follows GoTrue's documented API for the
//! endpoints used (`/token?grant_type=password|refresh_token`, `/logout`, `/user`),
//! including refresh-token rotation and reuse detection. The test stack sets
//! AUTH_REFRESH_TOKEN_REUSE_INTERVAL=0 (no grace period for a rotated refresh token),
//! COOKIE_SECURE=false (plain-http local dev) and ALLOWED_ORIGINS with
//! http://localhost:3000.
//!
//! Every test uses its own users, its own emails and its own client address (from
//! 100.64.0.0/10, `test_ip`), so rate-limit counters and audit rows of one test never
//! meet another's.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use functions::routes;
use functions::sessions::{REFRESH_PER_IP, SIGN_IN_PER_EMAIL, SIGN_IN_PER_IP};
use integration_tests::*;
use serde_json::{json, Value};
use shared::{App, Config};
use uuid::Uuid;

const ALLOWED: &str = "http://localhost:3000";
const FOREIGN: &str = "https://evil.example";
const PASSWORD: &str = "correct horse battery staple";
/// @supabase/ssr's cookie lifetime: 400 days.
const MAX_AGE: &str = "34560000";

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn unknown_email() -> String {
    format!("nobody-{}@example.test", Uuid::new_v4())
}

fn sign_in_req(ip: &str, email: &str, password: &str) -> Req {
    Req::post("/auth/sign-in")
        .ip(ip)
        .json(json!({ "email": email, "password": password }))
}

/// Fixed-window limits reset at the window's end: start a burst well inside a window so
/// a test never straddles two (the counters live in Postgres, on this machine's clock).
async fn away_from_window_edge(window_seconds: u32) {
    let window = u64::from(window_seconds);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let left = window - now.as_secs() % window;
    if left < 20 {
        tokio::time::sleep(Duration::from_secs(left + 1)).await;
    }
}

/// One `Set-Cookie` header, split into name, value and attributes.
#[derive(Debug)]
struct SetCookie {
    raw: String,
    name: String,
    value: String,
    attributes: Vec<String>,
}

impl SetCookie {
    fn parse(raw: &str) -> Self {
        let mut parts = raw.split(';').map(str::trim);
        let (name, value) = parts.next().unwrap().split_once('=').expect("name=value");
        Self {
            raw: raw.to_owned(),
            name: name.to_owned(),
            value: value.to_owned(),
            attributes: parts.map(str::to_owned).collect(),
        }
    }

    fn has_flag(&self, flag: &str) -> bool {
        self.attributes.iter().any(|a| a.eq_ignore_ascii_case(flag))
    }

    fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.iter().find_map(|a| {
            let (k, v) = a.split_once('=')?;
            k.trim().eq_ignore_ascii_case(key).then_some(v.trim())
        })
    }

    fn clears(&self) -> bool {
        self.value.is_empty() && self.attribute("Max-Age") == Some("0")
    }
}

fn set_cookies(res: &Res) -> Vec<SetCookie> {
    res.headers
        .get_all("set-cookie")
        .iter()
        .map(|v| SetCookie::parse(v.to_str().expect("ASCII Set-Cookie")))
        .collect()
}

/// True when the response expires the session cookie `name` (Max-Age=0, empty value).
fn clears_cookie(res: &Res, name: &str) -> bool {
    set_cookies(res)
        .iter()
        .any(|c| c.name == name && c.clears())
}

/// The session a response stored in the browser.
struct Session {
    /// What the browser sends back: `Cookie: <name>=<value>` (or its chunks).
    cookie: String,
    /// The raw cookie value (`base64-...`), chunks joined.
    value: String,
    /// The decoded session JSON.
    json: Value,
}

impl Session {
    fn access_token(&self) -> &str {
        self.json["access_token"].as_str().expect("access_token")
    }
    fn refresh_token(&self) -> &str {
        self.json["refresh_token"].as_str().expect("refresh_token")
    }
}

/// Reads the session cookie a response set, checking its attributes on the way.
#[track_caller]
fn session_of(res: &Res) -> Session {
    let name = cookie_name();
    let chunk_prefix = format!("{name}.");
    let mut written: Vec<SetCookie> = set_cookies(res)
        .into_iter()
        .filter(|c| c.name == name || c.name.starts_with(&chunk_prefix))
        .filter(|c| !c.clears())
        .collect();
    assert!(
        !written.is_empty(),
        "no session cookie set: {:?}",
        res.headers
    );
    for c in &written {
        assert!(c.has_flag("HttpOnly"), "not HttpOnly: {}", c.raw);
        assert_eq!(c.attribute("SameSite"), Some("Lax"), "{}", c.raw);
        assert_eq!(c.attribute("Path"), Some("/"), "{}", c.raw);
        assert_eq!(c.attribute("Max-Age"), Some(MAX_AGE), "{}", c.raw);
        // COOKIE_SECURE=false in the test stack (plain http); production keeps Secure.
        assert!(
            !c.has_flag("Secure"),
            "Secure set with COOKIE_SECURE=false: {}",
            c.raw
        );
        assert!(c.attribute("Domain").is_none(), "{}", c.raw);
    }
    let value = if let Some(single) = written.iter().find(|c| c.name == name) {
        assert_eq!(written.len(), 1, "bare cookie and chunks at once");
        single.value.clone()
    } else {
        written.sort_by_key(|c| c.name[chunk_prefix.len()..].parse::<u32>().unwrap());
        written.iter().map(|c| c.value.as_str()).collect()
    };
    let encoded = value
        .strip_prefix("base64-")
        .unwrap_or_else(|| panic!("not an @supabase/ssr base64 value: {value}"));
    let json: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(encoded)
            .expect("base64url without padding"),
    )
    .expect("session JSON");
    let cookie = written
        .iter()
        .map(|c| format!("{}={}", c.name, c.value))
        .collect::<Vec<_>>()
        .join("; ");
    Session {
        cookie,
        value,
        json,
    }
}

/// Signs `user` in (from an allowed origin) and returns the stored session.
async fn signed_in(user: &TestUser, ip: &str) -> Session {
    let res = sign_in_req(ip, &user.email, PASSWORD)
        .header("origin", ALLOWED)
        .send(&routes::SIGN_IN)
        .await;
    res.assert_ok(200);
    session_of(&res)
}

async fn refresh(session_cookie: &str, ip: &str) -> Res {
    Req::post("/auth/refresh")
        .ip(ip)
        .header("origin", ALLOWED)
        .cookie(session_cookie)
        .send(&routes::REFRESH_SESSION)
        .await
}

/// Sleeps into the next whole second.
async fn next_second() {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let into = Duration::from_nanos(u64::from(now.subsec_nanos()));
    tokio::time::sleep(Duration::from_secs(1) - into + Duration::from_millis(20)).await;
}

fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// An audit_log row, as the superuser sees it.
#[derive(Debug)]
struct AuditRow {
    action: String,
    actor: Option<Uuid>,
    target: Option<String>,
    occurrences: i32,
    metadata: Value,
}

/// Every audit row recorded for client address `ip`, oldest first.
async fn audit_for_ip(ip: &str) -> Vec<AuditRow> {
    db().await
        .query(
            "select action, actor_id, target, occurrences, metadata from public.audit_log \
             where host(ip) = $1 order by created_at, id",
            &[&ip],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| AuditRow {
            action: r.get(0),
            actor: r.get(1),
            target: r.get(2),
            occurrences: r.get(3),
            metadata: r.get(4),
        })
        .collect()
}

fn actions(rows: &[AuditRow]) -> Vec<&str> {
    rows.iter().map(|r| r.action.as_str()).collect()
}

async fn rate_limit_counters(key_like: &str) -> i64 {
    db().await
        .query_one(
            "select count(*) from private.rate_limit_counters where key like $1",
            &[&key_like],
        )
        .await
        .unwrap()
        .get(0)
}

// ---------------------------------------------------------------------------------------
// 1. Sign-in
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn sign_in_sets_the_session_cookie_and_returns_only_the_user() {
    let user = user_with_password(PASSWORD).await;
    let ws = workspace(&user).await;
    let ip = test_ip();

    let res = sign_in_req(&ip, &user.email, PASSWORD)
        .header("origin", ALLOWED)
        .header("user-agent", "sessions-test/1.0")
        .send(&routes::SIGN_IN)
        .await;
    let data = res.assert_ok(200).clone();
    assert_eq!(data["user"]["id"], user.id.to_string(), "{}", res.body);
    assert_eq!(data["user"]["email"], user.email, "{}", res.body);
    assert!(data["expiresAt"].is_i64(), "{}", res.body);
    // Never signed in before: the client is told to onboard them.
    assert_eq!(data["isNewUser"], true, "{}", res.body);
    assert_eq!(
        res.header("access-control-allow-origin"),
        Some(ALLOWED),
        "an allowed browser origin gets CORS with credentials"
    );
    assert_eq!(res.header("access-control-allow-credentials"), Some("true"));

    // The cookie: @supabase/ssr's name and format, HttpOnly, Lax, no Secure here.
    let session = session_of(&res);
    assert!(session
        .cookie
        .starts_with(&format!("{}=base64-", cookie_name())));
    assert_eq!(session.json["user"]["id"], user.id.to_string());
    assert_eq!(session.json["expires_at"], data["expiresAt"]);
    assert_eq!(
        jwt_claims(session.access_token())["sub"],
        user.id.to_string()
    );
    assert!(!session.refresh_token().is_empty());

    // No token of any kind in the body: the refresh token lives in the HttpOnly cookie.
    let body = res.body.to_string();
    for needle in [
        "access_token",
        "refresh_token",
        "accessToken",
        "refreshToken",
        session.access_token(),
        session.refresh_token(),
        PASSWORD,
    ] {
        assert!(!body.contains(needle), "{needle:?} in body {body}");
    }

    // The cookie authenticates a user route as this user.
    let res = Req::get("/workspaces")
        .cookie(&session.cookie)
        .send(&routes::LIST_WORKSPACES)
        .await;
    let list = res.assert_ok(200);
    assert_eq!(list.as_array().unwrap().len(), 1, "{}", res.body);
    assert_eq!(list[0]["id"], ws.to_string());

    // One SIGN_IN event: this user, this address, no secret in it.
    let rows = audit_for_ip(&ip).await;
    assert_eq!(actions(&rows), ["SIGN_IN"], "{rows:?}");
    assert_eq!(rows[0].actor, Some(user.id));
    assert_eq!(rows[0].occurrences, 1);
    let metadata = rows[0].metadata.to_string();
    assert!(!metadata.contains(PASSWORD) && !metadata.contains(session.refresh_token()));
    let by_actor = audit_rows("actor_id = $1", &user.id).await;
    assert_eq!(by_actor.len(), 1, "{by_actor:?}");
    // With how they signed in: the provider and the method (the address is the row's ip).
    assert_eq!(rows[0].metadata["provider"], "email", "{:?}", rows[0]);
    assert_eq!(rows[0].metadata["method"], "password", "{:?}", rows[0]);
    assert_eq!(rows[0].metadata["firstSignIn"], true, "{:?}", rows[0]);

    // The second sign-in is not new.
    let res = sign_in_req(&ip, &user.email, PASSWORD)
        .send(&routes::SIGN_IN)
        .await;
    assert_eq!(res.assert_ok(200)["isNewUser"], false, "{}", res.body);
    let rows = audit_for_ip(&ip).await;
    assert_eq!(actions(&rows), ["SIGN_IN", "SIGN_IN"], "{rows:?}");
    assert_eq!(rows[1].metadata["firstSignIn"], false, "{:?}", rows[1]);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_are_the_same_audited_401() {
    let user = user_with_password(PASSWORD).await;
    let ip = test_ip();

    let wrong_password = sign_in_req(&ip, &user.email, "not the password")
        .send(&routes::SIGN_IN)
        .await;
    let stranger = unknown_email();
    let unknown = sign_in_req(&ip, &stranger, PASSWORD)
        .send(&routes::SIGN_IN)
        .await;

    for res in [&wrong_password, &unknown] {
        res.assert_error(401, "UNAUTHORIZED");
        assert!(
            res.header("www-authenticate")
                .is_some_and(|v| v.starts_with("Bearer")),
            "{:?}",
            res.headers
        );
        assert!(set_cookies(res).is_empty(), "{:?}", res.headers);
        assert!(res.body["error"].get("details").is_none(), "{}", res.body);
    }
    // Nothing tells an attacker whether the email exists.
    assert_eq!(
        wrong_password.body["error"]["message"],
        unknown.body["error"]["message"]
    );
    let message = wrong_password.body["error"]["message"].as_str().unwrap();
    assert_eq!(message, "Invalid email or password");
    assert!(!unknown.body.to_string().contains(&stranger));

    // Two SIGN_IN_FAILED rows without an actor, and no AUTH_REFUSED from the pipeline:
    // the handler already audited these refusals.
    let rows = audit_for_ip(&ip).await;
    assert_eq!(
        actions(&rows),
        ["SIGN_IN_FAILED", "SIGN_IN_FAILED"],
        "{rows:?}"
    );
    for row in &rows {
        assert_eq!(row.actor, None, "{row:?}");
        assert_eq!(row.occurrences, 1, "{row:?}");
        let metadata = row.metadata.to_string();
        // The email is kept only as a hash (the rate-limit key), never in clear.
        assert!(row.metadata["emailKey"]
            .as_str()
            .is_some_and(|k| k.len() == 64 && k.bytes().all(|b| b.is_ascii_hexdigit())));
        assert!(!metadata.contains(&user.email) && !metadata.contains(&stranger));
        assert!(!metadata.contains(PASSWORD) && !metadata.contains("not the password"));
    }
}

#[tokio::test]
async fn invalid_sign_in_input_is_refused_before_counting_or_calling_auth() {
    let user = user_with_password(PASSWORD).await;
    let ip = test_ip();
    let route = routes::SIGN_IN;
    let send = |req: Req| req.ip(&ip).send(&route);

    let cases = [
        (json!({ "password": PASSWORD }), "email"),
        (
            json!({ "email": "not-an-email", "password": PASSWORD }),
            "email",
        ),
        (json!({ "email": user.email, "password": "" }), "password"),
        (json!({ "email": user.email }), "password"),
        (
            json!({ "email": user.email, "password": PASSWORD, "rememberMe": true }),
            "rememberMe",
        ),
        (json!({ "email": 42, "password": PASSWORD }), "email"),
    ];
    for (body, field) in cases {
        let res = send(Req::post("/auth/sign-in").json(body.clone())).await;
        res.assert_invalid(field);
        assert!(set_cookies(&res).is_empty());
        assert!(!res.body.to_string().contains(PASSWORD), "input echoed");
    }

    let json_text = json!({ "email": user.email, "password": PASSWORD }).to_string();
    let res = send(Req::post("/auth/sign-in").raw_body("text/plain", &json_text)).await;
    res.assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    let res =
        send(Req::post("/auth/sign-in").raw_body("application/x-www-form-urlencoded", "email=a"))
            .await;
    res.assert_error(415, "UNSUPPORTED_MEDIA_TYPE");

    let res = send(Req::post("/auth/sign-in").raw_body("application/json", "{\"email\":")).await;
    res.assert_error(400, "BAD_REQUEST");
    assert!(set_cookies(&res).is_empty());

    // None of these reached the rate limiter, Supabase Auth or the audit trail.
    assert_eq!(rate_limit_counters(&format!("ip:sign-in:ip:{ip}")).await, 0);
    assert!(audit_for_ip(&ip).await.is_empty());
    // And the user can still sign in.
    signed_in(&user, &ip).await;
}

// ---------------------------------------------------------------------------------------
// 4. Rate limits
// ---------------------------------------------------------------------------------------

#[track_caller]
fn assert_rate_limited(res: &Res, window_seconds: u32) {
    res.assert_error(429, "RATE_LIMITED");
    let retry_after: u64 = res
        .header("retry-after")
        .expect("Retry-After on a 429")
        .parse()
        .expect("Retry-After in seconds");
    assert!(
        (1..=u64::from(window_seconds)).contains(&retry_after),
        "Retry-After {retry_after}"
    );
    assert!(set_cookies(res).is_empty());
}

#[tokio::test]
async fn sign_in_is_rate_limited_per_email() {
    let user = user_with_password(PASSWORD).await;
    let neighbour = user_with_password(PASSWORD).await;
    let ip = test_ip();
    away_from_window_edge(SIGN_IN_PER_EMAIL.window_seconds).await;

    for attempt in 1..=SIGN_IN_PER_EMAIL.max {
        let res = sign_in_req(&ip, &user.email, &format!("guess-{attempt}"))
            .send(&routes::SIGN_IN)
            .await;
        res.assert_error(401, "UNAUTHORIZED");
    }
    // Over the limit: refused before the password is checked, even the right one.
    let res = sign_in_req(&ip, &user.email, PASSWORD)
        .send(&routes::SIGN_IN)
        .await;
    assert_rate_limited(&res, SIGN_IN_PER_EMAIL.window_seconds);

    // The email key ignores case.
    let shouted = user.email.to_uppercase();
    let res = sign_in_req(&ip, &shouted, PASSWORD)
        .send(&routes::SIGN_IN)
        .await;
    assert_rate_limited(&res, SIGN_IN_PER_EMAIL.window_seconds);

    // A stranger's wrong guesses cannot lock the owner out: from her own address she
    // signs in at once.
    signed_in(&user, &test_ip()).await;

    // Another email from the same address is unaffected (the address is far from its
    // own limit).
    signed_in(&neighbour, &ip).await;
}

/// The RateLimit header says `left` failures remain for the email (at this address).
#[track_caller]
fn assert_email_failures_left(res: &Res, left: u32) {
    let state = res.header("ratelimit").expect("RateLimit");
    let expected = format!("\"{}\";r={left};", SIGN_IN_PER_EMAIL.rule);
    assert!(state.contains(&expected), "{state}");
}

#[tokio::test]
async fn only_failed_sign_ins_count_against_the_email() {
    let user = user_with_password(PASSWORD).await;
    let ip = test_ip();
    away_from_window_edge(SIGN_IN_PER_EMAIL.window_seconds).await;
    // More successful sign-ins than the email limit: none of them is a failure.
    for _ in 0..=SIGN_IN_PER_EMAIL.max {
        signed_in(&user, &ip).await;
    }
    let res = sign_in_req(&ip, &user.email, "wrong")
        .send(&routes::SIGN_IN)
        .await;
    res.assert_error(401, "UNAUTHORIZED");
    // One failure used, the rest left.
    assert_email_failures_left(&res, SIGN_IN_PER_EMAIL.max - 1);
}

#[tokio::test]
async fn an_address_over_its_limit_counts_nothing_against_the_email() {
    let user = user_with_password(PASSWORD).await;
    let ip = test_ip();
    away_from_window_edge(SIGN_IN_PER_IP.window_seconds).await;
    for _ in 0..SIGN_IN_PER_IP.max {
        sign_in_req(&ip, &unknown_email(), "password123")
            .send(&routes::SIGN_IN)
            .await
            .assert_error(401, "UNAUTHORIZED");
    }
    // Refused at the address: the email's failures are not consulted or counted.
    for _ in 0..3 {
        let res = sign_in_req(&ip, &user.email, "wrong")
            .send(&routes::SIGN_IN)
            .await;
        assert_rate_limited(&res, SIGN_IN_PER_IP.window_seconds);
        assert_eq!(
            res.header("ratelimit-policy"),
            Some(
                format!(
                    "\"{}\";q={};w={}",
                    SIGN_IN_PER_IP.rule, SIGN_IN_PER_IP.max, SIGN_IN_PER_IP.window_seconds
                )
                .as_str()
            )
        );
    }
    let res = sign_in_req(&test_ip(), &user.email, "wrong")
        .send(&routes::SIGN_IN)
        .await;
    res.assert_error(401, "UNAUTHORIZED");
    assert_email_failures_left(&res, SIGN_IN_PER_EMAIL.max - 1);
}

#[tokio::test]
async fn sign_in_is_rate_limited_per_address() {
    let user = user_with_password(PASSWORD).await;
    let ip = test_ip();
    away_from_window_edge(SIGN_IN_PER_IP.window_seconds).await;

    // Credential stuffing: a different email each time, from one address.
    for _ in 0..SIGN_IN_PER_IP.max {
        let res = sign_in_req(&ip, &unknown_email(), "password123")
            .send(&routes::SIGN_IN)
            .await;
        res.assert_error(401, "UNAUTHORIZED");
    }
    let res = sign_in_req(&ip, &user.email, PASSWORD)
        .send(&routes::SIGN_IN)
        .await;
    assert_rate_limited(&res, SIGN_IN_PER_IP.window_seconds);

    // The same user from another address is unaffected: the refused attempt above did
    // not count against the user's email either.
    signed_in(&user, &test_ip()).await;
}

// ---------------------------------------------------------------------------------------
// 5. Login CSRF
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn login_csrf_browser_sign_in_must_come_from_an_allowed_origin() {
    let user = user_with_password(PASSWORD).await;
    let ip = test_ip();

    // A foreign page posting the attacker's credentials (login CSRF), however marked.
    let refused = [
        sign_in_req(&ip, &user.email, PASSWORD).header("origin", FOREIGN),
        sign_in_req(&ip, &user.email, PASSWORD).header("sec-fetch-site", "cross-site"),
        sign_in_req(&ip, &user.email, PASSWORD)
            .header("origin", ALLOWED)
            .header("sec-fetch-site", "cross-site"),
        sign_in_req(&ip, &user.email, PASSWORD).header("origin", "null"),
        sign_in_req(&ip, &user.email, PASSWORD)
            .header("origin", "http://localhost:3000.evil.example"),
    ];
    for req in refused {
        let res = req.send(&routes::SIGN_IN).await;
        res.assert_error(403, "CSRF_FAILED");
        assert!(set_cookies(&res).is_empty(), "{:?}", res.headers);
        // CORS only ever names an allowed origin.
        assert!(
            matches!(
                res.header("access-control-allow-origin"),
                None | Some(ALLOWED)
            ),
            "{:?}",
            res.headers
        );
    }
    // Refused before any attempt was counted or checked.
    let rows = audit_for_ip(&ip).await;
    assert!(rows.iter().all(|r| r.action == "CSRF_FAILED"), "{rows:?}");

    // From the app's own origin: signed in.
    let res = sign_in_req(&ip, &user.email, PASSWORD)
        .header("origin", "https://app.example.test")
        .header("sec-fetch-site", "same-site")
        .send(&routes::SIGN_IN)
        .await;
    res.assert_ok(200);
    session_of(&res);

    // A client that is not a browser sends neither header: not at risk, signed in.
    let res = sign_in_req(&ip, &user.email, PASSWORD)
        .send(&routes::SIGN_IN)
        .await;
    res.assert_ok(200);
    session_of(&res);
}

// ---------------------------------------------------------------------------------------
// 6. Refresh
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn refresh_rotates_the_session_and_a_reused_refresh_token_ends_it() {
    let user = user_with_password(PASSWORD).await;
    let ip = test_ip();
    let first = signed_in(&user, &ip).await;

    // A -> B: a new cookie with a new access token and a rotated refresh token. (Tokens
    // carry iat/exp in whole seconds and ES256 signs deterministically here: refresh in
    // a later second than the sign-in, so the new access token must differ.)
    next_second().await;
    let res = refresh(&first.cookie, &ip).await;
    let data = res.assert_ok(200).clone();
    assert_eq!(data["user"]["id"], user.id.to_string());
    assert!(data["expiresAt"].is_i64());
    let body = res.body.to_string();
    assert!(
        !body.contains("access_token") && !body.contains("refresh_token"),
        "{body}"
    );
    let second = session_of(&res);
    assert_ne!(second.access_token(), first.access_token());
    assert_ne!(second.refresh_token(), first.refresh_token());
    assert_eq!(
        jwt_claims(second.access_token())["sub"],
        user.id.to_string()
    );
    assert!(!body.contains(second.refresh_token()));
    let (old_claims, new_claims) = (
        jwt_claims(first.access_token()),
        jwt_claims(second.access_token()),
    );
    assert!(new_claims["iat"].as_i64() > old_claims["iat"].as_i64());
    assert_eq!(
        new_claims["session_id"], old_claims["session_id"],
        "a refresh continues the same session"
    );
    let res = Req::get("/workspaces")
        .cookie(&second.cookie)
        .send(&routes::LIST_WORKSPACES)
        .await;
    res.assert_ok(200);

    // GoTrue's rule for a client that lost the answer to its refresh: the parent of the
    // session's active refresh token gets that active token back, nothing new is minted.
    let res = refresh(&first.cookie, &ip).await;
    res.assert_ok(200);
    assert_eq!(session_of(&res).refresh_token(), second.refresh_token());

    // B -> C. Now A is two rotations old: presenting it again is token reuse (theft,
    // with AUTH_REFRESH_TOKEN_REUSE_INTERVAL=0): 401, and the cookie is cleared.
    let res = refresh(&second.cookie, &ip).await;
    res.assert_ok(200);
    let third = session_of(&res);
    assert_ne!(third.refresh_token(), second.refresh_token());

    let res = refresh(&first.cookie, &ip).await;
    res.assert_error(401, "UNAUTHORIZED");
    assert!(clears_cookie(&res, &cookie_name()), "{:?}", res.headers);
    assert!(set_cookies(&res).iter().all(SetCookie::clears));
    assert!(!res.body.to_string().contains(first.refresh_token()));

    // Reuse detection revoked the whole session: the newest cookie is dead too.
    let res = refresh(&third.cookie, &ip).await;
    res.assert_error(401, "UNAUTHORIZED");
    assert!(clears_cookie(&res, &cookie_name()));
}

#[tokio::test]
async fn refresh_is_rate_limited_per_address() {
    let user = user_with_password(PASSWORD).await;
    let ip = test_ip();
    let session = signed_in(&user, &ip).await;
    away_from_window_edge(REFRESH_PER_IP.window_seconds).await;
    let res = refresh(&session.cookie, &ip).await;
    res.assert_ok(200);
    assert_eq!(
        res.header("ratelimit-policy"),
        Some(
            format!(
                "\"{}\";q={};w={}",
                REFRESH_PER_IP.rule, REFRESH_PER_IP.max, REFRESH_PER_IP.window_seconds
            )
            .as_str()
        )
    );
    let session = session_of(&res);
    // Use up the address's allowance (as many refreshes would).
    db().await
        .execute(
            "update private.rate_limit_counters set hits = $2 where key = $1",
            &[
                &format!("ip:{}:{ip}", REFRESH_PER_IP.rule),
                &(REFRESH_PER_IP.max as i32),
            ],
        )
        .await
        .unwrap();
    let res = refresh(&session.cookie, &ip).await;
    assert_rate_limited(&res, REFRESH_PER_IP.window_seconds);
    // The session itself is fine: from another address it still refreshes.
    refresh(&session.cookie, &test_ip()).await.assert_ok(200);
}

#[tokio::test]
async fn refresh_without_a_session_cookie_is_401() {
    let ip = test_ip();
    let name = cookie_name();
    let unknown_session = json!({ "access_token": "a.b.c", "refresh_token": "no-such-token" });
    let unknown_value = format!(
        "base64-{}",
        URL_SAFE_NO_PAD.encode(unknown_session.to_string())
    );
    for cookie in [
        None,
        Some("theme=dark".to_owned()),
        Some(format!("{name}=base64-garbage")),
        Some(format!(
            "{name}=base64-{}",
            URL_SAFE_NO_PAD.encode(json!({ "access_token": "a.b.c" }).to_string())
        )),
        Some(format!("{name}={unknown_value}")),
    ] {
        let mut req = Req::post("/auth/refresh").ip(&ip).header("origin", ALLOWED);
        if let Some(cookie) = &cookie {
            req = req.cookie(cookie);
        }
        let res = req.send(&routes::REFRESH_SESSION).await;
        res.assert_error(401, "UNAUTHORIZED");
        assert!(
            set_cookies(&res).iter().all(SetCookie::clears),
            "{cookie:?}: {:?}",
            res.headers
        );
    }
}

#[tokio::test]
async fn refresh_from_a_foreign_origin_is_csrf_failed_and_leaves_the_session() {
    let user = user_with_password(PASSWORD).await;
    let ip = test_ip();
    let session = signed_in(&user, &ip).await;

    for (origin, fetch_site) in [
        (Some(FOREIGN), None),
        (None, Some("cross-site")),
        (None, None), // a cookie credential always needs a known origin
    ] {
        let mut req = Req::post("/auth/refresh").ip(&ip).cookie(&session.cookie);
        if let Some(origin) = origin {
            req = req.header("origin", origin);
        }
        if let Some(site) = fetch_site {
            req = req.header("sec-fetch-site", site);
        }
        let res = req.send(&routes::REFRESH_SESSION).await;
        res.assert_error(403, "CSRF_FAILED");
        assert!(set_cookies(&res).is_empty(), "{:?}", res.headers);
    }

    // The refresh token was not used by the refused requests.
    let res = refresh(&session.cookie, &ip).await;
    res.assert_ok(200);
    assert_ne!(session_of(&res).refresh_token(), session.refresh_token());
}

#[tokio::test]
async fn refresh_accepts_a_chunked_session_cookie_and_expires_stale_chunks() {
    let user = user_with_password(PASSWORD).await;
    let ip = test_ip();
    let session = signed_in(&user, &ip).await;
    let name = cookie_name();
    let (a, b) = session.value.split_at(session.value.len() / 2);

    let res = Req::post("/auth/refresh")
        .ip(&ip)
        .header("origin", ALLOWED)
        .cookie(&format!("{name}.1={b}; theme=dark"))
        .cookie(&format!("{name}.0={a}"))
        .send(&routes::REFRESH_SESSION)
        .await;
    let data = res.assert_ok(200);
    assert_eq!(data["user"]["id"], user.id.to_string());
    let renewed = session_of(&res);
    assert_ne!(renewed.refresh_token(), session.refresh_token());
    // The new session fits one cookie: the old chunks are expired, not left behind.
    if !renewed.cookie.starts_with(&format!("{name}.")) {
        assert!(
            clears_cookie(&res, &format!("{name}.0")),
            "{:?}",
            res.headers
        );
        assert!(
            clears_cookie(&res, &format!("{name}.1")),
            "{:?}",
            res.headers
        );
    }
    let res = Req::get("/workspaces")
        .cookie(&renewed.cookie)
        .send(&routes::LIST_WORKSPACES)
        .await;
    res.assert_ok(200);
}

// ---------------------------------------------------------------------------------------
// 7. Sign-out
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn sign_out_with_the_cookie_ends_the_session_and_clears_the_cookie() {
    let user = user_with_password(PASSWORD).await;
    let ip = test_ip();
    let session = signed_in(&user, &ip).await;

    let res = Req::post("/auth/sign-out")
        .ip(&ip)
        .header("origin", ALLOWED)
        .cookie(&session.cookie)
        .send(&routes::SIGN_OUT)
        .await;
    assert_eq!(res.status.as_u16(), 204, "body: {}", res.body);
    assert_security_headers(&res.headers);
    assert_eq!(res.body, Value::Null);
    assert!(clears_cookie(&res, &cookie_name()), "{:?}", res.headers);
    for c in set_cookies(&res) {
        assert!(c.clears(), "{}", c.raw);
        assert!(
            c.has_flag("HttpOnly") && c.attribute("Path") == Some("/"),
            "{}",
            c.raw
        );
    }

    let rows = audit_for_ip(&ip).await;
    assert_eq!(actions(&rows), ["SIGN_IN", "SIGN_OUT"], "{rows:?}");
    assert_eq!(rows[1].actor, Some(user.id));

    // The session is over at Supabase Auth: its refresh token no longer works.
    let res = refresh(&session.cookie, &ip).await;
    res.assert_error(401, "UNAUTHORIZED");
    assert!(clears_cookie(&res, &cookie_name()));
}

#[tokio::test]
async fn sign_out_with_a_bearer_token_needs_no_origin() {
    let user = user_with_password(PASSWORD).await;
    let ip = test_ip();
    let session = signed_in(&user, &ip).await;

    // A non-browser client: Authorization header, no cookie, no Origin.
    let res = Req::post("/auth/sign-out")
        .ip(&ip)
        .bearer(session.access_token())
        .send(&routes::SIGN_OUT)
        .await;
    assert_eq!(res.status.as_u16(), 204, "body: {}", res.body);
    assert_security_headers(&res.headers);
    let rows = audit_rows("actor_id = $1 and action = 'SIGN_OUT'", &user.id).await;
    assert_eq!(rows.len(), 1, "{rows:?}");

    let res = refresh(&session.cookie, &ip).await;
    res.assert_error(401, "UNAUTHORIZED");

    // Signing out of a session that already ended is not an error (as supabase-js).
    let res = Req::post("/auth/sign-out")
        .ip(&ip)
        .bearer(session.access_token())
        .send(&routes::SIGN_OUT)
        .await;
    assert_eq!(res.status.as_u16(), 204, "body: {}", res.body);
}

#[tokio::test]
async fn sign_out_with_the_cookie_from_a_foreign_origin_is_csrf_failed() {
    let user = user_with_password(PASSWORD).await;
    let ip = test_ip();
    let session = signed_in(&user, &ip).await;

    for req in [
        Req::post("/auth/sign-out").header("origin", FOREIGN),
        Req::post("/auth/sign-out").header("sec-fetch-site", "cross-site"),
        Req::post("/auth/sign-out"),
    ] {
        let res = req
            .ip(&ip)
            .cookie(&session.cookie)
            .send(&routes::SIGN_OUT)
            .await;
        res.assert_error(403, "CSRF_FAILED");
        assert!(set_cookies(&res).is_empty(), "{:?}", res.headers);
    }
    assert!(
        audit_rows("actor_id = $1 and action = 'SIGN_OUT'", &user.id)
            .await
            .is_empty()
    );

    // Nobody was signed out: the session still refreshes.
    let res = refresh(&session.cookie, &ip).await;
    res.assert_ok(200);
}

#[tokio::test]
async fn sign_out_without_a_session_still_clears_the_cookie() {
    let ip = test_ip();
    let res = Req::post("/auth/sign-out")
        .ip(&ip)
        .header("origin", ALLOWED)
        .send(&routes::SIGN_OUT)
        .await;
    assert_eq!(res.status.as_u16(), 204, "body: {}", res.body);
    assert!(clears_cookie(&res, &cookie_name()), "{:?}", res.headers);

    // A broken cookie is no session either: cleared (from an allowed origin).
    let res = Req::post("/auth/sign-out")
        .ip(&ip)
        .header("origin", ALLOWED)
        .cookie(&format!("{}=base64-not-json", cookie_name()))
        .send(&routes::SIGN_OUT)
        .await;
    assert_eq!(res.status.as_u16(), 204, "body: {}", res.body);
    assert!(clears_cookie(&res, &cookie_name()), "{:?}", res.headers);

    // A bearer token that is no token at all is still refused.
    let res = Req::post("/auth/sign-out")
        .ip(&ip)
        .bearer("not-a-token")
        .send(&routes::SIGN_OUT)
        .await;
    res.assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn sign_out_with_an_expired_access_token_ends_the_session_through_its_refresh_token() {
    let user = user_with_password(PASSWORD).await;
    let ip = test_ip();
    let session = signed_in(&user, &ip).await;
    // A user back after an hour: the cookie's access token has expired, its refresh
    // token has not.
    let mut json = session.json.clone();
    json["access_token"] = json!(expired_token(&user));
    let stale = format!(
        "{}=base64-{}",
        cookie_name(),
        URL_SAFE_NO_PAD.encode(json.to_string())
    );

    let res = Req::post("/auth/sign-out")
        .ip(&ip)
        .header("origin", ALLOWED)
        .cookie(&stale)
        .send(&routes::SIGN_OUT)
        .await;
    assert_eq!(res.status.as_u16(), 204, "body: {}", res.body);
    assert!(clears_cookie(&res, &cookie_name()), "{:?}", res.headers);
    let rows = audit_rows("actor_id = $1 and action = 'SIGN_OUT'", &user.id).await;
    assert_eq!(rows.len(), 1, "{rows:?}");

    // The refresh token the cookie held no longer works for the next person at the
    // machine.
    let res = refresh(&session.cookie, &ip).await;
    res.assert_error(401, "UNAUTHORIZED");

    // And the CSRF rule still holds for such a cookie.
    let res = Req::post("/auth/sign-out")
        .ip(&ip)
        .header("origin", FOREIGN)
        .cookie(&stale)
        .send(&routes::SIGN_OUT)
        .await;
    res.assert_error(403, "CSRF_FAILED");
    assert!(set_cookies(&res).is_empty());
}

// ---------------------------------------------------------------------------------------
// 8. Supabase Auth down
// ---------------------------------------------------------------------------------------

/// The app with Supabase Auth at a closed port; PostgREST and the JWKS as in the stack
/// (so tokens still verify and rate limits still count).
fn app_with_unreachable_supabase_auth() -> App {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let stack_url = stack().supabase_url.trim_end_matches('/').to_owned();
    let config = Config::from_lookup(|name| match name {
        "SUPABASE_URL" => Some(format!("http://127.0.0.1:{port}")),
        "SUPABASE_JWKS_URL" => Some(format!("{stack_url}/auth/v1/.well-known/jwks.json")),
        "SUPABASE_JWT_ISSUER" => Some(
            std::env::var("SUPABASE_JWT_ISSUER").unwrap_or_else(|_| format!("{stack_url}/auth/v1")),
        ),
        "UPSTREAM_TIMEOUT_MS" => Some("1000".into()),
        other => std::env::var(other).ok(),
    })
    .unwrap();
    App::new(config).unwrap()
}

#[track_caller]
fn assert_clean_unavailable(res: &Res) {
    res.assert_error(503, "SERVICE_UNAVAILABLE");
    let error = res.body["error"].as_object().unwrap();
    let mut keys: Vec<&str> = error.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["code", "message", "requestId"], "{}", res.body);
    let body = res.body.to_string().to_lowercase();
    for leak in [
        "127.0.0.1",
        "refused",
        "auth_unavailable",
        "reqwest",
        "tcp",
        "gotrue",
    ] {
        assert!(!body.contains(leak), "{leak:?} in {body}");
    }
}

#[tokio::test]
async fn supabase_auth_unreachable_is_a_clean_503() {
    let app = app_with_unreachable_supabase_auth();
    let user = user_with_password(PASSWORD).await;
    let ip = test_ip();

    let res = send_with(
        &app,
        &routes::SIGN_IN,
        sign_in_req(&ip, &user.email, PASSWORD).build(),
    )
    .await;
    assert_clean_unavailable(&res);
    assert!(set_cookies(&res).is_empty());
    assert!(
        audit_for_ip(&ip).await.is_empty(),
        "an outage is no failed sign-in"
    );

    // Refresh during an outage: 503, and the cookie is kept (the session may be fine).
    let name = app.config.auth_cookie_name.clone();
    let res = send_with(
        &app,
        &routes::REFRESH_SESSION,
        Req::post("/auth/refresh")
            .ip(&ip)
            .header("origin", ALLOWED)
            .cookie(&format!("{name}={}", session_cookie_value(&user.token)))
            .build(),
    )
    .await;
    assert_clean_unavailable(&res);
    assert!(set_cookies(&res).is_empty(), "{:?}", res.headers);

    // Sign-out cannot end the session at Supabase Auth: it says so instead of
    // pretending, and still clears the cookie so that the next person at the machine
    // does not inherit the session.
    let res = send_with(
        &app,
        &routes::SIGN_OUT,
        Req::post("/auth/sign-out").ip(&ip).as_user(&user).build(),
    )
    .await;
    assert_clean_unavailable(&res);
    assert!(clears_cookie(&res, &name), "{:?}", res.headers);
}

// ---------------------------------------------------------------------------------------
// 9. Audit of refusals
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_flood_of_refused_requests_is_one_coalesced_audit_row() {
    let ip = test_ip();
    for _ in 0..30 {
        let res = Req::get("/workspaces")
            .ip(&ip)
            .bearer("not-a-token")
            .send(&routes::LIST_WORKSPACES)
            .await;
        res.assert_error(401, "UNAUTHORIZED");
    }
    let rows = audit_for_ip(&ip).await;
    // One row per action, address, route, actor and minute: one row, or two when the
    // flood crossed a minute boundary.
    assert!(!rows.is_empty() && rows.len() <= 2, "{rows:?}");
    assert_eq!(
        rows.iter().map(|r| r.occurrences).sum::<i32>(),
        30,
        "{rows:?}"
    );
    for row in &rows {
        assert_eq!(row.action, "AUTH_REFUSED");
        assert_eq!(row.actor, None);
        assert_eq!(row.target.as_deref(), Some("list-workspaces"));
        assert_eq!(row.metadata["status"], 401);
        assert!(!row.metadata.to_string().contains("not-a-token"), "{row:?}");
    }
}

#[tokio::test]
async fn a_csrf_refusal_is_audited_as_csrf_failed() {
    let user = user().await;
    let ip = test_ip();

    // A cookie-authenticated write from a foreign page.
    let res = Req::post("/workspaces")
        .ip(&ip)
        .header("origin", FOREIGN)
        .cookie(&format!(
            "{}={}",
            cookie_name(),
            session_cookie_value(&user.token)
        ))
        .json(json!({ "name": "csrf" }))
        .send(&routes::CREATE_WORKSPACE)
        .await;
    res.assert_error(403, "CSRF_FAILED");
    // A login CSRF attempt.
    let res = sign_in_req(&ip, &unknown_email(), PASSWORD)
        .header("origin", FOREIGN)
        .send(&routes::SIGN_IN)
        .await;
    res.assert_error(403, "CSRF_FAILED");

    let rows = audit_for_ip(&ip).await;
    assert_eq!(actions(&rows), ["CSRF_FAILED", "CSRF_FAILED"], "{rows:?}");
    assert_eq!(rows[0].target.as_deref(), Some("create-workspace"));
    assert_eq!(rows[0].actor, Some(user.id));
    assert_eq!(rows[0].metadata["status"], 403);
    assert_eq!(rows[1].target.as_deref(), Some("sign-in"));
    assert_eq!(rows[1].actor, None);
}

// ---------------------------------------------------------------------------------------
// 10. audit_log behind PostgREST
// ---------------------------------------------------------------------------------------

/// Calls PostgREST directly, as a client holding `token` (or none: anon) would.
async fn rest(
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!("{}/{path}", stack().rest_url.trim_end_matches('/'));
    let mut req = reqwest::Client::new()
        .request(method, url)
        .header("prefer", "return=representation");
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.expect("PostgREST answers");
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

async fn audit_rows_with_target(target: &str) -> i64 {
    db().await
        .query_one(
            "select count(*) from public.audit_log where target = $1",
            &[&target],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn audit_log_is_not_reachable_through_postgrest() {
    use reqwest::Method;
    let user = user().await;
    // The user has an audit row of their own (a CSRF refusal), which they still may not read.
    let res = Req::post("/workspaces")
        .ip(&test_ip())
        .header("origin", FOREIGN)
        .cookie(&format!(
            "{}={}",
            cookie_name(),
            session_cookie_value(&user.token)
        ))
        .json(json!({ "name": "csrf" }))
        .send(&routes::CREATE_WORKSPACE)
        .await;
    res.assert_error(403, "CSRF_FAILED");
    assert_eq!(audit_rows("actor_id = $1", &user.id).await.len(), 1);

    let marker = format!("forged-{}", Uuid::new_v4());
    for token in [Some(user.token.as_str()), None] {
        let who = if token.is_some() { "user" } else { "anon" };

        let (status, body) = rest(Method::GET, "audit_log?select=*", token, None).await;
        assert!(
            matches!(status, 401 | 403) || (status == 200 && body == json!([])),
            "{who} read audit_log: {status} {body}"
        );

        let forged = json!({
            "action": "SIGN_IN", "actor_id": user.id, "target": marker, "ip": "192.0.2.1"
        });
        let (status, body) = rest(Method::POST, "audit_log", token, Some(forged)).await;
        assert!(matches!(status, 401 | 403), "{who} insert: {status} {body}");

        let (status, body) = rest(
            Method::PATCH,
            &format!("audit_log?actor_id=eq.{}", user.id),
            token,
            Some(json!({ "action": "NOTHING", "target": marker })),
        )
        .await;
        assert!(matches!(status, 401 | 403), "{who} update: {status} {body}");
        let (status, body) = rest(
            Method::DELETE,
            &format!("audit_log?actor_id=eq.{}", user.id),
            token,
            None,
        )
        .await;
        assert!(matches!(status, 401 | 403), "{who} delete: {status} {body}");

        let (status, body) = rest(
            Method::POST,
            "rpc/record_audit_event",
            token,
            Some(json!({
                "p_action": "SIGN_IN", "p_actor": user.id, "p_target": marker,
                "p_ip": "192.0.2.1"
            })),
        )
        .await;
        assert!(
            matches!(status, 401 | 403 | 404),
            "{who} record_audit_event: {status} {body}"
        );

        // Nor can a client move the sign-in counters (lock someone out, or reset its own).
        let (status, body) = rest(
            Method::POST,
            "rpc/hit_rate_limit",
            token,
            Some(json!({ "p_key": marker, "p_limit": 1, "p_window_seconds": 300 })),
        )
        .await;
        assert!(
            matches!(status, 401 | 403 | 404),
            "{who} hit_rate_limit: {status} {body}"
        );
    }

    assert_eq!(
        audit_rows_with_target(&marker).await,
        0,
        "a forged row landed"
    );
    let own = audit_rows("actor_id = $1", &user.id).await;
    assert_eq!(own.len(), 1, "{own:?}");
    assert_eq!(
        own[0].0, "CSRF_FAILED",
        "the user's row was changed: {own:?}"
    );
    assert_eq!(rate_limit_counters(&marker).await, 0);
}
