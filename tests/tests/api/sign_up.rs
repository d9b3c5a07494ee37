//! POST /auth/sign-up (issue 14) through the Supabase Auth stand-in (tools/devstack: GoTrue
//! cannot run here; these tests depend on its /signup following GoTrue's documented
//! answers). The stack's stand-in confirms emails by link, as supabase/config.toml
//! configures a project; a second one (TEST_AUTH_AUTOCONFIRM_URL) confirms them itself.
//! The switches (signupsEnabled, maintenanceMode) are global: their tests are in
//! tests/tests/site_switches.rs.

use functions::routes;
use integration_tests::*;
use serde_json::{json, Value};
use shared::{App, Config};
use uuid::Uuid;

const PASSWORD: &str = "a fine new password";

fn new_email() -> String {
    format!("new-{}@example.test", Uuid::new_v4())
}

fn sign_up(ip: &str, body: Value) -> Req {
    Req::post("/auth/sign-up").ip(ip).json(body)
}

/// The app of a project that confirms emails itself.
fn autoconfirm_app() -> App {
    let url = std::env::var("TEST_AUTH_AUTOCONFIRM_URL")
        .expect("TEST_AUTH_AUTOCONFIRM_URL (scripts/test.sh starts a second stand-in)");
    let config = Config::from_lookup(|name| match name {
        "SUPABASE_URL" => Some(url.clone()),
        other => std::env::var(other).ok(),
    })
    .unwrap();
    App::new(config).unwrap()
}

/// (confirmed, profile name, app role) of the auth user with this email, if any.
async fn account(email: &str) -> Option<(bool, Option<String>, String)> {
    db().await
        .query_opt(
            "select u.email_confirmed_at is not null, p.full_name, r.role::text \
             from auth.users u join public.profiles p on p.id = u.id \
             join public.user_roles r on r.user_id = u.id where u.email = $1",
            &[&email],
        )
        .await
        .unwrap()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
}

#[tokio::test]
async fn a_sign_up_sends_a_confirmation_and_creates_an_unconfirmed_user() {
    let email = new_email();
    let res = sign_up(
        &test_ip(),
        json!({ "email": email, "password": PASSWORD, "name": "  Nia New " }),
    )
    .send(&routes::SIGN_UP)
    .await;
    assert_eq!(res.status.as_u16(), 202, "{}", res.body);
    assert_eq!(
        res.body,
        json!({ "data": { "email": email, "confirmationSent": true } })
    );
    // No session yet: the one cookie ties the confirmation link to this browser.
    let cookies: Vec<&str> = res
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    assert!(
        cookies[0].starts_with(&format!("{}-email-link=", cookie_name()))
            && cookies[0].contains("HttpOnly")
            && cookies[0].contains("SameSite=Lax")
            && cookies[0].contains("Max-Age=3600"),
        "{cookies:?}"
    );
    assert_security_headers(&res.headers);
    // The profile trigger and the role trigger did their work: the user role, the name.
    assert_eq!(
        account(&email).await,
        Some((false, Some("Nia New".into()), "user".into()))
    );
}

#[tokio::test]
async fn an_address_that_has_an_account_gets_the_same_answer() {
    let existing = user_with_password("an existing password").await;
    let res = sign_up(
        &test_ip(),
        json!({ "email": existing.email, "password": PASSWORD, "name": "Someone Else" }),
    )
    .send(&routes::SIGN_UP)
    .await;
    assert_eq!(res.status.as_u16(), 202, "{}", res.body);
    assert_eq!(
        res.body,
        json!({ "data": { "email": existing.email, "confirmationSent": true } })
    );
    assert_eq!(users_with_email(&existing.email).await, 1);
    // The account is untouched: its own password still signs in.
    let res = Req::post("/auth/sign-in")
        .ip(&test_ip())
        .json(json!({ "email": existing.email, "password": "an existing password" }))
        .send(&routes::SIGN_IN)
        .await;
    res.assert_ok(200);
}

