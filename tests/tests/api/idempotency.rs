//! Idempotency-Key on every create and on publish (issue 15, part 3), through the API
//! and straight to PostgREST: a repeat answers the first answer (`Idempotent-Replayed:
//! true`) and writes nothing; the key for another request is 422; duplicates sent at
//! once make one row; keys are per user and expire after 24 hours; a failed create
//! leaves the key free. The database holds the rule (private.idempotent_replay), so a
//! client calling PostgREST with the same header gets the same answers.

use functions::routes;
use integration_tests::*;
use serde_json::{json, Value};
use shared::Route;
use uuid::Uuid;

fn key() -> String {
    format!("key-{}", Uuid::new_v4())
}

async fn send_keyed(route: &Route, req: Req, user: &TestUser, key: &str) -> Res {
    req.as_user(user)
        .header("idempotency-key", key)
        .send(route)
        .await
}

async fn count(sql: &str, id: &Uuid) -> i64 {
    db().await.query_one(sql, &[id]).await.unwrap().get(0)
}

async fn workspaces_named(user: &TestUser, name: &str) -> i64 {
    db().await
        .query_one(
            "select count(*) from public.workspaces where created_by = $1 and name = $2",
            &[&user.id, &name],
        )
        .await
        .unwrap()
        .get(0)
}

async fn keys_of(user: &TestUser) -> i64 {
    count(
        "select count(*) from private.idempotency_keys where user_id = $1",
        &user.id,
    )
    .await
}

#[tokio::test]
async fn a_repeated_create_answers_the_first_answer_and_writes_nothing() {
    let u = user().await;
    let key = key();
    let body = json!({ "name": "Retried Inc" });
    let first = send_keyed(
        &routes::CREATE_WORKSPACE,
        Req::post("/workspaces").json(body.clone()),
        &u,
        &key,
    )
    .await;
    let first_data = first.assert_ok(201).clone();
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = send_keyed(
        &routes::CREATE_WORKSPACE,
        Req::post("/workspaces").json(body),
        &u,
        &key,
    )
    .await;
    assert_eq!(
        again.assert_ok(201),
        &first_data,
        "the first answer, as it was"
    );
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    // A replay is a write the gate counted: its RateLimit headers still come back.
    assert!(again.header("ratelimit").is_some(), "{:?}", again.headers);
    assert_eq!(workspaces_named(&u, "Retried Inc").await, 1);
    assert_eq!(keys_of(&u).await, 1);
    // Whitespace the API trims is the same request.
    let padded = send_keyed(
        &routes::CREATE_WORKSPACE,
        Req::post("/workspaces").json(json!({ "name": "  Retried Inc " })),
        &u,
        &key,
    )
    .await;
    assert_eq!(padded.assert_ok(201)["id"], first_data["id"]);
    // Without a key, every POST creates.
    for _ in 0..2 {
        Req::post("/workspaces")
            .json(json!({ "name": "Unkeyed" }))
            .as_user(&u)
            .send(&routes::CREATE_WORKSPACE)
            .await
            .assert_ok(201);
    }
    assert_eq!(workspaces_named(&u, "Unkeyed").await, 2);
}

