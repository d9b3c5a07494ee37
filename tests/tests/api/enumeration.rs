//! The same answer for an existing and an unknown address (issue 22, part 5): in status,
//! body and headers, and no sooner than the answer floor (`AUTH_ANSWER_FLOOR_MS`, 300 ms
//! in the test stack) on sign-in, sign-up, magic link and recovery; the per-email
//! sign-in limit counted atomically under parallel wrong passwords, against the real
//! binaries; control characters in credentials refused as a client mistake.
//!
//! Through the Supabase Auth STAND-IN (tools/devstack): it compares a password hash only
//! for an address it knows and sends email only to one that may get it, as GoTrue does,
//! which is what the floor hides. Whether the times are equal is measured by `make
//! bench`, not asserted here: these tests only check the floor is never undercut.

use std::time::{Duration, Instant};

use functions::routes;
use functions::sessions::SIGN_IN_PER_EMAIL;
use integration_tests::runtime::{http_event, Event, Function, RuntimeApi};
use integration_tests::*;
use serde_json::{json, Value};
use shared::{App, Config, Route};
use uuid::Uuid;

const PASSWORD: &str = "a long enough password";

fn unknown() -> String {
    format!("nobody-{}@example.test", Uuid::new_v4())
}

/// The Host the link routes put in their links (cargo lambda watch's, which Supabase Auth
/// may redirect to).
fn api_host() -> String {
    stack().api_url.trim_start_matches("http://").to_owned()
}

fn floor() -> Duration {
    Duration::from_millis(
        std::env::var("AUTH_ANSWER_FLOOR_MS")
            .expect("AUTH_ANSWER_FLOOR_MS (scripts/test.sh sets it)")
            .parse()
            .unwrap(),
    )
}

/// Sends and times one request.
async fn timed(route: &Route, req: Req) -> (Res, Duration) {
    let started = Instant::now();
    let res = req.send(route).await;
    (res, started.elapsed())
}

/// What an observer compares: status, body without the request id, the header names and
/// the names of the cookies set.
fn observable(res: &Res) -> Value {
    let mut body = res.body.clone();
    if let Some(error) = body.get_mut("error").and_then(Value::as_object_mut) {
        error.remove("requestId");
    }
    let mut headers: Vec<String> = res
        .headers
        .keys()
        .map(|k| k.as_str().to_owned())
        .filter(|k| k != "ratelimit")
        .collect();
    headers.sort();
    headers.dedup();
    let cookies: Vec<String> = res
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split('=').next().unwrap().to_owned())
        .collect();
    json!({ "status": res.status.as_u16(), "body": body, "headers": headers, "cookies": cookies })
}

#[track_caller]
fn assert_no_sooner_than_the_floor(elapsed: Duration, what: &str) {
    assert!(
        elapsed >= floor(),
        "{what} answered after {elapsed:?}, before the floor {:?}",
        floor()
    );
}

#[tokio::test]
async fn a_failed_sign_in_is_the_same_for_a_known_and_an_unknown_address() {
    let known = user_with_password(PASSWORD).await;
    let mut seen = Vec::new();
    for email in [known.email.clone(), unknown()] {
        let req = Req::post("/auth/sign-in")
            .ip(&test_ip())
            .json(json!({ "email": email, "password": "a wrong password" }));
        let (res, elapsed) = timed(&routes::SIGN_IN, req).await;
        res.assert_error(401, "UNAUTHORIZED");
        assert_no_sooner_than_the_floor(elapsed, "a failed sign-in");
        seen.push(observable(&res));
    }
    assert_eq!(seen[0], seen[1]);
    // A right password is not held back.
    let req = Req::post("/auth/sign-in")
        .ip(&test_ip())
        .json(json!({ "email": known.email, "password": PASSWORD }));
    let (res, _) = timed(&routes::SIGN_IN, req).await;
    res.assert_ok(200);
}

