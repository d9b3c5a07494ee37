//! The service role's endpoints: POST /admin/users, GET and DELETE /admin/users/<uuid>
//! and POST /invite, and requireAdmin's refusals.

use std::sync::Arc;

use axum::http::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::{
    tests, unique_email, Answer, TestApp, World, ANON_KEY, PASSWORD, SERVICE_KEY,
};

tests![
    create_user_answers_the_user_with_its_email_identity,
    create_user_refusals,
    only_the_service_role_is_admin,
    get_user_answers_the_user,
    delete_user_deletes_it_once,
    delete_user_wants_a_uuid,
    invite_creates_a_user_and_mails_an_invite,
];

async fn create(app: &TestApp, body: Value) -> Answer {
    app.post("/auth/v1/admin/users")
        .bearer(SERVICE_KEY)
        .json(body)
        .send()
        .await
}

async fn create_user_answers_the_user_with_its_email_identity(world: Arc<World>) {
    let app = world.app().await;
    let id = Uuid::new_v4();
    let email = unique_email("Admin-Made");
    let answer = create(
        &app,
        json!({
            "id": id, "email": email, "password": PASSWORD, "email_confirm": true,
            "user_metadata": { "name": "Bo" },
            "app_metadata": { "provider": null, "plan": "pro" },
        }),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let user = answer.json();
    assert_eq!(
        (&user["id"], &user["email"]),
        (&json!(id), &json!(email.to_lowercase()))
    );
    // GoTrue's provider fields, then the given app_metadata merged (null deletes).
    assert_eq!(
        user["app_metadata"],
        json!({ "providers": ["email"], "plan": "pro" })
    );
    assert_eq!(user["user_metadata"], json!({ "name": "Bo" }));
    assert!(user["email_confirmed_at"].is_string());
    let identity = &user["identities"][0];
    assert_eq!(identity["provider"], "email");
    assert_eq!(identity["identity_data"]["sub"], json!(id.to_string()));
    let hash: String = app
        .db
        .query_one(
            "select encrypted_password from auth.users where id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert!(hash.starts_with("$2a$10$"), "{hash}");

    // Without a password or confirmation: a user who cannot sign in yet.
    let answer = create(&app, json!({ "email": unique_email("bare") })).await;
    assert_eq!(answer.status, 200);
    assert!(answer.json().get("email_confirmed_at").is_none());
}

async fn create_user_refusals(world: Arc<World>) {
    let app = world.app().await;
    let taken = app.user("taken").await;
    let email = unique_email("refused");
    let cases = [
        (
            json!({}),
            400,
            "validation_failed",
            "Cannot create a user without either an email or phone",
        ),
        (
            json!({ "phone": "+15550100" }),
            400,
            "validation_failed",
            "The auth stand-in does not support phone users",
        ),
        (
            json!({ "email": "nope" }),
            400,
            "validation_failed",
            "Unable to validate email address: invalid format",
        ),
        (
            json!({ "email": taken.email.to_uppercase() }),
            422,
            "email_exists",
            "A user with this email address has already been registered",
        ),
        (
            json!({ "email": email, "password": "x".repeat(73) }),
            400,
            "validation_failed",
            "bcrypt: password length exceeds 72 bytes",
        ),
        (
            json!({ "email": email, "id": Uuid::nil() }),
            400,
            "validation_failed",
            "ID cannot be a nil uuid",
        ),
        (
            json!({ "email": email, "id": "user-1" }),
            400,
            "validation_failed",
            "ID must conform to the uuid v4 format",
        ),
    ];
    for (body, status, code, msg) in cases {
        create(&app, body).await.assert_error(status, code, msg);
    }
    let weak = create(&app, json!({ "email": email, "password": "12345" })).await;
    assert_eq!(
        (weak.status, weak.json()["weak_password"].clone()),
        (422, json!({ "reasons": ["length"] }))
    );
    let answer = app
        .post("/auth/v1/admin/users")
        .bearer(SERVICE_KEY)
        .body("{")
        .send()
        .await;
    answer.assert_error(
        400,
        "bad_json",
        "Could not parse request body as JSON: EOF while parsing an object at line 1 column 1",
    );
}

async fn only_the_service_role_is_admin(world: Arc<World>) {
    let app = world.app().await;
    let user = app.user("not-admin").await;
    let user_token = app.sign_in(&user).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let calls = [
        (Method::POST, "/auth/v1/admin/users"),
        (
            Method::DELETE,
            "/auth/v1/admin/users/00000000-0000-4000-8000-000000000000",
        ),
        (
            Method::GET,
            "/auth/v1/admin/users/00000000-0000-4000-8000-000000000000",
        ),
        (Method::POST, "/auth/v1/invite"),
        (Method::GET, "/auth/v1/_dev/mailbox"),
        (Method::DELETE, "/auth/v1/_dev/mailbox"),
    ];
    for (method, path) in calls {
        // Refused before the body is read.
        let call = |token: Option<&str>| {
            let call = app.request(method.clone(), path).body("{");
            match token {
                Some(token) => call.bearer(token),
                None => call,
            }
        };
        call(None).send().await.assert_error(
            401,
            "no_authorization",
            "This endpoint requires a valid Bearer token",
        );
        for token in [ANON_KEY, user_token.as_str()] {
            call(Some(token))
                .send()
                .await
                .assert_error(403, "not_admin", "User not allowed");
        }
        let answer = call(Some("forged")).send().await;
        assert_eq!(
            (answer.status, answer.json()["error_code"].clone()),
            (403, json!("bad_jwt"))
        );
    }
}

async fn get_user_answers_the_user(world: Arc<World>) {
    let app = world.app().await;
    // Created with an id of the caller's choosing, as GoTrue's adminUserCreate allows.
    let id = Uuid::new_v4();
    let email = unique_email("got");
    let answer = create(
        &app,
        json!({ "id": id, "email": email, "email_confirm": true }),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.json()["id"], json!(id));
    let path = format!("/auth/v1/admin/users/{id}");
    let answer = app.get(&path).bearer(SERVICE_KEY).send().await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let user = answer.json();
    assert_eq!(
        (user["id"].clone(), user["email"].clone()),
        (json!(id), json!(email))
    );
    assert!(user["email_confirmed_at"].is_string(), "{user}");
    let answer = app
        .get(&format!("/auth/v1/admin/users/{}", Uuid::new_v4()))
        .bearer(SERVICE_KEY)
        .send()
        .await;
    answer.assert_error(404, "user_not_found", "User not found");
    let answer = app
        .get("/auth/v1/admin/users/nope")
        .bearer(SERVICE_KEY)
        .send()
        .await;
    answer.assert_error(404, "validation_failed", "user_id must be an UUID");
}

async fn delete_user_deletes_it_once(world: Arc<World>) {
    let app = world.app().await;
    let user = app.user("deleted").await;
    let session = app.sign_in(&user).await;
    let path = format!("/auth/v1/admin/users/{}", user.id);
    let answer = app.delete(&path).bearer(SERVICE_KEY).send().await;
    assert_eq!((answer.status, answer.json()), (200, json!({})));
    let left: i64 = app
        .db
        .query_one(
            "select count(*) from auth.sessions where user_id = $1",
            &[&user.id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
    let token = session["access_token"].as_str().unwrap();
    let answer = app.get("/auth/v1/user").bearer(token).send().await;
    answer.assert_error(
        403,
        "user_not_found",
        "User from sub claim in JWT does not exist",
    );
    let answer = app.delete(&path).bearer(SERVICE_KEY).send().await;
    answer.assert_error(404, "user_not_found", "User not found");
}

async fn delete_user_wants_a_uuid(world: Arc<World>) {
    let app = world.app().await;
    // The rest of the path as written, not percent-decoded (a braced UUID escaped stays
    // escaped), an empty one too.
    for rest in [
        "",
        "nope",
        "a/b",
        "%7B00000000-0000-4000-8000-000000000000%7D",
    ] {
        let answer = app
            .delete(&format!("/auth/v1/admin/users/{rest}"))
            .bearer(SERVICE_KEY)
            .send()
            .await;
        answer.assert_error(404, "validation_failed", "user_id must be an UUID");
    }
    // uuid's other spellings are UUIDs.
    let answer = app
        .delete("/auth/v1/admin/users/00000000000040008000000000000000")
        .bearer(SERVICE_KEY)
        .send()
        .await;
    answer.assert_error(404, "user_not_found", "User not found");
    let answer = app
        .delete("/auth/v1/admin/users")
        .bearer(SERVICE_KEY)
        .send()
        .await;
    answer.assert_error(404, "not_found", "Not Found");
}

async fn invite_creates_a_user_and_mails_an_invite(world: Arc<World>) {
    let app = world.app().await;
    let email = unique_email("invitee");
    let answer = app
        .post("/auth/v1/invite?redirect_to=http://localhost:3000/welcome")
        .bearer(SERVICE_KEY)
        .json(json!({ "email": email, "data": { "team": "a" } }))
        .send()
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let user = answer.json();
    assert!(user["invited_at"].is_string() && user.get("email_confirmed_at").is_none());
    assert_eq!(user["user_metadata"], json!({ "team": "a" }));
    let mail = app.mailbox(&email).await;
    assert_eq!(
        (&mail[0]["type"], &mail[0]["redirectTo"]),
        (&json!("invite"), &json!("http://localhost:3000/welcome"))
    );
    // Invited again while pending: the same user, a new invite.
    let again = app
        .post("/auth/v1/invite")
        .bearer(SERVICE_KEY)
        .json(json!({ "email": email }))
        .send()
        .await;
    assert_eq!(again.json()["id"], user["id"]);
    assert_eq!(app.mailbox(&email).await.len(), 2);

    let taken = app.user("confirmed").await;
    let invite = |body: Value| {
        app.post("/auth/v1/invite")
            .bearer(SERVICE_KEY)
            .json(body)
            .send()
    };
    invite(json!({ "email": taken.email })).await.assert_error(
        422,
        "email_exists",
        "A user with this email address has already been registered",
    );
    invite(json!({}))
        .await
        .assert_error(400, "validation_failed", "An email address is required");
    invite(json!({ "email": "a@-b.test" })).await.assert_error(
        400,
        "validation_failed",
        "Unable to validate email address: invalid format",
    );
}