#[tokio::test]
async fn the_key_for_a_different_request_is_422_and_writes_nothing() {
    let u = user().await;
    let key = key();
    let ws = send_keyed(
        &routes::CREATE_WORKSPACE,
        Req::post("/workspaces").json(json!({ "name": "First Use" })),
        &u,
        &key,
    )
    .await;
    let ws_id: Uuid = ws.assert_ok(201)["id"].as_str().unwrap().parse().unwrap();
    // Another body on the same route.
    let other = send_keyed(
        &routes::CREATE_WORKSPACE,
        Req::post("/workspaces").json(json!({ "name": "Second Use" })),
        &u,
        &key,
    )
    .await;
    assert_err(&other, 422, "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(workspaces_named(&u, "Second Use").await, 0);
    // The same key on another route.
    let project = send_keyed(
        &routes::CREATE_PROJECT,
        Req::post("/projects").json(json!({ "name": "Keyed", "workspaceId": ws_id })),
        &u,
        &key,
    )
    .await;
    assert_err(&project, 422, "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(
        count(
            "select count(*) from public.projects where workspace_id = $1",
            &ws_id
        )
        .await,
        0
    );
}

#[tokio::test]
async fn keys_are_per_user() {
    let (a, b) = (user().await, user().await);
    let key = key();
    let body = json!({ "name": "Same Key" });
    let first = send_keyed(
        &routes::CREATE_WORKSPACE,
        Req::post("/workspaces").json(body.clone()),
        &a,
        &key,
    )
    .await;
    let second = send_keyed(
        &routes::CREATE_WORKSPACE,
        Req::post("/workspaces").json(body),
        &b,
        &key,
    )
    .await;
    assert_ne!(first.assert_ok(201)["id"], second.assert_ok(201)["id"]);
    assert_eq!(second.header("idempotent-replayed"), None);
    assert_eq!(workspaces_named(&a, "Same Key").await, 1);
    assert_eq!(workspaces_named(&b, "Same Key").await, 1);
}

#[tokio::test]
async fn duplicates_sent_at_once_make_one_row_and_all_get_its_answer() {
    let u = user().await;
    let key = key();
    let sends = (0..6).map(|_| {
        let req = Req::post("/workspaces")
            .json(json!({ "name": "Burst" }))
            .as_user(&u)
            .header("idempotency-key", &key);
        tokio::spawn(async move { req.send(&routes::CREATE_WORKSPACE).await })
    });
    let mut ids = Vec::new();
    let mut replayed = 0;
    for send in sends.collect::<Vec<_>>() {
        let res = send.await.unwrap();
        ids.push(res.assert_ok(201)["id"].clone());
        replayed += usize::from(res.header("idempotent-replayed") == Some("true"));
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one workspace for all: {ids:?}");
    assert_eq!(replayed, 5, "all but the first are replays");
    assert_eq!(workspaces_named(&u, "Burst").await, 1);
    let ws: Uuid = ids[0].as_str().unwrap().parse().unwrap();
    assert_eq!(
        count(
            "select count(*) from public.workspace_members where workspace_id = $1",
            &ws
        )
        .await,
        1
    );
}

#[tokio::test]
async fn projects_posts_and_publish_replay_too() {
    let admin = user().await;
    let ws = workspace(&admin).await;
    let key_p = key();
    let req = || Req::post("/projects").json(json!({ "name": "Once", "workspaceId": ws }));
    let first = send_keyed(&routes::CREATE_PROJECT, req(), &admin, &key_p).await;
    let again = send_keyed(&routes::CREATE_PROJECT, req(), &admin, &key_p).await;
    assert_eq!(again.assert_ok(201), first.assert_ok(201));
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        count(
            "select count(*) from public.projects where workspace_id = $1",
            &ws
        )
        .await,
        1
    );

    let editor = user_with_role("editor").await;
    let key_c = key();
    let post = || Req::post("/posts").json(json!({ "title": "Once only", "body": "b" }));
    let first = send_keyed(&routes::CREATE_POST, post(), &editor, &key_c).await;
    let again = send_keyed(&routes::CREATE_POST, post(), &editor, &key_c).await;
    let data = first.assert_ok(201).clone();
    assert_eq!(again.assert_ok(201), &data);
    assert_eq!(
        count(
            "select count(*) from public.posts where author_id = $1",
            &editor.id
        )
        .await,
        1
    );

    let id = data["id"].as_str().unwrap().to_owned();
    let key_pub = key();
    let publish = || Req::post(&format!("/posts/{id}/publish")).param("id", &id);
    let first = send_keyed(&routes::PUBLISH_POST, publish(), &editor, &key_pub).await;
    let published = first.assert_ok(200).clone();
    assert_eq!(published["published"], json!(true));
    let again = send_keyed(&routes::PUBLISH_POST, publish(), &editor, &key_pub).await;
    assert_eq!(
        again.assert_ok(200),
        &published,
        "same publishedAt, same updatedAt"
    );
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    // The key of one post's publish, for another post: 422.
    let other = post_id(&editor).await;
    let res = send_keyed(
        &routes::PUBLISH_POST,
        Req::post(&format!("/posts/{other}/publish")).param("id", other),
        &editor,
        &key_pub,
    )
    .await;
    assert_err(&res, 422, "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(
        count(
            "select count(*) from public.posts where id = $1 and published",
            &other
        )
        .await,
        0
    );
}

async fn post_id(author: &TestUser) -> Uuid {
    post(author, "Another", false).await
}

#[tokio::test]
async fn a_repeated_upload_answers_the_same_upload_and_a_presigned_put_for_it() {
    let u = user().await;
    let key = key();
    let body = json!({ "filename": "cat.png", "contentType": "image/png", "size": 1024 });
    let first = send_keyed(
        &routes::CREATE_UPLOAD,
        Req::post("/uploads").json(body.clone()),
        &u,
        &key,
    )
    .await;
    let again = send_keyed(
        &routes::CREATE_UPLOAD,
        Req::post("/uploads").json(body),
        &u,
        &key,
    )
    .await;
    let (first, again) = (first.assert_ok(201).clone(), again.assert_ok(201).clone());
    assert_eq!(first["id"], again["id"]);
    assert_eq!(first["createdAt"], again["createdAt"]);
    let id = first["id"].as_str().unwrap();
    // Both PUTs go to the one upload's object.
    for data in [&first, &again] {
        let url = data["uploadRequest"]["url"].as_str().unwrap();
        assert!(url.contains(id), "{url}");
    }
    assert_eq!(
        count(
            "select count(*) from public.uploads where owner_id = $1",
            &u.id
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_failed_create_leaves_the_key_free() {
    let admin = user().await;
    let member = user().await;
    let ws = workspace(&admin).await;
    join(ws, &member, "member").await;
    let key = key();
    let req = || Req::post("/projects").json(json!({ "name": "Later", "workspaceId": ws }));
    let refused = send_keyed(&routes::CREATE_PROJECT, req(), &member, &key).await;
    assert_err(&refused, 403, "FORBIDDEN");
    assert_eq!(keys_of(&member).await, 0, "the refusal stored nothing");
    db().await
        .execute(
            "update public.workspace_members set role = 'editor' where workspace_id = $1 and user_id = $2",
            &[&ws, &member.id],
        )
        .await
        .unwrap();
    let created = send_keyed(&routes::CREATE_PROJECT, req(), &member, &key).await;
    created.assert_ok(201);
    assert_eq!(created.header("idempotent-replayed"), None);
}

#[tokio::test]
async fn a_key_expires_after_24_hours() {
    let u = user().await;
    let key = key();
    send_keyed(
        &routes::CREATE_WORKSPACE,
        Req::post("/workspaces").json(json!({ "name": "Yesterday" })),
        &u,
        &key,
    )
    .await
    .assert_ok(201);
    db().await
        .execute(
            "update private.idempotency_keys set created_at = now() - interval '25 hours' where user_id = $1",
            &[&u.id],
        )
        .await
        .unwrap();
    let today = send_keyed(
        &routes::CREATE_WORKSPACE,
        Req::post("/workspaces").json(json!({ "name": "Today" })),
        &u,
        &key,
    )
    .await;
    today.assert_ok(201);
    assert_eq!(today.header("idempotent-replayed"), None);
    assert_eq!(workspaces_named(&u, "Today").await, 1);
    assert_eq!(keys_of(&u).await, 1, "the expired key was replaced");
}

#[tokio::test]
async fn a_malformed_key_is_422_naming_the_header_and_writes_nothing() {
    let u = user().await;
    let long = "k".repeat(256);
    for bad in ["", "has space", long.as_str(), "tab\there", "é"] {
        let res = Req::post("/workspaces")
            .json(json!({ "name": "Bad Key" }))
            .as_user(&u)
            .header("idempotency-key", bad)
            .send(&routes::CREATE_WORKSPACE)
            .await;
        assert_invalid_field(&res, "Idempotency-Key");
    }
    // Sent twice.
    let mut req = Req::post("/workspaces")
        .json(json!({ "name": "Bad Key" }))
        .as_user(&u)
        .build();
    for value in ["a", "b"] {
        req.headers_mut()
            .append("idempotency-key", value.parse().unwrap());
    }
    let res = send_with(&app(), &routes::CREATE_WORKSPACE, req).await;
    assert_invalid_field(&res, "Idempotency-Key");
    assert_eq!(workspaces_named(&u, "Bad Key").await, 0);
    // 255 visible characters are fine.
    let ok = "k".repeat(255);
    send_keyed(
        &routes::CREATE_WORKSPACE,
        Req::post("/workspaces").json(json!({ "name": "Long Key" })),
        &u,
        &ok,
    )
    .await
    .assert_ok(201);
}

#[tokio::test]
async fn creating_a_user_twice_with_a_key_makes_one_account() {
    let admin = user_with_role("admin").await;
    let key = key();
    let email = format!("idem-{}@example.test", Uuid::new_v4());
    let body = json!({ "email": email, "name": "Idem Potent", "role": "editor" });
    let first = send_keyed(
        &routes::CREATE_USER,
        Req::post("/users").json(body.clone()),
        &admin,
        &key,
    )
    .await;
    let first = first.assert_ok(201).clone();
    let again = send_keyed(
        &routes::CREATE_USER,
        Req::post("/users").json(body),
        &admin,
        &key,
    )
    .await;
    assert_eq!(again.assert_ok(201), &first);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(users_with_email(&email).await, 1);
    let created = count(
        "select count(*) from public.audit_log where actor_id = $1 and action = 'USER_CREATED'",
        &admin.id,
    )
    .await;
    assert_eq!(created, 1, "one USER_CREATED event");
    // Another body with the key: 422, no account.
    let other = format!("idem-other-{}@example.test", Uuid::new_v4());
    let res = send_keyed(
        &routes::CREATE_USER,
        Req::post("/users").json(json!({ "email": other, "name": "Other", "role": "user" })),
        &admin,
        &key,
    )
    .await;
    assert_err(&res, 422, "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(users_with_email(&other).await, 0);
}

#[tokio::test]
async fn duplicate_user_creates_at_once_make_one_account_the_rest_wait_or_get_409() {
    let admin = user_with_role("admin").await;
    let key = key();
    let email = format!("burst-{}@example.test", Uuid::new_v4());
    let body = json!({ "email": email, "name": "Burst User", "role": "user" });
    let sends: Vec<_> = (0..4)
        .map(|_| {
            let req = Req::post("/users")
                .json(body.clone())
                .as_user(&admin)
                .header("idempotency-key", &key);
            tokio::spawn(async move { req.send(&routes::CREATE_USER).await })
        })
        .collect();
    let mut created = Vec::new();
    for send in sends {
        let res = send.await.unwrap();
        if res.status == 409 {
            assert_err(&res, 409, "IDEMPOTENCY_IN_PROGRESS");
            assert_eq!(res.header("retry-after"), Some("1"));
        } else {
            created.push(res.assert_ok(201)["id"].clone());
        }
    }
    assert_eq!(users_with_email(&email).await, 1);
    created.dedup();
    assert_eq!(created.len(), 1, "{created:?}");
    // Once the first is done, a retry gets its answer.
    let retry = send_keyed(
        &routes::CREATE_USER,
        Req::post("/users").json(body),
        &admin,
        &key,
    )
    .await;
    assert_eq!(retry.assert_ok(201)["id"], created[0]);
}

/// What a create whose answer was lost can leave (found by `make chaos`): Supabase Auth
/// made the account, `finish_user_creation` may not have committed, and the key was
/// released. The retry with the key finishes that same account (its id follows from
/// the key); it is not refused as a taken address, and no second account is made.
#[tokio::test]
async fn a_user_create_retried_after_a_lost_answer_finishes_the_same_account() {
    let admin = user_with_role("admin").await;
    let key = key();
    let email = format!("lost-{}@example.test", Uuid::new_v4());
    let body = json!({ "email": email, "name": "Lost Answer", "role": "editor" });
    let first = send_keyed(
        &routes::CREATE_USER,
        Req::post("/users").json(body.clone()),
        &admin,
        &key,
    )
    .await;
    let id = first.assert_ok(201)["id"].as_str().unwrap().to_owned();
    // As if the finish had not committed: the default role and no name, the key free.
    db().await
        .batch_execute(&format!(
            "update public.user_roles set role = 'user' where user_id = '{id}';
             update public.profiles set full_name = null where id = '{id}';
             delete from private.idempotency_keys where user_id = '{}';",
            admin.id
        ))
        .await
        .unwrap();
    let retry = send_keyed(
        &routes::CREATE_USER,
        Req::post("/users").json(body),
        &admin,
        &key,
    )
    .await;
    let retried = retry.assert_ok(201);
    assert_eq!(retried["id"], json!(id));
    assert_eq!(retried["role"], json!("editor"));
    assert_eq!(retried["name"], json!("Lost Answer"));
    assert_eq!(retry.header("idempotent-replayed"), None);
    assert_eq!(users_with_email(&email).await, 1);
    // Another key for the same address is someone else's create: 409, no account.
    let res = send_keyed(
        &routes::CREATE_USER,
        Req::post("/users").json(json!({ "email": email, "name": "Other", "role": "user" })),
        &admin,
        &self::key(),
    )
    .await;
    assert_err(&res, 409, "CONFLICT");
    assert_eq!(users_with_email(&email).await, 1);
}

#[tokio::test]
async fn a_failed_user_create_releases_its_key() {
    let admin = user_with_role("admin").await;
    let existing = user().await;
    let key = key();
    let body = json!({ "email": existing.email, "name": "Copy", "role": "user" });
    let res = send_keyed(
        &routes::CREATE_USER,
        Req::post("/users").json(body),
        &admin,
        &key,
    )
    .await;
    assert_err(&res, 409, "CONFLICT");
    assert_eq!(keys_of(&admin).await, 0, "released");
    let email = format!("after-{}@example.test", Uuid::new_v4());
    let res = send_keyed(
        &routes::CREATE_USER,
        Req::post("/users").json(json!({ "email": email, "name": "After", "role": "user" })),
        &admin,
        &key,
    )
    .await;
    res.assert_ok(201);
    assert_eq!(users_with_email(&email).await, 1);
}

// ---------------------------------------------------------------------------------------
// Straight to PostgREST: the database keeps the same rule
// ---------------------------------------------------------------------------------------

async fn rpc(user: &TestUser, function: &str, body: Value, key: &str) -> Direct {
    postgrest_direct_with(
        reqwest::Method::POST,
        &format!("rpc/{function}"),
        Some(&user.token),
        Some(body),
        &[("idempotency-key", key)],
    )
    .await
}

#[tokio::test]
async fn postgrest_called_directly_replays_and_refuses_the_same_way() {
    let u = user().await;
    let key = key();
    let first = rpc(&u, "create_workspace", json!({ "name": "Direct" }), &key).await;
    assert_eq!(first.status, 200, "{first:?}");
    let again = rpc(&u, "create_workspace", json!({ "name": "Direct" }), &key).await;
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(workspaces_named(&u, "Direct").await, 1);

    let other = rpc(&u, "create_workspace", json!({ "name": "Direct 2" }), &key).await;
    other.assert_refused(422, "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(workspaces_named(&u, "Direct 2").await, 0);

    let bad = rpc(
        &u,
        "create_workspace",
        json!({ "name": "Direct 3" }),
        "has space",
    )
    .await;
    bad.assert_refused(422, "VALIDATION_ERROR");
    assert_eq!(workspaces_named(&u, "Direct 3").await, 0);

    // The upload's id is the client's: a repeat with a new id still answers the first.
    let body = |id: Uuid| json!({ "p_id": id, "p_original_name": "a.png", "p_content_type": "image/png", "p_size_bytes": 10 });
    let key = self::key();
    let first = rpc(&u, "create_upload", body(Uuid::new_v4()), &key).await;
    let again = rpc(&u, "create_upload", body(Uuid::new_v4()), &key).await;
    assert_eq!(
        (first.status, again.status),
        (200, 200),
        "{first:?} {again:?}"
    );
    assert_eq!(first.body["id"], again.body["id"]);
    assert!(first.body.get("object_key").is_none(), "{:?}", first.body);
    assert_eq!(
        count(
            "select count(*) from public.uploads where owner_id = $1",
            &u.id
        )
        .await,
        1
    );
    // The upload rule counts create_upload as it counts inserts into uploads.
    let policy = again.header("ratelimit-policy").unwrap_or_default();
    assert!(policy.contains("create-upload"), "{policy}");

    // Someone else's key is not theirs to release or replay.
    let other_user = user().await;
    let res = rpc(&other_user, "create_upload", body(Uuid::new_v4()), &key).await;
    assert_eq!(res.status, 200);
    assert_ne!(res.body["id"], first.body["id"]);
}

#[tokio::test]
async fn the_user_creation_functions_refuse_callers_without_users_write_straight_to_postgrest() {
    let plain = user().await;
    let victim = user().await;
    // Promoting themselves (or anyone) through finish_user_creation: refused, unchanged.
    for target in [plain.id, victim.id] {
        let res = postgrest_direct(
            reqwest::Method::POST,
            "rpc/finish_user_creation",
            Some(&plain.token),
            Some(json!({ "p_id": target, "p_role": "admin", "p_name": "Boss" })),
        )
        .await;
        res.assert_refused(403, "42501");
        let role: String = db()
            .await
            .query_one(
                "select role::text from public.user_roles where user_id = $1",
                &[&target],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(role, "user");
    }
    // A claim needs the header.
    let res = postgrest_direct(
        reqwest::Method::POST,
        "rpc/claim_idempotency_key",
        Some(&plain.token),
        Some(json!({ "p_operation": "create_user", "p_request": {} })),
    )
    .await;
    res.assert_refused(422, "VALIDATION_ERROR");
    assert_eq!(keys_of(&plain).await, 0);
}
