//! POST /verify: each kind of email link signs in once (amr otp) and does what it is for;
//! used, made-up, expired and mismatched links are refused alike.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::support::{
    tests, unique_email, Answer, TestApp, World, APP_AUTH, PASSWORD, SERVICE_KEY,
};

tests![
    a_signup_link_confirms_once,
    magic_link_and_recovery_links_sign_in,
    an_email_change_link_applies_the_new_address,
    an_invite_link_confirms_the_invited_user,
    expired_and_mismatched_links_are_refused,
    verify_refusals,
];

async fn verify(app: &TestApp, kind: &str, token_hash: &str) -> Answer {
    app.post("/auth/v1/verify")
        .no_apikey()
        .json(json!({ "type": kind, "token_hash": token_hash }))
        .send()
        .await
}

async fn signed_in_with_otp(app: &TestApp, answer: &Answer) -> Value {
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = answer.json();
    let claims = app
        .verify_token(body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(claims["amr"][0]["method"], "otp");
    body
}

async fn a_signup_link_confirms_once(world: Arc<World>) {
    let app = world.app().await;
    let email = unique_email("verify");
    let answer = app
        .post("/auth/v1/signup")
        .json(json!({ "email": email, "password": PASSWORD }))
        .send()
        .await;
    assert_eq!(answer.status, 200);
    let hash = app.last_link(&email).await;
    let body = signed_in_with_otp(&app, &verify(&app, "signup", &hash).await).await;
    let user = &body["user"];
    assert!(user["email_confirmed_at"].is_string());
    assert_eq!(user["user_metadata"]["email_verified"], true);
    assert_eq!(
        user["identities"][0]["identity_data"]["email_verified"],
        true
    );
    // Single use.
    verify(&app, "signup", &hash).await.assert_error(
        403,
        "otp_expired",
        "Email link is invalid or has expired",
    );
}

async fn magic_link_and_recovery_links_sign_in(world: Arc<World>) {
    let app = world.app().await;
    let user = app.user("links").await;
    assert_eq!(
        app.post("/auth/v1/otp")
            .json(json!({ "email": user.email }))
            .send()
            .await
            .status,
        200
    );
    let hash = app.last_link(&user.email).await;
    signed_in_with_otp(&app, &verify(&app, "magiclink", &hash).await).await;
    verify(&app, "magiclink", &hash).await.assert_error(
        403,
        "otp_expired",
        "Email link is invalid or has expired",
    );

    assert_eq!(
        app.post("/auth/v1/recover")
            .json(json!({ "email": user.email }))
            .send()
            .await
            .status,
        200
    );
    let hash = app.last_link(&user.email).await;
    // `email` is either kind of link: this one a recovery.
    let body = signed_in_with_otp(&app, &verify(&app, "email", &hash).await).await;
    assert_eq!(body["user"]["id"], json!(user.id));
    let spent: i64 = app
        .db
        .query_one(
            "select count(*) from auth.one_time_tokens where user_id = $1",
            &[&user.id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(spent, 0);
}

async fn an_email_change_link_applies_the_new_address(world: Arc<World>) {
    let app = world.app().await;
    let user = app.user("old-address").await;
    let token = app.sign_in(&user).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let new_email = unique_email("new-address");
    let path = format!("/auth/v1/user?redirect_to={APP_AUTH}confirm");
    let answer = app
        .put(&path)
        .bearer(&token)
        .json(json!({ "email": new_email }))
        .send()
        .await;
    assert_eq!(answer.status, 200);
    let hash = app.last_link(&new_email).await;
    let body = signed_in_with_otp(&app, &verify(&app, "email_change", &hash).await).await;
    assert_eq!(body["user"]["email"], json!(new_email));
    assert!(body["user"].get("new_email").is_none());
    let identity_email: String = app
        .db
        .query_one(
            "select email from auth.identities where user_id = $1 and provider = 'email'",
            &[&user.id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(identity_email, new_email);
}

async fn an_invite_link_confirms_the_invited_user(world: Arc<World>) {
    let app = world.app().await;
    let email = unique_email("invited");
    let answer = app
        .post("/auth/v1/invite")
        .bearer(SERVICE_KEY)
        .json(json!({ "email": email }))
        .send()
        .await;
    assert_eq!(answer.status, 200);
    let hash = app.last_link(&email).await;
    // A confirmation token is not a recovery's.
    verify(&app, "recovery", &hash).await.assert_error(
        403,
        "otp_expired",
        "Email link is invalid or has expired",
    );
    let body = signed_in_with_otp(&app, &verify(&app, "invite", &hash).await).await;
    assert!(body["user"]["email_confirmed_at"].is_string());
}

async fn expired_and_mismatched_links_are_refused(world: Arc<World>) {
    let app = world.app_with(&[("AUTH_MAILER_OTP_EXP", "60")]).await;
    let email = unique_email("expired");
    app.post("/auth/v1/signup")
        .json(json!({ "email": email, "password": PASSWORD }))
        .send()
        .await;
    let hash = app.last_link(&email).await;
    app.db
        .execute(
            "update auth.users set confirmation_sent_at = now() - interval '61 seconds' where email = $1",
            &[&email],
        )
        .await
        .unwrap();
    let expired = ("otp_expired", "Email link is invalid or has expired");
    verify(&app, "signup", &hash)
        .await
        .assert_error(403, expired.0, expired.1);
    verify(&app, "signup", &"0".repeat(56))
        .await
        .assert_error(403, expired.0, expired.1);
    verify(&app, "email_change", &hash)
        .await
        .assert_error(403, expired.0, expired.1);
    // Still pending: nothing was confirmed.
    let confirmed: bool = app
        .db
        .query_one(
            "select email_confirmed_at is not null from auth.users where email = $1",
            &[&email],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!confirmed);
}

async fn verify_refusals(world: Arc<World>) {
    let app = world.app().await;
    let cases = [
        (
            json!({ "token_hash": "x" }),
            "Verify requires a verification type",
        ),
        (
            json!({ "type": "signup" }),
            "Verify requires either a token or a token hash",
        ),
        (
            json!({ "type": "signup", "token": "123456", "token_hash": "x" }),
            "Verify requires either a token or a token hash",
        ),
        (
            json!({ "type": "signup", "token": "123456", "email": "a@b.test" }),
            "The auth stand-in verifies email links by token_hash only",
        ),
        (
            json!({ "type": "signup", "token_hash": "x", "redirect_to": APP_AUTH }),
            "Only the token_hash and type should be provided",
        ),
        (
            json!({ "type": "sms", "token_hash": "x" }),
            "Invalid email verification type",
        ),
    ];
    for (body, msg) in cases {
        let answer = app
            .post("/auth/v1/verify")
            .no_apikey()
            .json(body)
            .send()
            .await;
        answer.assert_error(400, "validation_failed", msg);
    }
    app.post("/auth/v1/verify")
        .no_apikey()
        .body("{")
        .send()
        .await
        .assert_error(
            400,
            "bad_json",
            "Could not parse request body as JSON: EOF while parsing an object at line 1 column 1",
        );
}