#[tokio::test]
async fn where_the_project_confirms_emails_itself_the_new_user_is_signed_in() {
    let app = autoconfirm_app();
    let email = new_email();
    let ip = test_ip();
    let req = sign_up(
        &ip,
        json!({ "email": email, "password": PASSWORD, "name": "Ona Onboard" }),
    )
    .header("origin", "http://localhost:3000")
    .build();
    let res = send_with(&app, &routes::SIGN_UP, req).await;
    let data = res.assert_ok(201);
    assert_eq!(data["user"]["email"], email, "{}", res.body);
    assert_eq!(data["isNewUser"], true, "{}", res.body);
    let name = cookie_name();
    let cookie = res
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| {
            c.starts_with(&format!("{name}=base64-")) || c.starts_with(&format!("{name}.0=base64-"))
        })
        .expect("the session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert_eq!(
        account(&email).await,
        Some((true, Some("Ona Onboard".into()), "user".into()))
    );

    // One SIGN_IN audit row, by sign-up, from this address.
    let rows = db()
        .await
        .query(
            "select metadata from public.audit_log where action = 'SIGN_IN' and host(ip) = $1",
            &[&ip],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let metadata: Value = rows[0].get(0);
    assert_eq!(
        metadata,
        json!({ "provider": "email", "method": "signup", "firstSignIn": true })
    );

    // The same address again: this project says so (409), and creates nothing.
    let req = sign_up(
        &test_ip(),
        json!({ "email": email, "password": PASSWORD, "name": "Ona Again" }),
    )
    .build();
    let res = send_with(&app, &routes::SIGN_UP, req).await;
    res.assert_error(409, "CONFLICT");
    assert_eq!(users_with_email(&email).await, 1);
}

#[tokio::test]
async fn bad_input_is_refused_field_by_field_and_creates_nothing() {
    let email = new_email();
    for (body, field) in [
        (
            json!({ "email": email, "password": "short7!", "name": "Al" }),
            "password",
        ),
        (
            json!({ "email": email, "password": "x".repeat(73), "name": "Al" }),
            "password",
        ),
        (
            json!({ "email": email, "password": PASSWORD, "name": "<b>x</b>" }),
            "name",
        ),
        (
            json!({ "email": email, "password": PASSWORD, "name": "" }),
            "name",
        ),
        (
            json!({ "email": "not an email", "password": PASSWORD, "name": "Al" }),
            "email",
        ),
        (json!({ "password": PASSWORD, "name": "Al" }), "email"),
        (
            json!({ "email": email, "password": PASSWORD, "name": "Al", "role": "admin" }),
            "role",
        ),
    ] {
        let res = sign_up(&test_ip(), body.clone())
            .send(&routes::SIGN_UP)
            .await;
        res.assert_invalid(field);
    }
    assert_eq!(users_with_email(&email).await, 0);
}

#[tokio::test]
async fn a_browser_sign_up_from_a_foreign_origin_is_refused() {
    let email = new_email();
    let res = sign_up(
        &test_ip(),
        json!({ "email": email, "password": PASSWORD, "name": "Al" }),
    )
    .header("origin", "https://evil.example")
    .send(&routes::SIGN_UP)
    .await;
    res.assert_error(403, "CSRF_FAILED");
    assert_eq!(users_with_email(&email).await, 0);
}

#[tokio::test]
async fn sign_ups_are_limited_per_address() {
    let ip = test_ip();
    for n in 0..10 {
        let res = sign_up(
            &ip,
            json!({ "email": new_email(), "password": PASSWORD, "name": "Al" }),
        )
        .send(&routes::SIGN_UP)
        .await;
        assert_eq!(res.status.as_u16(), 202, "sign-up {n}: {}", res.body);
    }
    let email = new_email();
    let res = sign_up(
        &ip,
        json!({ "email": email, "password": PASSWORD, "name": "Al" }),
    )
    .send(&routes::SIGN_UP)
    .await;
    res.assert_error(429, "RATE_LIMITED");
    assert!(res.header("retry-after").is_some());
    assert_eq!(users_with_email(&email).await, 0);
}

#[tokio::test]
async fn supabase_auth_down_is_503_and_creates_nothing() {
    let app = app_with_unreachable_auth();
    let email = new_email();
    let req = sign_up(
        &test_ip(),
        json!({ "email": email, "password": PASSWORD, "name": "Al" }),
    )
    .build();
    let res = send_with(&app, &routes::SIGN_UP, req).await;
    res.assert_error(503, "SERVICE_UNAVAILABLE");
    assert_eq!(users_with_email(&email).await, 0);
}
