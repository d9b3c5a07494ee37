//! POST /signup, POST /otp and POST /recover: who gets which email (read from the
//! mailbox), the answers that do not tell addresses apart, and the refusals.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::support::{tests, unique_email, TestApp, World, APP_AUTH, PASSWORD, SITE_URL};

tests![
    signup_creates_an_unconfirmed_user_and_mails_a_confirmation,
    signup_of_a_confirmed_address_answers_an_obfuscated_user,
    signup_with_autoconfirm_signs_in_at_once,
    signup_refusals,
    otp_mails_a_magic_link_or_signs_up,
    otp_refusals,
    recover_mails_only_known_addresses,
    emails_wait_for_the_frequency_limit,
];

async fn signup(app: &TestApp, path: &str, body: Value) -> crate::support::Answer {
    app.post(path).json(body).send().await
}

async fn signup_creates_an_unconfirmed_user_and_mails_a_confirmation(world: Arc<World>) {
    let app = world.app().await;
    let email = unique_email("SignUp");
    let path = format!("/auth/v1/signup?redirect_to={APP_AUTH}confirm%3Fnext%3D%2Fhome");
    let answer = signup(
        &app,
        &path,
        json!({ "email": email, "password": PASSWORD, "data": { "name": "Ann" } }),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let user = answer.json();
    assert_eq!(user["email"], json!(email.to_lowercase()));
    assert!(user.get("access_token").is_none() && user.get("email_confirmed_at").is_none());
    assert!(user["confirmation_sent_at"].is_string());
    assert_eq!(user["user_metadata"]["name"], "Ann");
    assert_eq!(
        user["identities"][0]["identity_data"]["email_verified"],
        false
    );

    let mail = app.mailbox(&email).await;
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0]["type"], "confirmation");
    assert_eq!(
        mail[0]["redirectTo"],
        json!(format!("{APP_AUTH}confirm?next=/home"))
    );
    // GoTrue's token hash: hex SHA-224, also in auth.one_time_tokens.
    let hash = mail[0]["tokenHash"].as_str().unwrap();
    assert_eq!(hash.len(), 56);
    let kind: String = app
        .db
        .query_one(
            "select token_type::text from auth.one_time_tokens where token_hash = $1",
            &[&hash],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(kind, "confirmation_token");

    // A redirect that is not allowed falls back to the site URL; a second sign-up of the
    // pending address mails it again (the same user).
    let answer = signup(
        &app,
        "/auth/v1/signup?redirect_to=https://evil.test/",
        json!({ "email": email, "password": PASSWORD }),
    )
    .await;
    assert_eq!(answer.json()["id"], user["id"]);
    let mail = app.mailbox(&email).await;
    assert_eq!((mail.len(), &mail[0]["redirectTo"]), (2, &json!(SITE_URL)));
}

async fn signup_of_a_confirmed_address_answers_an_obfuscated_user(world: Arc<World>) {
    let app = world.app().await;
    let user = app.user("confirmed").await;
    let answer = signup(
        &app,
        "/auth/v1/signup",
        json!({ "email": user.email, "password": "another-password", "data": { "x": 1 } }),
    )
    .await;
    assert_eq!(answer.status, 200);
    let body = answer.json();
    assert_ne!(body["id"], json!(user.id));
    assert_eq!(
        (&body["identities"], &body["role"]),
        (&json!([]), &json!(""))
    );
    assert_eq!(body["user_metadata"], json!({ "x": 1 }));
    assert!(body.get("email_confirmed_at").is_none());
    assert!(app.mailbox(&user.email).await.is_empty());
}