#[tokio::test]
async fn a_sign_up_is_the_same_for_a_new_a_pending_and_a_registered_address() {
    let registered = user_with_password(PASSWORD).await;
    let pending = format!("pending-{}@example.test", Uuid::new_v4());
    let sign_up = |email: &str| {
        Req::post("/auth/sign-up")
            .header("host", &api_host())
            .ip(&test_ip())
            .json(json!({ "email": email, "password": PASSWORD, "name": "Some One" }))
    };
    sign_up(&pending)
        .send(&routes::SIGN_UP)
        .await
        .assert_ok(202);
    let mut seen = Vec::new();
    for email in [unknown(), pending.clone(), registered.email.clone()] {
        let (res, elapsed) = timed(&routes::SIGN_UP, sign_up(&email)).await;
        assert_eq!(res.status.as_u16(), 202, "{email}: {}", res.body);
        assert_eq!(res.body["data"]["email"], email);
        assert_no_sooner_than_the_floor(elapsed, "a sign-up");
        let mut seen_here = observable(&res);
        seen_here["body"]["data"]["email"] = json!("<the address>");
        seen.push(seen_here);
    }
    assert_eq!(seen[0], seen[1], "new and pending");
    assert_eq!(seen[0], seen[2], "new and registered");
}

#[tokio::test]
async fn a_pending_address_over_supabase_auths_email_limit_gets_the_same_answer() {
    // Supabase Auth waits 60 s between two emails to one address; for an address it
    // knows, a second sign-up within them is its 429, which must not show.
    let url = std::env::var("TEST_AUTH_EMAIL_LIMITED_URL")
        .expect("TEST_AUTH_EMAIL_LIMITED_URL (scripts/test.sh starts that stand-in)");
    let config = Config::from_lookup(|name| match name {
        "SUPABASE_URL" => Some(url.clone()),
        "SUPABASE_JWKS_URL" => Some(format!(
            "{}/auth/v1/.well-known/jwks.json",
            stack().supabase_url
        )),
        "SUPABASE_JWT_ISSUER" => Some(format!("{}/auth/v1", stack().supabase_url)),
        other => std::env::var(other).ok(),
    })
    .unwrap();
    let app = App::new(config).unwrap();
    let email = format!("twice-{}@example.test", Uuid::new_v4());
    let mut seen = Vec::new();
    for _ in 0..2 {
        let req = Req::post("/auth/sign-up")
            .header("host", &api_host())
            .ip(&test_ip())
            .json(json!({ "email": email, "password": PASSWORD, "name": "Some One" }))
            .build();
        let res = send_with(&app, &routes::SIGN_UP, req).await;
        assert_eq!(res.status.as_u16(), 202, "{}", res.body);
        seen.push(observable(&res));
    }
    assert_eq!(seen[0], seen[1]);
}

#[tokio::test]
async fn magic_links_and_recovery_are_the_same_for_a_known_and_an_unknown_address() {
    for route in [&routes::MAGIC_LINK, &routes::RECOVER] {
        let known = user_with_password(PASSWORD).await;
        let mut seen = Vec::new();
        for email in [known.email.clone(), unknown()] {
            let req = Req::post(route.path)
                .header("host", &api_host())
                .ip(&test_ip())
                .json(json!({ "email": email }));
            let (res, elapsed) = timed(route, req).await;
            assert_eq!(res.status.as_u16(), 202, "{}: {}", route.function, res.body);
            assert_no_sooner_than_the_floor(elapsed, route.function);
            seen.push(observable(&res));
        }
        assert_eq!(seen[0], seen[1], "{}", route.function);
    }
}

