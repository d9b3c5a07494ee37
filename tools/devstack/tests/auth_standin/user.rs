//! GET /user and PUT /user with the user's bearer token (GoTrue's requireAuthentication
//! refusals are checked here, once for every endpoint that uses them).

use std::sync::Arc;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::support::{tests, unique_email, World, APP_AUTH, PASSWORD};

tests![
    get_user_answers_the_user_of_the_token,
    tokens_are_refused_as_gotrue_refuses_them,
    a_new_password_ends_the_other_sessions,
    metadata_is_merged_and_null_deletes,
    an_email_change_mails_the_new_address,
    update_refusals,
];

async fn get_user_answers_the_user_of_the_token(world: Arc<World>) {
    let app = world.app().await;
    let user = app.user("get").await;
    let session = app.sign_in(&user).await;
    let answer = app
        .get("/auth/v1/user")
        .bearer(session["access_token"].as_str().unwrap())
        .send()
        .await;
    assert_eq!(answer.status, 200);
    let body = answer.json();
    assert_eq!(body["id"], json!(user.id));
    assert_eq!(
        (&body["aud"], &body["role"]),
        (&json!("authenticated"), &json!("authenticated"))
    );
    assert_eq!(
        body["app_metadata"],
        json!({ "provider": "email", "providers": ["email"] })
    );
    let identity = &body["identities"][0];
    assert_eq!(
        (&identity["provider"], &identity["email"]),
        (&json!("email"), &json!(user.email))
    );
    assert_eq!(identity["id"], json!(user.id.to_string()));
    for field in [
        "email_confirmed_at",
        "confirmed_at",
        "last_sign_in_at",
        "created_at",
    ] {
        assert!(body[field].is_string(), "{field}: {body}");
    }
    // A token without a session (like the project's minted ones) is accepted too.
    let token = app.sign_token(&app.claims_for(&user));
    assert_eq!(
        app.get("/auth/v1/user").bearer(&token).send().await.status,
        200
    );
    // So is one signed with a published standby key (key-c, RS256).
    let pem = std::fs::read(world.key_path("key-c")).unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("key-c".into());
    let rsa = EncodingKey::from_rsa_pem(&pem).unwrap();
    let token = jsonwebtoken::encode(&header, &app.claims_for(&user), &rsa).unwrap();
    assert_eq!(
        app.get("/auth/v1/user").bearer(&token).send().await.status,
        200
    );
}

async fn tokens_are_refused_as_gotrue_refuses_them(world: Arc<World>) {
    let app = world.app().await;
    let user = app.user("refuse").await;
    let claims = app.claims_for(&user);
    let with = |change: Value| {
        let mut claims = claims.clone();
        for (k, v) in change.as_object().unwrap() {
            claims[k] = v.clone();
        }
        app.sign_token(&claims)
    };
    let bad_jwt = "invalid JWT: unable to parse or verify signature, ";
    let now = chrono::Utc::now().timestamp();
    let other_user = json!(uuid::Uuid::new_v4());
    let cases = [
        (
            with(json!({ "exp": now - 1 })),
            403,
            "bad_jwt",
            format!("{bad_jwt}token has invalid claims: token is expired"),
        ),
        (
            with(json!({ "iss": "http://elsewhere/auth/v1" })),
            403,
            "bad_jwt",
            format!("{bad_jwt}token has invalid claims: token has invalid issuer"),
        ),
        (
            with(json!({ "sub": "" })),
            403,
            "bad_jwt",
            "invalid claim: missing sub claim".to_string(),
        ),
        (
            with(json!({ "sub": "alice" })),
            400,
            "bad_jwt",
            "invalid claim: sub claim must be a UUID".to_string(),
        ),
        (
            with(json!({ "session_id": "s-1" })),
            403,
            "bad_jwt",
            "invalid claim: session_id claim must be a UUID".to_string(),
        ),
        (
            with(json!({ "sub": other_user })),
            403,
            "user_not_found",
            "User from sub claim in JWT does not exist".to_string(),
        ),
    ];
    for (token, status, code, msg) in cases {
        let answer = app.get("/auth/v1/user").bearer(&token).send().await;
        answer.assert_error(status, code, &msg);
    }
    // A tampered signature, an unknown kid, and no bearer at all.
    let token = app.sign_token(&claims);
    let tampered = format!("{}AAAA", &token[..token.len() - 4]);
    let answer = app.get("/auth/v1/user").bearer(&tampered).send().await;
    answer.assert_error(
        403,
        "bad_jwt",
        &format!("{bad_jwt}token signature is invalid: signature is invalid"),
    );
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("key-z".into());
    let pem = std::fs::read(world.key_path("key-a")).unwrap();
    let unknown =
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ec_pem(&pem).unwrap()).unwrap();
    let answer = app.get("/auth/v1/user").bearer(&unknown).send().await;
    answer.assert_error(
        403,
        "bad_jwt",
        &format!("{bad_jwt}unrecognized JWT kid key-z for algorithm ES256"),
    );
    for authorization in ["", "Bearer", "Basic abc", "Bearer a b", "Bearer  a"] {
        let answer = app
            .get("/auth/v1/user")
            .header("authorization", authorization)
            .send()
            .await;
        answer.assert_error(
            401,
            "no_authorization",
            "This endpoint requires a valid Bearer token",
        );
    }
    // lower-case `bearer` is GoTrue's too.
    let answer = app
        .get("/auth/v1/user")
        .header("authorization", &format!("bearer {token}"))
        .send()
        .await;
    assert_eq!(answer.status, 200);
    // A banned user's tokens stop working.
    app.db
        .execute(
            "update auth.users set banned_until = now() + interval '1 hour' where id = $1",
            &[&user.id],
        )
        .await
        .unwrap();
    let answer = app.get("/auth/v1/user").bearer(&token).send().await;
    answer.assert_error(403, "user_banned", "User is banned");
}