async fn signup_with_autoconfirm_signs_in_at_once(world: Arc<World>) {
    let app = world.app_with(&[("AUTH_MAILER_AUTOCONFIRM", "true")]).await;
    let email = unique_email("auto");
    let answer = signup(
        &app,
        "/auth/v1/signup",
        json!({ "email": email, "password": PASSWORD }),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = answer.json();
    let claims = app
        .verify_token(body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(claims["amr"][0]["method"], "password");
    assert!(body["user"]["email_confirmed_at"].is_string());
    assert!(app.mailbox(&email).await.is_empty());
    signup(
        &app,
        "/auth/v1/signup",
        json!({ "email": email, "password": PASSWORD }),
    )
    .await
    .assert_error(422, "user_already_exists", "User already registered");
}

async fn signup_refusals(world: Arc<World>) {
    let app = world.app().await;
    let email = unique_email("refused");
    let cases = [
        (
            json!({}),
            422,
            "anonymous_provider_disabled",
            "Anonymous sign-ins are disabled",
        ),
        (
            json!({ "email": email }),
            400,
            "validation_failed",
            "Signup requires a valid password",
        ),
        (
            json!({ "email": email, "phone": "+15550100", "password": PASSWORD }),
            400,
            "validation_failed",
            "Only an email address or phone number should be provided on signup.",
        ),
        (
            json!({ "email": email, "password": PASSWORD, "code_challenge": "x" }),
            400,
            "validation_failed",
            "PKCE flow requires code_challenge_method and code_challenge",
        ),
        (
            json!({ "phone": "+15550100", "password": PASSWORD }),
            400,
            "phone_provider_disabled",
            "Phone signups are disabled",
        ),
        (
            json!({ "email": "no-at-sign", "password": PASSWORD }),
            400,
            "validation_failed",
            "Unable to validate email address: invalid format",
        ),
    ];
    for (body, status, code, msg) in cases {
        signup(&app, "/auth/v1/signup", body)
            .await
            .assert_error(status, code, msg);
    }
    // Well-formed PKCE parameters are accepted (the link is still verified by its hash).
    let pkce = unique_email("pkce");
    let challenge = "c".repeat(43);
    let body = json!({ "email": pkce, "password": PASSWORD, "code_challenge": challenge, "code_challenge_method": "s256" });
    assert_eq!(signup(&app, "/auth/v1/signup", body).await.status, 200);
    assert_eq!(app.mailbox(&pkce).await[0]["type"], "confirmation");
    let weak = signup(
        &app,
        "/auth/v1/signup",
        json!({ "email": email, "password": "12345" }),
    )
    .await;
    assert_eq!(weak.status, 422);
    assert_eq!(
        weak.json()["weak_password"],
        json!({ "reasons": ["length"] })
    );
    let exists: bool = app
        .db
        .query_one(
            "select exists (select 1 from auth.users where email = $1)",
            &[&email],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!exists);
}

async fn otp_mails_a_magic_link_or_signs_up(world: Arc<World>) {
    let app = world.app().await;
    let user = app.user("otp").await;
    let answer = signup(
        &app,
        &format!("/auth/v1/otp?redirect_to={APP_AUTH}confirm"),
        json!({ "email": user.email }),
    )
    .await;
    assert_eq!((answer.status, answer.json()), (200, json!({})));
    let mail = app.mailbox(&user.email).await;
    assert_eq!(
        (&mail[0]["type"], &mail[0]["redirectTo"]),
        (&json!("magiclink"), &json!(format!("{APP_AUTH}confirm")))
    );

    // An unknown address: a new, unconfirmed user and its confirmation.
    let email = unique_email("otp-new");
    let answer = signup(
        &app,
        "/auth/v1/otp",
        json!({ "email": email, "data": { "via": "otp" } }),
    )
    .await;
    assert_eq!((answer.status, answer.json()), (200, json!({})));
    assert_eq!(app.mailbox(&email).await[0]["type"], "confirmation");
    let row = app
        .db
        .query_one("select email_confirmed_at is null, raw_user_meta_data ->> 'via' from auth.users where email = $1", &[&email])
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0));
    assert_eq!(row.get::<_, Option<String>>(1).as_deref(), Some("otp"));

    // Autoconfirm: signed up and confirmed, then the magic link.
    let app = world.app_with(&[("AUTH_MAILER_AUTOCONFIRM", "true")]).await;
    let email = unique_email("otp-auto");
    assert_eq!(
        signup(&app, "/auth/v1/otp", json!({ "email": email }))
            .await
            .status,
        200
    );
    assert_eq!(app.mailbox(&email).await[0]["type"], "magiclink");
}