#[tokio::test]
async fn control_characters_in_credentials_are_a_422_naming_the_field() {
    let user = user_with_password(PASSWORD).await;
    for bad in [
        "nul\u{0}inside",
        "escape\u{1b}[31m",
        "del\u{7f}",
        "c1\u{85}x",
        "tab\tin password",
    ] {
        let res = Req::post("/auth/sign-in")
            .ip(&test_ip())
            .json(json!({ "email": user.email, "password": bad }))
            .send(&routes::SIGN_IN)
            .await;
        res.assert_invalid("password");
        let res = Req::post("/auth/sign-up")
            .ip(&test_ip())
            .json(json!({ "email": unknown(), "password": format!("{bad} long enough"), "name": "Some One" }))
            .send(&routes::SIGN_UP)
            .await;
        res.assert_invalid("password");
        let res = Req::post("/auth/password")
            .as_user(&user)
            .json(json!({ "password": format!("{bad} long enough") }))
            .send(&routes::SET_PASSWORD)
            .await;
        res.assert_invalid("password");
    }
    // An address with a control character, at every route that hands one to Supabase Auth.
    let bad_email = "nul\u{0}@example.test";
    for (route, body) in [
        (
            &routes::SIGN_IN,
            json!({ "email": bad_email, "password": PASSWORD }),
        ),
        (
            &routes::SIGN_UP,
            json!({ "email": bad_email, "password": PASSWORD, "name": "Some One" }),
        ),
        (&routes::MAGIC_LINK, json!({ "email": bad_email })),
        (&routes::RECOVER, json!({ "email": bad_email })),
    ] {
        let res = Req::post(route.path)
            .ip(&test_ip())
            .json(body)
            .send(route)
            .await;
        res.assert_invalid("email");
    }
    let admin = user_with_role("admin").await;
    let res = Req::post("/users")
        .as_user(&admin)
        .json(json!({ "email": bad_email, "name": "Some One", "role": "user" }))
        .send(&routes::CREATE_USER)
        .await;
    res.assert_invalid("email");
}

/// POST /auth/sign-in as API Gateway hands it to the function.
fn sign_in_event(ip: &str, email: &str, password: &str) -> Event {
    let mut event = http_event(
        "POST /auth/sign-in",
        "/auth/sign-in",
        json!({ "host": "api.example.test", "content-type": "application/json" }),
    );
    event["requestContext"]["http"]["method"] = json!("POST");
    event["requestContext"]["http"]["sourceIp"] = json!(ip);
    event["body"] = json!(json!({ "email": email, "password": password }).to_string());
    Event::new(event)
}

#[tokio::test]
async fn parallel_wrong_passwords_cannot_pass_the_per_email_limit() {
    // Twelve instances of the real sign-in binary, each one invocation at a time as
    // Lambda runs them, all asked at once with a wrong password for one account from one
    // address: exactly the limit's worth reach Supabase Auth (401), the rest are 429.
    const INSTANCES: usize = 12;
    let user = user_with_password(PASSWORD).await;
    let ip = test_ip();
    let mut api = RuntimeApi::start().await;
    let env: Vec<(&str, String)> = [
        "SUPABASE_URL",
        "SUPABASE_REST_URL",
        "SUPABASE_ANON_KEY",
        "SUPABASE_SERVICE_ROLE_KEY",
        "SUPABASE_JWT_SECRET",
        "ALLOWED_ORIGINS",
        "AUTH_ANSWER_FLOOR_MS",
        "COOKIE_SECURE",
    ]
    .into_iter()
    .map(|name| (name, std::env::var(name).unwrap()))
    .collect();
    let _instances: Vec<Function> = (0..INSTANCES)
        .map(|_| Function::start("sign-in", &api, "sign-in", &env))
        .collect();
    let events: Vec<Event> = (0..INSTANCES)
        .map(|_| sign_in_event(&ip, &user.email, "a wrong password"))
        .collect();
    let outcomes = api.invoke_all(&events).await;
    let mut statuses: Vec<u64> = outcomes
        .values()
        .map(|(kind, body)| {
            assert_eq!(kind, "response", "{body}");
            body["statusCode"].as_u64().unwrap()
        })
        .collect();
    statuses.sort();
    let limit = SIGN_IN_PER_EMAIL.max as usize;
    let mut expected = vec![401; limit];
    expected.extend(vec![429; INSTANCES - limit]);
    assert_eq!(statuses, expected);
    let failed: i64 = db()
        .await
        .query_one(
            "select count(*) from public.audit_log where action = 'SIGN_IN_FAILED' and host(ip) = $1",
            &[&ip],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        failed, limit as i64,
        "Supabase Auth was asked exactly {limit} times"
    );
}