async fn a_new_password_ends_the_other_sessions(world: Arc<World>) {
    let app = world.app().await;
    let user = app.user("password").await;
    let kept = app.sign_in(&user).await;
    let other = app.sign_in(&user).await;
    let token = kept["access_token"].as_str().unwrap();
    let answer = app
        .put("/auth/v1/user")
        .bearer(token)
        .json(json!({ "password": "a-new-password" }))
        .send()
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let other_token = other["access_token"].as_str().unwrap();
    let answer = app.get("/auth/v1/user").bearer(other_token).send().await;
    assert_eq!(answer.json()["error_code"], "session_not_found");
    assert_eq!(
        app.get("/auth/v1/user").bearer(token).send().await.status,
        200
    );
    let signed_in = app
        .post("/auth/v1/token?grant_type=password")
        .json(json!({ "email": user.email, "password": "a-new-password" }))
        .send()
        .await;
    assert_eq!(signed_in.status, 200);
    // The same password again is refused.
    let answer = app
        .put("/auth/v1/user")
        .bearer(token)
        .json(json!({ "password": "a-new-password" }))
        .send()
        .await;
    answer.assert_error(
        422,
        "same_password",
        "New password should be different from the old password.",
    );
}

async fn metadata_is_merged_and_null_deletes(world: Arc<World>) {
    let app = world.app().await;
    let user = app.user("metadata").await;
    let token = app.sign_in(&user).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let update = |data: Value| {
        app.put("/auth/v1/user")
            .bearer(&token)
            .json(json!({ "data": data }))
            .send()
    };
    assert_eq!(update(json!({ "a": 1, "b": { "c": 2 } })).await.status, 200);
    let answer = update(json!({ "a": null, "d": "x" })).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.json()["user_metadata"],
        json!({ "b": { "c": 2 }, "d": "x" })
    );
}

async fn an_email_change_mails_the_new_address(world: Arc<World>) {
    let app = world.app().await;
    let user = app.user("change").await;
    let token = app.sign_in(&user).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let new_email = unique_email("Changed");
    let answer = app
        .put(&format!("/auth/v1/user?redirect_to={APP_AUTH}confirm"))
        .bearer(&token)
        .json(json!({ "email": new_email }))
        .send()
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = answer.json();
    // Pending: the address stays until the link is followed (verify.rs).
    assert_eq!(body["email"], json!(user.email));
    assert_eq!(body["new_email"], json!(new_email.to_lowercase()));
    assert!(body["email_change_sent_at"].is_string());
    let mail = app.mailbox(&new_email).await;
    assert_eq!(mail.len(), 1);
    assert_eq!(
        (&mail[0]["type"], &mail[0]["redirectTo"]),
        (&json!("email_change"), &json!(format!("{APP_AUTH}confirm")))
    );
    assert!(app.mailbox(&user.email).await.is_empty());

    // Another user's address is taken.
    let other = app.user("taken").await;
    let answer = app
        .put("/auth/v1/user")
        .bearer(&token)
        .json(json!({ "email": other.email }))
        .send()
        .await;
    answer.assert_error(
        422,
        "email_exists",
        "A user with this email address has already been registered",
    );
}

async fn update_refusals(world: Arc<World>) {
    let app = world.app().await;
    // Authentication first, then the body.
    app.put("/auth/v1/user")
        .body("{")
        .send()
        .await
        .assert_error(
            401,
            "no_authorization",
            "This endpoint requires a valid Bearer token",
        );
    let answer = app
        .put("/auth/v1/user")
        .bearer("x.y.z")
        .body("{")
        .send()
        .await;
    assert_eq!(
        (answer.status, answer.json()["error_code"].clone()),
        (403, json!("bad_jwt"))
    );

    let user = app.user("update").await;
    let token = app.sign_in(&user).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let put = |body: &str| app.put("/auth/v1/user").bearer(&token).body(body).send();
    put("{").await.assert_error(
        400,
        "bad_json",
        "Could not parse request body as JSON: EOF while parsing an object at line 1 column 1",
    );
    let weak = put(r#"{"password": "12345"}"#).await;
    assert_eq!(
        (weak.status, weak.json()["error_code"].clone()),
        (422, json!("weak_password"))
    );
    assert_eq!(
        weak.json()["weak_password"],
        json!({ "reasons": ["length"] })
    );
    let long = format!(r#"{{"password": "{}"}}"#, "x".repeat(73));
    put(&long).await.assert_error(
        400,
        "validation_failed",
        "Password cannot be longer than 72 characters",
    );
    put(r#"{"email": "not-an-address"}"#).await.assert_error(
        400,
        "validation_failed",
        "Unable to validate email address: invalid format",
    );
    put(r#"{"phone": "+15550100"}"#).await.assert_error(
        400,
        "validation_failed",
        "The auth stand-in does not support phone users",
    );
    put(r#"{"app_metadata": {"role": "admin"}}"#)
        .await
        .assert_error(
            403,
            "not_admin",
            "Updating app_metadata requires admin privileges",
        );
    // Nothing changed by the refusals: the password still signs in.
    let answer = app
        .post("/auth/v1/token?grant_type=password")
        .json(json!({ "email": user.email, "password": PASSWORD }))
        .send()
        .await;
    assert_eq!(answer.status, 200);
}
