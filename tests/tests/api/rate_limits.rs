//! The one rate limiter (shared/src/policy/rate_limit.rs, migration 20261128000500): fixed
//! windows counted atomically in Postgres, limits in `public.rate_limit_rules`.
//!
//! Most tests build their own `Route` (a random function name) with a trivial handler
//! and insert a matching rule as the superuser, so every test has its own rule, its own
//! users and therefore its own counters: the tests run in parallel without meeting.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use functions::routes;
use functions::sessions::{SIGN_IN_PER_EMAIL, SIGN_IN_PER_IP};
use functions::uploads::UPLOADS_PER_USER;
use http::Method;
use integration_tests::*;
use lambda_http::{Body, Response};
use serde_json::{json, Value};
use shared::pipeline::dispatch_with;
use shared::pipeline::response::ApiResult;
use shared::policy::rate_limit::Limit;
use shared::{App, Route};
use uuid::Uuid;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// A rule name of this test alone (matches `^[a-z][a-z0-9:-]{0,63}$`).
fn rule_name() -> &'static str {
    let name = format!("test-rl-{}", Uuid::new_v4().simple());
    Box::leak(name.into_boxed_str())
}

/// A route of our own whose function name is `rule`.
fn route(rule: &'static str, method: Method) -> Route {
    Route::user(rule, method, "/test", shared::handler!(no_content))
}

async fn no_content(_: App, _: shared::SignedIn, _: lambda_http::Request) -> ApiResult {
    shared::pipeline::response::no_content()
}

/// A rule row, inserted as the superuser.
async fn add_rule(rule: &str, max_hits: i32, window_seconds: i32) {
    db().await
        .execute(
            "insert into public.rate_limit_rules (rule, max_hits, window_seconds, key_kind) \
             values ($1, $2, $3, 'user')",
            &[&rule, &max_hits, &window_seconds],
        )
        .await
        .expect("insert rule");
}

fn decode(response: Response<Body>) -> Res {
    let status = response.status();
    let headers = response.headers().clone();
    let body = match response.body() {
        Body::Empty => Value::Null,
        Body::Text(text) => serde_json::from_str(text).expect("JSON body"),
        Body::Binary(bytes) => serde_json::from_slice(bytes).expect("JSON body"),
        _ => Value::Null,
    };
    Res {
        status,
        headers,
        body,
    }
}

/// One request through the real pipeline, to a handler that answers 204.
async fn hit(app: &App, route: &Route, user: &TestUser) -> Res {
    let req = Req::new(route.method.clone(), route.path)
        .as_user(user)
        .build();
    decode(
        dispatch_with(app, route, req, |_, _, _, _| async {
            shared::pipeline::response::no_content()
        })
        .await,
    )
}

/// The key hit_route_limit counts a user under.
fn key(rule: &str, user: &TestUser) -> String {
    format!("user:{rule}:{}", user.id)
}

/// Hits in the current window(s) of `key`, summed (0 when there is no row).
async fn counter(key: &str) -> i64 {
    db().await
        .query_one(
            "select coalesce(sum(hits), 0)::bigint from private.rate_limit_counters where key = $1",
            &[&key],
        )
        .await
        .unwrap()
        .get(0)
}

