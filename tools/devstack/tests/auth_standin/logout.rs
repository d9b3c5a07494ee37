//! POST /logout: this session, all of the user's, or all others; 204.

use std::sync::Arc;

use serde_json::Value;
use uuid::Uuid;

use crate::support::{tests, TestApp, TestUser, World};

tests![
    logout_scopes_end_the_right_sessions,
    a_token_without_a_session_ends_them_all,
    logout_refusals,
];

async fn sessions_of(app: &TestApp, user: &TestUser) -> Vec<Uuid> {
    app.db
        .query(
            "select id from auth.sessions where user_id = $1 order by created_at, id",
            &[&user.id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

async fn session_of(app: &TestApp, session: &Value) -> Uuid {
    let claims = app
        .verify_token(session["access_token"].as_str().unwrap())
        .await;
    claims["session_id"].as_str().unwrap().parse().unwrap()
}

async fn logout(app: &TestApp, session: &Value, query: &str) -> u16 {
    let token = session["access_token"].as_str().unwrap();
    let answer = app
        .post(&format!("/auth/v1/logout{query}"))
        .bearer(token)
        .send()
        .await;
    assert!(answer.body.is_empty(), "{}", answer.text());
    answer.status
}

async fn logout_scopes_end_the_right_sessions(world: Arc<World>) {
    let app = world.app().await;
    let user = app.user("logout").await;
    let (a, b, c) = (
        app.sign_in(&user).await,
        app.sign_in(&user).await,
        app.sign_in(&user).await,
    );
    let (a_id, c_id) = (session_of(&app, &a).await, session_of(&app, &c).await);

    assert_eq!(logout(&app, &b, "?scope=local").await, 204);
    assert_eq!(sessions_of(&app, &user).await, [a_id, c_id]);
    assert_eq!(logout(&app, &a, "?scope=others").await, 204);
    assert_eq!(sessions_of(&app, &user).await, [a_id]);

    let (d, e) = (app.sign_in(&user).await, app.sign_in(&user).await);
    assert_eq!(sessions_of(&app, &user).await.len(), 3);
    assert_eq!(logout(&app, &d, "").await, 204);
    assert!(sessions_of(&app, &user).await.is_empty());
    let left: i64 = app
        .db
        .query_one(
            "select count(*) from auth.refresh_tokens where user_id = $1",
            &[&user.id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
    // A token whose session has ended is refused.
    let token = e["access_token"].as_str().unwrap();
    app.post("/auth/v1/logout")
        .bearer(token)
        .send()
        .await
        .assert_error(
            403,
            "session_not_found",
            "Session from session_id claim in JWT does not exist",
        );
}

async fn a_token_without_a_session_ends_them_all(world: Arc<World>) {
    let app = world.app().await;
    let user = app.user("minted").await;
    let (a, b) = (app.sign_in(&user).await, app.sign_in(&user).await);
    assert_eq!(sessions_of(&app, &user).await.len(), 2);
    // Like the project's minted tokens: no session_id claim. Any scope is global then.
    let token = app.sign_token(&app.claims_for(&user));
    let answer = app
        .post("/auth/v1/logout?scope=local")
        .bearer(&token)
        .send()
        .await;
    assert_eq!((answer.status, answer.body.len()), (204, 0));
    assert!(sessions_of(&app, &user).await.is_empty());
    for session in [a, b] {
        let refresh = app
            .post("/auth/v1/token?grant_type=refresh_token")
            .json(serde_json::json!({ "refresh_token": session["refresh_token"] }))
            .send()
            .await;
        refresh.assert_error(
            400,
            "refresh_token_not_found",
            "Invalid Refresh Token: Refresh Token Not Found",
        );
    }
}

async fn logout_refusals(world: Arc<World>) {
    let app = world.app().await;
    app.post("/auth/v1/logout").send().await.assert_error(
        401,
        "no_authorization",
        "This endpoint requires a valid Bearer token",
    );
    app.post("/auth/v1/logout")
        .bearer("not-a-jwt")
        .send()
        .await
        .assert_error(
            403,
            "bad_jwt",
            "invalid JWT: unable to parse or verify signature, token is malformed: InvalidToken",
        );
    let user = app.user("scope").await;
    let session = app.sign_in(&user).await;
    let token = session["access_token"].as_str().unwrap();
    app.post("/auth/v1/logout?scope=everything")
        .bearer(token)
        .send()
        .await
        .assert_error(
            400,
            "validation_failed",
            "Unsupported logout scope \"everything\"",
        );
    assert_eq!(sessions_of(&app, &user).await.len(), 1);
}