async fn otp_refusals(world: Arc<World>) {
    let app = world.app().await;
    let email = unique_email("otp-refused");
    let cases = [
        (
            json!({}),
            400,
            "validation_failed",
            "One of email or phone must be set",
        ),
        (
            json!({ "phone": "+15550100" }),
            400,
            "phone_provider_disabled",
            "Unsupported phone provider",
        ),
        (
            json!({ "email": email, "phone": "+15550100" }),
            400,
            "validation_failed",
            "Only an email address or phone number should be provided",
        ),
        (
            json!({ "email": email, "channel": "sms" }),
            400,
            "validation_failed",
            "Channel should only be specified with Phone OTP",
        ),
        (
            json!({ "email": email, "create_user": false }),
            422,
            "otp_disabled",
            "Signups not allowed for otp",
        ),
        (
            json!({ "email": "bad@", "create_user": false }),
            400,
            "validation_failed",
            "Unable to validate email address: invalid format",
        ),
    ];
    for (body, status, code, msg) in cases {
        signup(&app, "/auth/v1/otp", body)
            .await
            .assert_error(status, code, msg);
    }
    assert!(app.mailbox(&email).await.is_empty());
}

async fn recover_mails_only_known_addresses(world: Arc<World>) {
    let app = world.app().await;
    let user = app.user("recover").await;
    let answer = app
        .post("/auth/v1/recover")
        .header("referer", &format!("{APP_AUTH}reset?step=1"))
        .json(json!({ "email": user.email.to_uppercase() }))
        .send()
        .await;
    assert_eq!((answer.status, answer.json()), (200, json!({})));
    let mail = app.mailbox(&user.email).await;
    // The Referer, allowed, is where the link leads.
    assert_eq!(
        (&mail[0]["type"], &mail[0]["redirectTo"]),
        (
            &json!("recovery"),
            &json!(format!("{APP_AUTH}reset?step=1"))
        )
    );
    let email = unique_email("unknown");
    let answer = signup(&app, "/auth/v1/recover", json!({ "email": email })).await;
    assert_eq!((answer.status, answer.json()), (200, json!({})));
    assert!(app.mailbox(&email).await.is_empty());
    signup(&app, "/auth/v1/recover", json!({}))
        .await
        .assert_error(
            400,
            "validation_failed",
            "Password recovery requires an email",
        );
    signup(
        &app,
        "/auth/v1/recover",
        json!({ "email": user.email, "code_challenge_method": "s256" }),
    )
    .await
    .assert_error(
        400,
        "validation_failed",
        "PKCE flow requires code_challenge_method and code_challenge",
    );
}

async fn emails_wait_for_the_frequency_limit(world: Arc<World>) {
    let app = world.app_with(&[("AUTH_SMTP_MAX_FREQUENCY", "60")]).await;
    let user = app.user("frequency").await;
    let recover = || signup(&app, "/auth/v1/recover", json!({ "email": user.email }));
    assert_eq!(recover().await.status, 200);
    let answer = recover().await;
    assert_eq!(
        (answer.status, answer.json()["error_code"].clone()),
        (429, json!("over_email_send_rate_limit"))
    );
    let msg = answer.json()["msg"].as_str().unwrap().to_string();
    assert!(
        msg.starts_with("For security purposes, you can only request this after 5")
            && msg.ends_with(" seconds."),
        "{msg}"
    );
    // A magic link shares the recovery's timer.
    let answer = signup(&app, "/auth/v1/otp", json!({ "email": user.email })).await;
    assert_eq!(answer.status, 429);
    assert_eq!(app.mailbox(&user.email).await.len(), 1);
}