/// The hits of every window of `key`, oldest first.
async fn windows(key: &str) -> Vec<i32> {
    db().await
        .query(
            "select hits from private.rate_limit_counters where key = $1 order by window_start",
            &[&key],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// A numeric parameter (`r`, `t`, `q`, `w`) of one list member of a RateLimit header.
#[track_caller]
fn param(value: &str, rule: &str, name: &str) -> u64 {
    let member = value
        .split(',')
        .map(str::trim)
        .find(|m| m.starts_with(&format!("\"{rule}\";")))
        .unwrap_or_else(|| panic!("no member for {rule} in {value:?}"));
    member
        .split(';')
        .skip(1)
        .find_map(|p| p.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name}= in {member:?}"))
        .parse()
        .unwrap_or_else(|_| panic!("{name}= is not a number in {member:?}"))
}

#[track_caller]
fn policy(res: &Res) -> &str {
    res.header("ratelimit-policy")
        .unwrap_or_else(|| panic!("no RateLimit-Policy on {} {}", res.status, res.body))
}

#[track_caller]
fn state(res: &Res) -> &str {
    res.header("ratelimit")
        .unwrap_or_else(|| panic!("no RateLimit on {} {}", res.status, res.body))
}

/// Asserts a 204 carrying the rule's policy and `r=<remaining>`; returns `t`.
#[track_caller]
fn assert_counted(res: &Res, rule: &str, max: u32, window: u32, remaining: u64) -> u64 {
    assert_eq!(res.status.as_u16(), 204, "body: {}", res.body);
    assert_security_headers(&res.headers);
    assert_eq!(policy(res), format!("\"{rule}\";q={max};w={window}"));
    assert_eq!(param(state(res), rule, "r"), remaining, "{}", state(res));
    let t = param(state(res), rule, "t");
    assert!((1..=u64::from(window)).contains(&t), "t={t}");
    t
}

/// Asserts a 429 RATE_LIMITED with the policy, r=0, and Retry-After equal to `t`; returns it.
#[track_caller]
fn assert_refused(res: &Res, rule: &str, max: u32, window: u32) -> u64 {
    res.assert_error(429, "RATE_LIMITED");
    assert_eq!(policy(res), format!("\"{rule}\";q={max};w={window}"));
    assert_eq!(param(state(res), rule, "r"), 0, "{}", state(res));
    let t = param(state(res), rule, "t");
    let retry_after: u64 = res
        .header("retry-after")
        .expect("Retry-After on a 429")
        .parse()
        .expect("Retry-After in seconds");
    assert_eq!(retry_after, t, "Retry-After and t= disagree");
    assert!(
        (1..=u64::from(window)).contains(&retry_after),
        "Retry-After {retry_after}"
    );
    retry_after
}

fn now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap()
}

/// Fixed windows reset at their end: start a burst with at least `margin` seconds left in
/// the current window (Postgres runs on this machine's clock).
async fn away_from_window_edge(window_seconds: u64, margin: u64) {
    let left = window_seconds - now().as_secs() % window_seconds;
    if left < margin {
        tokio::time::sleep(Duration::from_secs(left) + Duration::from_millis(200)).await;
    }
}

/// Sleeps until just after the start of the next window of `window_seconds`.
async fn start_of_next_window(window_seconds: u64) {
    let window = Duration::from_secs(window_seconds).as_millis();
    let now = now().as_millis();
    let wait = window - now % window;
    tokio::time::sleep(Duration::from_millis(wait as u64 + 50)).await;
}

/// Warms the app's JWKS cache (a GET is not counted), so that a burst does not start
/// with a hundred key-set fetches.
async fn warm_up(app: &App, user: &TestUser) {
    let get = route(rule_name(), Method::GET);
    hit(app, &get, user).await.assert_ok(204);
}

/// PostgREST straight, as a client holding `token` (or none: anon) would call it.
async fn rest(
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!("{}/{path}", stack().rest_url.trim_end_matches('/'));
    let mut req = reqwest::Client::new()
        .request(method, url)
        .header("prefer", "return=representation");
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    for (name, value) in headers {
        req = req.header(*name, *value);
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

// ---------------------------------------------------------------------------------------
// 1. Exactly `limit` of many parallel requests get through
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn exactly_limit_of_100_parallel_requests_succeed() {
    const MAX: u32 = 10;
    const WINDOW: u32 = 60;
    let rule = rule_name();
    add_rule(rule, MAX as i32, WINDOW as i32).await;
    let user = user().await;
    let app = app();
    warm_up(&app, &user).await;
    let post = route(rule, Method::POST);
    away_from_window_edge(u64::from(WINDOW), 15).await;

    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (app, post, user) = (app.clone(), post.clone(), user.clone());
            tokio::spawn(async move { hit(&app, &post, &user).await })
        })
        .collect();
    let mut responses = Vec::new();
    for task in tasks {
        responses.push(task.await.expect("request task"));
    }

    let mut remaining = Vec::new();
    let mut refused = 0;
    for res in &responses {
        assert_eq!(
            policy(res),
            format!("\"{rule}\";q={MAX};w={WINDOW}"),
            "status {}",
            res.status
        );
        match res.status.as_u16() {
            204 => {
                assert_security_headers(&res.headers);
                remaining.push(param(state(res), rule, "r"));
            }
            429 => {
                assert_refused(res, rule, MAX, WINDOW);
                refused += 1;
            }
            other => panic!("unexpected {other}: {}", res.body),
        }
    }
    assert_eq!(remaining.len(), MAX as usize, "successes: {remaining:?}");
    assert_eq!(refused, 100 - MAX as usize);
    remaining.sort_unstable();
    assert_eq!(remaining, (0..u64::from(MAX)).collect::<Vec<_>>());
    // Every request was counted, the refused ones too, in one window.
    assert_eq!(windows(&key(rule, &user)).await, vec![100]);
}

// ---------------------------------------------------------------------------------------
// 2. The window resets
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn the_window_resets() {
    const MAX: u32 = 2;
    const WINDOW: u32 = 2;
    let rule = rule_name();
    add_rule(rule, MAX as i32, WINDOW as i32).await;
    let user = user().await;
    let app = app();
    warm_up(&app, &user).await;
    let post = route(rule, Method::POST);

    start_of_next_window(u64::from(WINDOW)).await;
    assert_counted(&hit(&app, &post, &user).await, rule, MAX, WINDOW, 1);
    assert_counted(&hit(&app, &post, &user).await, rule, MAX, WINDOW, 0);
    let res = hit(&app, &post, &user).await;
    let reset = assert_refused(&res, rule, MAX, WINDOW);

    // t= is rounded up: after it (and a margin) a new window has begun.
    tokio::time::sleep(Duration::from_secs(reset) + Duration::from_millis(300)).await;
    assert_counted(&hit(&app, &post, &user).await, rule, MAX, WINDOW, 1);
    assert_eq!(windows(&key(rule, &user)).await, vec![3, 1]);
}

// ---------------------------------------------------------------------------------------
// 3. Keys do not interfere
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn users_and_rules_are_counted_separately() {
    const MAX: u32 = 3;
    const WINDOW: u32 = 60;
    let (rule, other_rule) = (rule_name(), rule_name());
    add_rule(rule, MAX as i32, WINDOW as i32).await;
    add_rule(other_rule, MAX as i32, WINDOW as i32).await;
    let (a, b) = (user().await, user().await);
    let app = app();
    warm_up(&app, &a).await;
    let post = route(rule, Method::POST);
    let other_post = route(other_rule, Method::POST);
    away_from_window_edge(u64::from(WINDOW), 10).await;

    for remaining in (0..u64::from(MAX)).rev() {
        assert_counted(&hit(&app, &post, &a).await, rule, MAX, WINDOW, remaining);
    }
    assert_refused(&hit(&app, &post, &a).await, rule, MAX, WINDOW);

    // Another user on the same rule starts afresh.
    assert_counted(&hit(&app, &post, &b).await, rule, MAX, WINDOW, 2);
    // The same user on another rule, too.
    assert_counted(
        &hit(&app, &other_post, &a).await,
        other_rule,
        MAX,
        WINDOW,
        2,
    );

    assert_eq!(counter(&key(rule, &a)).await, 4);
    assert_eq!(counter(&key(rule, &b)).await, 1);
    assert_eq!(counter(&key(other_rule, &a)).await, 1);
    assert_eq!(counter(&key(other_rule, &b)).await, 0);
}

// ---------------------------------------------------------------------------------------
// 4. What is counted, and under which rule
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn reads_are_not_counted() {
    let rule = rule_name();
    add_rule(rule, 1, 60).await;
    let user = user().await;
    let app = app();
    let get = route(rule, Method::GET);
    for _ in 0..20 {
        let res = hit(&app, &get, &user).await;
        res.assert_ok(204);
        assert_eq!(res.header("ratelimit-policy"), None);
        assert_eq!(res.header("ratelimit"), None);
        assert_eq!(res.header("retry-after"), None);
    }
    assert_eq!(counter(&key(rule, &user)).await, 0);
    // HEAD and OPTIONS are not writes either; every other method is.
    for method in [Method::PUT, Method::PATCH, Method::DELETE] {
        let rule = rule_name();
        add_rule(rule, 1, 60).await;
        let write = route(rule, method.clone());
        away_from_window_edge(60, 5).await;
        assert_counted(&hit(&app, &write, &user).await, rule, 1, 60, 0);
        assert_refused(&hit(&app, &write, &user).await, rule, 1, 60);
        assert_eq!(counter(&key(rule, &user)).await, 2, "{method}");
    }
}

#[tokio::test]
async fn routes_without_a_rule_of_their_own_count_against_write() {
    let user = user().await;
    let app = app();
    let write: (u32, u32) = {
        let row = db()
            .await
            .query_one(
                "select max_hits, window_seconds from public.rate_limit_rules where rule = 'write'",
                &[],
            )
            .await
            .unwrap();
        (row.get::<_, i32>(0) as u32, row.get::<_, i32>(1) as u32)
    };
    away_from_window_edge(u64::from(write.1), 5).await;

    // A function with no row.
    let nameless = rule_name();
    let res = hit(&app, &route(nameless, Method::POST), &user).await;
    assert_counted(&res, "write", write.0, write.1, u64::from(write.0) - 1);
    // A rule that exists but is not keyed by user (an address rule): a user cannot
    // spend it, their write counts against `write`.
    let res = hit(&app, &route("sign-in:ip", Method::POST), &user).await;
    assert_counted(&res, "write", write.0, write.1, u64::from(write.0) - 2);

    assert_eq!(counter(&key("write", &user)).await, 2);
    assert_eq!(counter(&key(nameless, &user)).await, 0);
    assert_eq!(counter(&key("sign-in:ip", &user)).await, 0);
    assert_eq!(counter(&format!("ip:sign-in:ip:{}", user.id)).await, 0);
}

// ---------------------------------------------------------------------------------------
// 5. Counters and rules are out of a client's reach
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn clients_cannot_reset_or_spend_others_counters_through_postgrest() {
    use reqwest::Method as M;
    const MAX: u32 = 10;
    let rule = rule_name();
    add_rule(rule, MAX as i32, 60).await;
    let (a, b) = (user().await, user().await);
    let app = app();
    let post = route(rule, Method::POST);
    away_from_window_edge(60, 15).await;
    assert_counted(&hit(&app, &post, &a).await, rule, MAX, 60, 9);
    assert_counted(&hit(&app, &post, &b).await, rule, MAX, 60, 9);
    let (key_a, key_b) = (key(rule, &a), key(rule, &b));
    let victim = format!("victim-{}", Uuid::new_v4().simple());

    for token in [Some(a.token.as_str()), None] {
        let who = if token.is_some() { "user" } else { "anon" };

        // The counters are not exposed at all.
        let (status, body) = rest(M::DELETE, "rate_limit_counters", token, &[], None).await;
        assert_eq!(status, 404, "{who} delete counters: {body}");
        let (status, body) = rest(
            M::DELETE,
            &format!("rate_limit_counters?key=eq.{key_a}"),
            token,
            &[("content-profile", "private")],
            None,
        )
        .await;
        assert!(
            (400..500).contains(&status),
            "{who} delete private counters: {status} {body}"
        );

        // Nor are the service-role entry points.
        let (status, body) = rest(
            M::POST,
            "rpc/hit_subject_limit",
            token,
            &[],
            Some(json!({ "p_rule": "sign-in:email", "p_subject": victim })),
        )
        .await;
        assert!(
            matches!(status, 401 | 403 | 404),
            "{who} hit_subject_limit: {status} {body}"
        );
        let (status, body) = rest(
            M::POST,
            "rpc/hit_rate_limit",
            token,
            &[],
            Some(json!({ "p_key": key_b, "p_limit": 1, "p_window_seconds": 60 })),
        )
        .await;
        assert!(
            matches!(status, 401 | 403 | 404),
            "{who} hit_rate_limit: {status} {body}"
        );

        // The rules can be neither read nor raised.
        let (status, body) = rest(M::GET, "rate_limit_rules?select=*", token, &[], None).await;
        assert!(
            matches!(status, 401 | 403 | 404) || (status == 200 && body == json!([])),
            "{who} read rules: {status} {body}"
        );
        let (status, body) = rest(
            M::PATCH,
            &format!("rate_limit_rules?rule=eq.{rule}"),
            token,
            &[],
            Some(json!({ "max_hits": 1000000 })),
        )
        .await;
        assert!(
            matches!(status, 401 | 403 | 404) || (status == 200 && body == json!([])),
            "{who} raise a rule: {status} {body}"
        );
        let (status, body) = rest(
            M::DELETE,
            &format!("rate_limit_rules?rule=eq.{rule}"),
            token,
            &[],
            None,
        )
        .await;
        assert!(
            matches!(status, 401 | 403 | 404) || (status == 200 && body == json!([])),
            "{who} delete a rule: {status} {body}"
        );
    }

    // Anon cannot count at all.
    let (status, body) = rest(
        M::POST,
        "rpc/hit_route_limit",
        None,
        &[],
        Some(json!({ "p_rule": rule })),
    )
    .await;
    assert!(
        matches!(status, 401 | 403 | 404),
        "anon hit_route_limit: {status} {body}"
    );

    // A user's own hit counts against their own key only.
    let (status, body) = rest(
        M::POST,
        "rpc/hit_route_limit",
        Some(&a.token),
        &[],
        Some(json!({ "p_rule": rule })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rule"], rule, "{body}");
    assert_eq!(body["allowed"], true, "{body}");
    assert_eq!(body["remaining"], MAX - 2, "{body}");
    // There is no way to name another user's key.
    let (status, body) = rest(
        M::POST,
        "rpc/hit_route_limit",
        Some(&a.token),
        &[],
        Some(json!({ "p_rule": rule, "p_user": b.id })),
    )
    .await;
    assert!(
        (400..500).contains(&status),
        "hit_route_limit with a user: {status} {body}"
    );
    let (status, body) = rest(
        M::POST,
        "rpc/hit_route_limit",
        Some(&a.token),
        &[],
        Some(json!({ "p_rule": key_b })),
    )
    .await;
    // Not a rule: counted as the caller's own `write`.
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rule"], "write", "{body}");

    assert_eq!(counter(&key_a).await, 2, "the caller's own counter");
    assert_eq!(counter(&key_b).await, 1, "another user's counter moved");
    assert_eq!(counter(&key("write", &a)).await, 1);
    assert_eq!(counter(&key("write", &b)).await, 0);
    assert_eq!(counter(&format!("email:sign-in:email:{victim}")).await, 0);
    let row = db()
        .await
        .query_one(
            "select max_hits from public.rate_limit_rules where rule = $1",
            &[&rule],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i32>(0), MAX as i32);
}

// ---------------------------------------------------------------------------------------
// 6. Fail closed
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn an_unreachable_limiter_fails_closed() {
    let user = user().await;
    let app = app_with_unreachable_postgrest();
    let ran = Arc::new(AtomicBool::new(false));
    for method in [Method::POST, Method::DELETE] {
        let write = route(rule_name(), method);
        let req = Req::new(write.method.clone(), write.path)
            .as_user(&user)
            .build();
        let flag = ran.clone();
        let res = decode(
            dispatch_with(&app, &write, req, |_, _, _, _| async move {
                flag.store(true, Ordering::SeqCst);
                shared::pipeline::response::no_content()
            })
            .await,
        );
        res.assert_error(503, "SERVICE_UNAVAILABLE");
        assert_eq!(res.header("ratelimit-policy"), None);
        assert_eq!(res.header("ratelimit"), None);
        assert!(!ran.load(Ordering::SeqCst), "the handler ran unguarded");
    }
    // Reads do not ask the limiter: the same app still runs a GET handler.
    let read = route(rule_name(), Method::GET);
    let req = Req::get(read.path).as_user(&user).build();
    let flag = ran.clone();
    let res = decode(
        dispatch_with(&app, &read, req, |_, _, _, _| async move {
            flag.store(true, Ordering::SeqCst);
            shared::pipeline::response::no_content()
        })
        .await,
    );
    res.assert_ok(204);
    assert!(ran.load(Ordering::SeqCst));
}

// ---------------------------------------------------------------------------------------
// 7. The numbers in code are the database's
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn limits_named_in_code_match_the_seeded_rules() {
    let db = db().await;
    for (limit, kind) in [
        (SIGN_IN_PER_IP, "ip"),
        (SIGN_IN_PER_EMAIL, "email"),
        (UPLOADS_PER_USER, "user"),
    ] {
        let Limit {
            rule,
            max,
            window_seconds,
        } = limit;
        let row = db
            .query_opt(
                "select max_hits, window_seconds, key_kind from public.rate_limit_rules where rule = $1",
                &[&rule],
            )
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no rule {rule}"));
        assert_eq!(row.get::<_, i32>(0), max as i32, "{rule} max");
        assert_eq!(row.get::<_, i32>(1), window_seconds as i32, "{rule} window");
        assert_eq!(row.get::<_, String>(2), kind, "{rule} key kind");
    }
    // The pipeline keys a user route's rule by its function name.
    assert_eq!(routes::CREATE_UPLOAD.function, UPLOADS_PER_USER.rule);
}

// ---------------------------------------------------------------------------------------
// 8. Sign-in carries both of its policies
// ---------------------------------------------------------------------------------------

fn test_ip() -> String {
    let b = *Uuid::new_v4().as_bytes();
    format!("198.19.{}.{}", b[0], b[1].max(1))
}

/// `email_used`: the failures counted against the email (at this address).
#[track_caller]
fn assert_sign_in_policies(res: &Res, email_used: u64) {
    let policy = policy(res);
    let expected = format!(
        "\"{}\";q={};w={}, \"{}\";q={};w={}",
        SIGN_IN_PER_IP.rule,
        SIGN_IN_PER_IP.max,
        SIGN_IN_PER_IP.window_seconds,
        SIGN_IN_PER_EMAIL.rule,
        SIGN_IN_PER_EMAIL.max,
        SIGN_IN_PER_EMAIL.window_seconds,
    );
    assert_eq!(policy, expected);
    let state = state(res);
    // A fresh address: one hit. A fresh email: one hit if the password was wrong.
    assert_eq!(
        param(state, SIGN_IN_PER_IP.rule, "r"),
        u64::from(SIGN_IN_PER_IP.max) - 1,
        "{state}"
    );
    assert_eq!(
        param(state, SIGN_IN_PER_EMAIL.rule, "r"),
        u64::from(SIGN_IN_PER_EMAIL.max) - email_used,
        "{state}"
    );
    for limit in [SIGN_IN_PER_IP, SIGN_IN_PER_EMAIL] {
        let t = param(state, limit.rule, "t");
        assert!(
            (1..=u64::from(limit.window_seconds)).contains(&t),
            "{state}"
        );
    }
}

#[tokio::test]
async fn a_refused_sign_in_carries_both_policies() {
    let email = format!("nobody-{}@example.test", Uuid::new_v4());
    let res = Req::post("/auth/sign-in")
        .ip(&test_ip())
        .json(json!({ "email": email, "password": "not the password" }))
        .send(&routes::SIGN_IN)
        .await;
    res.assert_error(401, "UNAUTHORIZED");
    assert_sign_in_policies(&res, 1);
}

#[tokio::test]
async fn a_successful_sign_in_carries_both_policies() {
    let password = "correct horse battery staple";
    let user = user_with_password(password).await;
    let res = Req::post("/auth/sign-in")
        .ip(&test_ip())
        .json(json!({ "email": user.email, "password": password }))
        .send(&routes::SIGN_IN)
        .await;
    res.assert_ok(200);
    // A right password is not a failure: the email's allowance is untouched.
    assert_sign_in_policies(&res, 0);
}
