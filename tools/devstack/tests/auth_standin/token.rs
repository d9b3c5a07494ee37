//! POST /token: the password, refresh_token and pkce grants (pkce's success is in
//! oauth.rs, after the fake provider's code), and the unsupported ones.

use std::sync::Arc;

use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::{tests, unique_email, TestApp, World, PASSWORD, PEER, SERVICE_KEY};

tests![
    password_grant_signs_in_and_records_the_session,
    password_grant_refusals,
    unsupported_grants_and_bad_bodies_are_refused,
    refresh_rotates_the_token_and_updates_the_session,
    a_lost_refresh_answer_can_be_fetched_again,
    reuse_past_the_interval_revokes_the_session,
    reuse_within_the_interval_is_allowed,
    refresh_refusals,
    pkce_grant_refusals,
];

async fn password_grant(app: &TestApp, body: Value) -> crate::support::Answer {
    app.post("/auth/v1/token?grant_type=password")
        .json(body)
        .send()
        .await
}

async fn refresh(app: &TestApp, token: &str) -> crate::support::Answer {
    app.post("/auth/v1/token?grant_type=refresh_token")
        .json(json!({ "refresh_token": token }))
        .send()
        .await
}

async fn password_grant_signs_in_and_records_the_session(world: Arc<World>) {
    let app = world.app().await;
    let user = app.user("password").await;
    let answer = app
        .post("/auth/v1/token?grant_type=password")
        .header("user-agent", "tests/1.0")
        .header("x-forwarded-for", "203.0.113.7, 10.0.0.1")
        .json(json!({ "email": user.email.to_uppercase(), "password": PASSWORD }))
        .send()
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = answer.json();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 3600);
    let refresh_token = body["refresh_token"].as_str().unwrap();
    assert_eq!(refresh_token.len(), 12);
    assert_eq!(body["user"]["email"], user.email);
    assert!(body["user"]["last_sign_in_at"].is_string());

    let claims = app
        .verify_token(body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(claims["exp"], body["expires_at"]);
    assert_eq!(claims["sub"], json!(user.id));
    assert_eq!(
        (&claims["role"], &claims["aal"]),
        (&json!("authenticated"), &json!("aal1"))
    );
    assert_eq!(claims["amr"][0]["method"], "password");
    assert_eq!(claims["is_anonymous"], false);
    // Through the project's custom access token hook: the user's app role (public.user_roles,
    // `user` from the project's new-user trigger), read again at every token.
    assert_eq!(claims["user_role"], "user");

    let session: Uuid = claims["session_id"].as_str().unwrap().parse().unwrap();
    let row = app
        .db
        .query_one(
            "select user_id, user_agent, host(ip), aal::text from auth.sessions where id = $1",
            &[&session],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, Uuid>(0), user.id);
    assert_eq!(
        row.get::<_, Option<String>>(1).as_deref(),
        Some("tests/1.0")
    );
    assert_eq!(row.get::<_, String>(2), "203.0.113.7");
    let token_session: Uuid = app
        .db
        .query_one(
            "select session_id from auth.refresh_tokens where token = $1",
            &[&refresh_token],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(token_session, session);
    // A new role shows in the next token (a refresh).
    app.db
        .execute(
            "update public.user_roles set role = 'editor' where user_id = $1",
            &[&user.id],
        )
        .await
        .unwrap();
    let refreshed = refresh(&app, body["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text());
    let refreshed_claims = app
        .verify_token(refreshed.json()["access_token"].as_str().unwrap())
        .await;
    assert_eq!(refreshed_claims["user_role"], "editor");
    assert_eq!(refreshed_claims["amr"], claims["amr"]);
}

async fn password_grant_refusals(world: Arc<World>) {
    let app = world.app().await;
    let user = app.user("refused").await;
    let invalid = ("invalid_credentials", "Invalid login credentials");
    for body in [
        json!({ "email": user.email, "password": "wrong-password" }),
        json!({ "email": unique_email("nobody"), "password": PASSWORD }),
    ] {
        password_grant(&app, body)
            .await
            .assert_error(400, invalid.0, invalid.1);
    }
    password_grant(&app, json!({ "email": user.email, "phone": "+15550100" }))
        .await
        .assert_error(
            400,
            "validation_failed",
            "Only an email address or phone number should be provided on login.",
        );
    password_grant(&app, json!({ "phone": "+15550100", "password": PASSWORD }))
        .await
        .assert_error(422, "phone_provider_disabled", "Phone logins are disabled");
    password_grant(&app, json!({ "password": PASSWORD }))
        .await
        .assert_error(400, "validation_failed", "missing email or phone");

    // Banned (checked before the password), then unconfirmed.
    app.db
        .execute(
            "update auth.users set banned_until = now() + interval '1 hour' where id = $1",
            &[&user.id],
        )
        .await
        .unwrap();
    password_grant(
        &app,
        json!({ "email": user.email, "password": "wrong-password" }),
    )
    .await
    .assert_error(400, "user_banned", "User is banned");
    let unconfirmed = unique_email("unconfirmed");
    let created = app
        .post("/auth/v1/admin/users")
        .bearer(SERVICE_KEY)
        .json(json!({ "email": unconfirmed, "password": PASSWORD }))
        .send()
        .await;
    assert_eq!(created.status, 200);
    password_grant(&app, json!({ "email": unconfirmed, "password": PASSWORD }))
        .await
        .assert_error(400, "email_not_confirmed", "Email not confirmed");
}

async fn unsupported_grants_and_bad_bodies_are_refused(world: Arc<World>) {
    let app = world.app().await;
    for path in ["/auth/v1/token", "/auth/v1/token?grant_type=id_token"] {
        let answer = app.post(path).json(json!({})).send().await;
        answer.assert_error(400, "invalid_credentials", "unsupported_grant_type");
    }
    let answer = app
        .post("/auth/v1/token?grant_type=password")
        .body("{")
        .send()
        .await;
    answer.assert_error(
        400,
        "bad_json",
        "Could not parse request body as JSON: EOF while parsing an object at line 1 column 1",
    );
    // GoTrue reads the body as JSON whatever its Content-Type says.
    let answer = app
        .post("/auth/v1/token?grant_type=password")
        .header("content-type", "text/plain")
        .body(r#"{"password": "x"}"#)
        .send()
        .await;
    answer.assert_error(400, "validation_failed", "missing email or phone");
}

async fn refresh_rotates_the_token_and_updates_the_session(world: Arc<World>) {
    let app = world.app().await;
    let user = app.user("refresh").await;
    let first = app.sign_in(&user).await;
    let first_token = first["refresh_token"].as_str().unwrap();
    let answer = app
        .post("/auth/v1/token?grant_type=refresh_token")
        .header("user-agent", "refresher/2")
        .json(json!({ "refresh_token": first_token }))
        .send()
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let second = answer.json();
    let second_token = second["refresh_token"].as_str().unwrap();
    assert_ne!(second_token, first_token);
    let claims = app
        .verify_token(second["access_token"].as_str().unwrap())
        .await;
    let first_claims = app
        .verify_token(first["access_token"].as_str().unwrap())
        .await;
    assert_eq!(claims["session_id"], first_claims["session_id"]);

    let rows = app
        .db
        .query(
            "select token, revoked, parent from auth.refresh_tokens where user_id = $1 order by id",
            &[&user.id],
        )
        .await
        .unwrap();
    let tokens: Vec<(String, bool, Option<String>)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        tokens,
        [
            (first_token.to_string(), true, None),
            (
                second_token.to_string(),
                false,
                Some(first_token.to_string())
            ),
        ]
    );
    let session: Uuid = claims["session_id"].as_str().unwrap().parse().unwrap();
    let row = app
        .db
        .query_one(
            "select user_agent, host(ip), refreshed_at is not null from auth.sessions where id = $1",
            &[&session],
        )
        .await
        .unwrap();
    assert_eq!(
        row.get::<_, Option<String>>(0).as_deref(),
        Some("refresher/2")
    );
    assert_eq!(row.get::<_, String>(1), PEER);
    assert!(row.get::<_, bool>(2));
}

async fn a_lost_refresh_answer_can_be_fetched_again(world: Arc<World>) {
    let app = world.app().await;
    let user = app.user("lost").await;
    let first = app.sign_in(&user).await;
    let first_token = first["refresh_token"].as_str().unwrap();
    let second = refresh(&app, first_token).await.json();
    // The parent of the active token again: the same active token, nothing revoked.
    let again = refresh(&app, first_token).await;
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.json()["refresh_token"], second["refresh_token"]);
    assert_eq!(
        refresh(&app, second["refresh_token"].as_str().unwrap())
            .await
            .status,
        200
    );
}

async fn reuse_past_the_interval_revokes_the_session(world: Arc<World>) {
    let app = world.app().await;
    let user = app.user("reuse").await;
    let first = app.sign_in(&user).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let second = refresh(&app, &first).await.json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let third = refresh(&app, &second).await.json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    // The first is neither the active token's parent nor within the (0 s) interval.
    refresh(&app, &first).await.assert_error(
        400,
        "refresh_token_already_used",
        "Invalid Refresh Token: Already Used",
    );
    // Every token of the session is revoked: the newest no longer refreshes either.
    let revoked: bool = app
        .db
        .query_one(
            "select revoked from auth.refresh_tokens where token = $1",
            &[&third],
        )
        .await
        .unwrap()
        .get(0);
    assert!(revoked);
    refresh(&app, &third).await.assert_error(
        400,
        "refresh_token_already_used",
        "Invalid Refresh Token: Already Used",
    );
}

async fn reuse_within_the_interval_is_allowed(world: Arc<World>) {
    let app = world
        .app_with(&[("AUTH_REFRESH_TOKEN_REUSE_INTERVAL", "10")])
        .await;
    let user = app.user("interval").await;
    let first = app.sign_in(&user).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let second = refresh(&app, &first).await.json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    refresh(&app, &second).await;
    let answer = refresh(&app, &first).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
}

async fn refresh_refusals(world: Arc<World>) {
    let app = world.app().await;
    let not_found = (
        "refresh_token_not_found",
        "Invalid Refresh Token: Refresh Token Not Found",
    );
    refresh(&app, "aaaaaaaaaaaa")
        .await
        .assert_error(400, not_found.0, not_found.1);
    app.post("/auth/v1/token?grant_type=refresh_token")
        .json(json!({}))
        .send()
        .await
        .assert_error(400, not_found.0, not_found.1);

    let user = app.user("ended").await;
    let token = app.sign_in(&user).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    app.db
        .execute(
            "update auth.sessions set not_after = now() - interval '1 second' where user_id = $1",
            &[&user.id],
        )
        .await
        .unwrap();
    refresh(&app, &token).await.assert_error(
        400,
        "session_expired",
        "Invalid Refresh Token: Session Expired",
    );
    app.db
        .execute(
            "update auth.users set banned_until = now() + interval '1 hour' where id = $1",
            &[&user.id],
        )
        .await
        .unwrap();
    refresh(&app, &token).await.assert_error(
        400,
        "user_banned",
        "Invalid Refresh Token: User Banned",
    );
}

async fn pkce_grant_refusals(world: Arc<World>) {
    let app = world.app().await;
    let pkce = |body: Value| app.post("/auth/v1/token?grant_type=pkce").json(body).send();
    pkce(json!({ "auth_code": "x" })).await.assert_error(
        400,
        "validation_failed",
        "invalid request: both auth code and code verifier should be non-empty",
    );
    pkce(json!({ "auth_code": Uuid::new_v4(), "code_verifier": "v".repeat(43) }))
        .await
        .assert_error(
            404,
            "flow_state_not_found",
            "invalid flow state, no valid flow state found",
        );
}
