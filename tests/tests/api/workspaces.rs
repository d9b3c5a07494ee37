//! Workspaces and their members, through the shared pipeline and the real handlers,
//! against the real PostgREST and Postgres (RLS on). Every test makes its own users and
//! workspaces and checks the database afterwards with a superuser connection.
//!
//! POST   /workspaces                         create (caller becomes admin)
//! GET    /workspaces?page=&pageSize=         the caller's workspaces, newest first
//! POST   /workspaces/{id}/members            workspace admins add a member
//! DELETE /workspaces/{id}/members/{userId}   workspace admins remove a member

use chrono::{DateTime, Duration, Utc};
use functions::routes;
use integration_tests::*;
use serde_json::{json, Value};
use uuid::Uuid;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn create_req(body: Value) -> Req {
    Req::post("/workspaces").json(body)
}

fn add_req(workspace: impl ToString, body: Value) -> Req {
    let ws = workspace.to_string();
    Req::post(&format!("/workspaces/{ws}/members"))
        .param("id", ws)
        .json(body)
}

fn remove_req(workspace: impl ToString, member: impl ToString) -> Req {
    let ws = workspace.to_string();
    let member = member.to_string();
    Req::delete(&format!("/workspaces/{ws}/members/{member}"))
        .param("id", ws)
        .param("userId", member)
}

/// Every (user_id, role) of a workspace, ordered, straight from the table.
async fn members(workspace: Uuid) -> Vec<(Uuid, String)> {
    db().await
        .query(
            "select user_id, role::text from public.workspace_members \
             where workspace_id = $1 order by user_id",
            &[&workspace],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// The user's role in the workspace, if they are a member.
async fn role_of(workspace: Uuid, user: &TestUser) -> Option<String> {
    db().await
        .query_opt(
            "select role::text from public.workspace_members \
             where workspace_id = $1 and user_id = $2",
            &[&workspace, &user.id],
        )
        .await
        .unwrap()
        .map(|r| r.get(0))
}

/// How many workspaces name this user as creator.
async fn workspaces_created_by(user: &TestUser) -> i64 {
    db().await
        .query_one(
            "select count(*) from public.workspaces where created_by = $1",
            &[&user.id],
        )
        .await
        .unwrap()
        .get(0)
}

/// How many workspaces this user is a member of.
async fn memberships_of(user: &TestUser) -> i64 {
    db().await
        .query_one(
            "select count(*) from public.workspace_members where user_id = $1",
            &[&user.id],
        )
        .await
        .unwrap()
        .get(0)
}

/// A workspace made directly in the database with a chosen creation time.
async fn workspace_created_at(admin: &TestUser, at: DateTime<Utc>) -> Uuid {
    let id = Uuid::new_v4();
    let db = db().await;
    db.execute(
        "insert into public.workspaces (id, name, created_by, created_at, updated_at) \
         values ($1, $2::text, $3, $4, $4)",
        &[&id, &format!("ws-{id}"), &admin.id, &at],
    )
    .await
    .unwrap();
    db.execute(
        "insert into public.workspace_members (workspace_id, user_id, role) \
         values ($1, $2, 'admin')",
        &[&id, &admin.id],
    )
    .await
    .unwrap();
    id
}

/// Text that only Postgres or PostgREST would write: it must never reach a client.
const INTERNALS: &[&str] = &[
    "duplicate key",
    "violates",
    "constraint",
    "pt409",
    "23505",
    "23503",
    "pgrst",
    "postgrest",
    "foreign key",
    "_pkey",
    "_fkey",
    "sqlstate",
    "auth.users",
    "public.workspace",
    "127.0.0.1",
    "connection",
];

#[track_caller]
fn assert_no_internals(res: &Res) {
    let body = res.body.to_string().to_lowercase();
    for needle in INTERNALS {
        assert!(!body.contains(needle), "body leaks {needle:?}: {body}");
    }
}

/// A 422 whose details name `field` (possibly as part of a path); the exact naming is
/// checked by `unknown_body_fields_are_named_exactly`.
#[track_caller]
fn assert_mentions_field(res: &Res, field: &str) {
    let details = res.assert_error(422, "VALIDATION_ERROR");
    let fields = details["fields"].as_object().expect("details.fields");
    assert!(
        fields
            .keys()
            .any(|k| k.split('.').any(|segment| segment == field)),
        "expected field {field} in {}",
        res.body
    );
}

#[track_caller]
fn assert_uuid(value: &Value) -> Uuid {
    Uuid::parse_str(
        value
            .as_str()
            .unwrap_or_else(|| panic!("not a string: {value}")),
    )
    .unwrap_or_else(|_| panic!("not a UUID: {value}"))
}

#[track_caller]
fn assert_time(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(
        value
            .as_str()
            .unwrap_or_else(|| panic!("not a string: {value}")),
    )
    .unwrap_or_else(|_| panic!("not an RFC 3339 time: {value}"))
    .with_timezone(&Utc)
}

/// No snake_case key anywhere at the top level of an object.
#[track_caller]
fn assert_camel_case_keys(object: &Value) {
    for key in object.as_object().expect("an object").keys() {
        assert!(!key.contains('_'), "snake_case key {key} in {object}");
    }
}

fn ids(data: &Value) -> Vec<Uuid> {
    data.as_array()
        .expect("a list")
        .iter()
        .map(|w| assert_uuid(&w["id"]))
        .collect()
}

// ---------------------------------------------------------------------------------------
// POST /workspaces
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn create_makes_the_workspace_and_the_caller_its_admin() {
    let me = user().await;
    let res = create_req(json!({ "name": "Research" }))
        .as_user(&me)
        .send(&routes::CREATE_WORKSPACE)
        .await;
    let data = res.assert_ok(201);

    let id = assert_uuid(&data["id"]);
    assert_eq!(data["name"], "Research");
    assert_eq!(data["role"], "admin");
    assert_eq!(data["createdBy"], json!(me.id));
    let created_at = assert_time(&data["createdAt"]);
    assert_time(&data["updatedAt"]);
    assert_camel_case_keys(data);
    assert!(res
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));

    let db = db().await;
    let row = db
        .query_one(
            "select name, created_by, created_at from public.workspaces where id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "Research");
    assert_eq!(row.get::<_, Option<Uuid>>(1), Some(me.id));
    assert_eq!(row.get::<_, DateTime<Utc>>(2), created_at);
    // Exactly one member: the creator, as admin.
    assert_eq!(members(id).await, vec![(me.id, "admin".to_owned())]);
    assert_eq!(workspaces_created_by(&me).await, 1);
}

#[tokio::test]
async fn create_trims_the_name_and_counts_characters_not_bytes() {
    let me = user().await;
    let res = create_req(json!({ "name": "  Padded  " }))
        .as_user(&me)
        .send(&routes::CREATE_WORKSPACE)
        .await;
    let data = res.assert_ok(201);
    assert_eq!(data["name"], "Padded");
    let id = assert_uuid(&data["id"]);
    let stored: String = db()
        .await
        .query_one("select name from public.workspaces where id = $1", &[&id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, "Padded");

    // 100 characters is the limit, whatever their size in bytes (here 200 bytes).
    let long = "é".repeat(100);
    let res = create_req(json!({ "name": long }))
        .as_user(&me)
        .send(&routes::CREATE_WORKSPACE)
        .await;
    let data = res.assert_ok(201);
    assert_eq!(data["name"], long.as_str());
    assert_eq!(workspaces_created_by(&me).await, 2);
}

#[tokio::test]
async fn create_refuses_an_invalid_name_and_inserts_nothing() {
    let me = user().await;
    let cases: Vec<(&str, Value, &str)> = vec![
        ("missing", json!({}), "name"),
        ("empty", json!({ "name": "" }), "name"),
        ("101 chars", json!({ "name": "a".repeat(101) }), "name"),
        ("blank", json!({ "name": "   " }), "name"),
        ("control char", json!({ "name": "bad\u{0007}name" }), "name"),
        ("newline", json!({ "name": "two\nlines" }), "name"),
        ("null", json!({ "name": null }), "name"),
        ("number", json!({ "name": 42 }), "name"),
        ("array", json!({ "name": ["a"] }), "name"),
    ];
    for (case, body, field) in cases {
        let res = create_req(body)
            .as_user(&me)
            .send(&routes::CREATE_WORKSPACE)
            .await;
        assert_eq!(res.status, 422, "{case}: {}", res.body);
        res.assert_invalid(field);
        assert_no_internals(&res);
    }
    assert_eq!(workspaces_created_by(&me).await, 0);
    assert_eq!(memberships_of(&me).await, 0);
}

#[tokio::test]
async fn create_refuses_unknown_fields_and_inserts_nothing() {
    let me = user().await;
    let other = user().await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "name": "X", "createdBy": other.id }), "createdBy"),
        (json!({ "name": "X", "role": "member" }), "role"),
        (json!({ "name": "X", "id": Uuid::new_v4() }), "id"),
        (json!({ "name": "X", "created_by": other.id }), "created_by"),
    ];
    for (body, field) in cases {
        let res = create_req(body)
            .as_user(&me)
            .send(&routes::CREATE_WORKSPACE)
            .await;
        assert_mentions_field(&res, field);
        assert_no_internals(&res);
    }
    assert_eq!(workspaces_created_by(&me).await, 0);
    assert_eq!(workspaces_created_by(&other).await, 0);
    assert_eq!(memberships_of(&me).await, 0);
}

#[tokio::test]
async fn unknown_body_fields_are_named_exactly() {
    let admin = user().await;
    let newcomer = user().await;
    let ws = workspace(&admin).await;
    for (body, field) in [
        (json!({ "name": "X", "createdBy": admin.id }), "createdBy"),
        (json!({ "name": "X", "role": "member" }), "role"),
    ] {
        let res = create_req(body)
            .as_user(&admin)
            .send(&routes::CREATE_WORKSPACE)
            .await;
        res.assert_invalid(field);
        let fields = res.body["error"]["details"]["fields"].as_object().unwrap();
        assert_eq!(fields.len(), 1, "{}", res.body);
    }
    for (body, field) in [
        (
            json!({ "userId": newcomer.id, "role": "member", "workspaceId": Uuid::new_v4() }),
            "workspaceId",
        ),
        (
            json!({ "user_id": newcomer.id, "role": "member" }),
            "user_id",
        ),
    ] {
        let res = add_req(ws, body)
            .as_user(&admin)
            .send(&routes::ADD_WORKSPACE_MEMBER)
            .await;
        res.assert_invalid(field);
        let fields = res.body["error"]["details"]["fields"].as_object().unwrap();
        assert_eq!(fields.len(), 1, "{}", res.body);
    }
    assert_eq!(workspaces_created_by(&admin).await, 1);
    assert_eq!(memberships_of(&newcomer).await, 0);
}

#[tokio::test]
async fn create_refuses_a_body_that_is_not_an_object() {
    let me = user().await;
    for raw in [r#""Team""#, "42", "null", "true"] {
        let res = Req::post("/workspaces")
            .raw_body("application/json", raw)
            .as_user(&me)
            .send(&routes::CREATE_WORKSPACE)
            .await;
        assert_eq!(res.status, 422, "{raw}: {}", res.body);
        res.assert_invalid("body");
        assert_no_internals(&res);
    }
    assert_eq!(workspaces_created_by(&me).await, 0);
}

#[tokio::test]
async fn arrays_are_not_objects_and_truncated_json_is_always_400() {
    let admin = user().await;
    let newcomer = user().await;
    let ws = workspace(&admin).await;

    // Positional arrays must not stand in for the documented objects.
    let res = Req::post("/workspaces")
        .raw_body("application/json", r#"["Positional"]"#)
        .as_user(&admin)
        .send(&routes::CREATE_WORKSPACE)
        .await;
    res.assert_invalid("body");
    let raw = format!(r#"["{}","admin"]"#, newcomer.id);
    let res = Req::post(&format!("/workspaces/{ws}/members"))
        .param("id", ws)
        .raw_body("application/json", &raw)
        .as_user(&admin)
        .send(&routes::ADD_WORKSPACE_MEMBER)
        .await;
    res.assert_invalid("body");

    // Malformed JSON is 400 whatever the deserializer happened to meet first.
    for raw in [r#"{"name":1,"#, "[1,", r#"{"name":["#] {
        let res = Req::post("/workspaces")
            .raw_body("application/json", raw)
            .as_user(&admin)
            .send(&routes::CREATE_WORKSPACE)
            .await;
        assert_eq!(res.status, 400, "{raw}: {}", res.body);
        res.assert_error(400, "BAD_REQUEST");
    }
    let res = Req::post(&format!("/workspaces/{ws}/members"))
        .param("id", ws)
        .raw_body("application/json", r#"{"userId":"x","#)
        .as_user(&admin)
        .send(&routes::ADD_WORKSPACE_MEMBER)
        .await;
    res.assert_error(400, "BAD_REQUEST");

    assert_eq!(workspaces_created_by(&admin).await, 1);
    assert_eq!(memberships_of(&newcomer).await, 0);
}

#[tokio::test]
async fn create_refuses_malformed_json_wrong_type_and_oversized_bodies() {
    let me = user().await;
    for raw in [
        "{",
        "{\"name\":",
        "{\"name\":\"x\"} trailing",
        "not json",
        "",
        "   ",
    ] {
        let res = Req::post("/workspaces")
            .raw_body("application/json", raw)
            .as_user(&me)
            .send(&routes::CREATE_WORKSPACE)
            .await;
        res.assert_error(400, "BAD_REQUEST");
        assert_no_internals(&res);
    }

    let res = Req::post("/workspaces")
        .raw_body("text/plain", r#"{"name":"Plain"}"#)
        .as_user(&me)
        .send(&routes::CREATE_WORKSPACE)
        .await;
    res.assert_error(415, "UNSUPPORTED_MEDIA_TYPE");

    // No Content-Type at all is not JSON either.
    let mut req = Req::post("/workspaces").as_user(&me).build();
    *req.body_mut() = lambda_http::Body::Text(r#"{"name":"None"}"#.into());
    let res = send_with(&app(), &routes::CREATE_WORKSPACE, req).await;
    res.assert_error(415, "UNSUPPORTED_MEDIA_TYPE");

    let huge = json!({ "name": "a".repeat(64 * 1024) });
    assert!(huge.to_string().len() > 64 * 1024);
    let res = create_req(huge)
        .as_user(&me)
        .send(&routes::CREATE_WORKSPACE)
        .await;
    res.assert_error(413, "PAYLOAD_TOO_LARGE");

    // A charset parameter is still JSON.
    let res = Req::post("/workspaces")
        .raw_body("application/json; charset=utf-8", r#"{"name":"Charset"}"#)
        .as_user(&me)
        .send(&routes::CREATE_WORKSPACE)
        .await;
    res.assert_ok(201);

    assert_eq!(workspaces_created_by(&me).await, 1);
}

// ---------------------------------------------------------------------------------------
// GET /workspaces
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn list_shows_only_the_callers_workspaces_newest_first_with_their_role() {
    let me = user().await;
    let other = user().await;
    let now = Utc::now();
    let oldest = workspace_created_at(&me, now - Duration::hours(3)).await;
    let middle = workspace_created_at(&other, now - Duration::hours(2)).await;
    join(middle, &me, "editor").await;
    let newest = workspace_created_at(&other, now - Duration::hours(1)).await;
    join(newest, &me, "member").await;
    // Someone else's workspace, newer than all of mine: never listed.
    let foreign = workspace_created_at(&other, now).await;

    let res = Req::get("/workspaces")
        .as_user(&me)
        .send(&routes::LIST_WORKSPACES)
        .await;
    let data = res.assert_ok(200);
    assert_eq!(ids(data), vec![newest, middle, oldest]);
    let roles: Vec<&str> = data
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, vec!["member", "editor", "admin"]);
    let first = &data[0];
    assert_camel_case_keys(first);
    assert_eq!(first["name"], format!("ws-{newest}"));
    assert_eq!(first["createdBy"], json!(other.id));
    assert_time(&first["createdAt"]);
    assert_time(&first["updatedAt"]);
    assert!(!ids(data).contains(&foreign));
    assert_eq!(
        res.body["pagination"],
        json!({ "page": 1, "pageSize": 20, "total": 3, "totalPages": 1 })
    );

    // The other user sees their three, with their own role (admin) in each.
    let res = Req::get("/workspaces")
        .as_user(&other)
        .send(&routes::LIST_WORKSPACES)
        .await;
    let data = res.assert_ok(200);
    assert_eq!(ids(data), vec![foreign, newest, middle]);
    assert!(data
        .as_array()
        .unwrap()
        .iter()
        .all(|w| w["role"] == "admin"));
}

#[tokio::test]
async fn list_paginates_with_an_exact_total() {
    let me = user().await;
    let now = Utc::now();
    let a = workspace_created_at(&me, now - Duration::minutes(30)).await;
    let b = workspace_created_at(&me, now - Duration::minutes(20)).await;
    let c = workspace_created_at(&me, now - Duration::minutes(10)).await;
    // Noise from another user.
    let stranger = user().await;
    workspace(&stranger).await;

    let page = |n: u32| {
        Req::get("/workspaces")
            .query("page", n)
            .query("pageSize", 2)
            .as_user(&me)
    };

    let res = page(1).send(&routes::LIST_WORKSPACES).await;
    assert_eq!(ids(res.assert_ok(200)), vec![c, b]);
    assert_eq!(
        res.body["pagination"],
        json!({ "page": 1, "pageSize": 2, "total": 3, "totalPages": 2 })
    );

    let res = page(2).send(&routes::LIST_WORKSPACES).await;
    assert_eq!(ids(res.assert_ok(200)), vec![a]);
    assert_eq!(
        res.body["pagination"],
        json!({ "page": 2, "pageSize": 2, "total": 3, "totalPages": 2 })
    );

    // Past the end: an empty page, not an error, and still the right total.
    for n in [3, 50] {
        let res = page(n).send(&routes::LIST_WORKSPACES).await;
        assert_eq!(res.assert_ok(200), &json!([]), "page {n}");
        assert_eq!(
            res.body["pagination"],
            json!({ "page": n, "pageSize": 2, "total": 3, "totalPages": 2 })
        );
    }
}

#[tokio::test]
async fn list_pages_are_stable_when_creation_times_tie() {
    let me = user().await;
    let at = Utc::now() - Duration::minutes(5);
    let mut made = Vec::new();
    for _ in 0..5 {
        made.push(workspace_created_at(&me, at).await);
    }
    let mut seen = Vec::new();
    for n in 1..=3 {
        let res = Req::get("/workspaces")
            .query("page", n)
            .query("pageSize", 2)
            .as_user(&me)
            .send(&routes::LIST_WORKSPACES)
            .await;
        seen.extend(ids(res.assert_ok(200)));
        assert_eq!(res.body["pagination"]["total"], 5);
        assert_eq!(res.body["pagination"]["totalPages"], 3);
    }
    let mut expected = made.clone();
    expected.sort();
    expected.reverse(); // id.desc breaks the tie
    assert_eq!(
        seen, expected,
        "every workspace exactly once, in a stable order"
    );
}

#[tokio::test]
async fn list_of_a_user_without_workspaces_is_empty() {
    let me = user().await;
    let other = user().await;
    workspace(&other).await;
    let res = Req::get("/workspaces")
        .as_user(&me)
        .send(&routes::LIST_WORKSPACES)
        .await;
    assert_eq!(res.assert_ok(200), &json!([]));
    assert_eq!(
        res.body["pagination"],
        json!({ "page": 1, "pageSize": 20, "total": 0, "totalPages": 0 })
    );
}

#[tokio::test]
async fn list_refuses_invalid_paging_parameters() {
    let me = user().await;
    workspace(&me).await;
    let cases = [
        ("pageSize", "101", "pageSize"),
        ("pageSize", "abc", "pageSize"),
        ("pageSize", "0", "pageSize"),
        ("pageSize", "-1", "pageSize"),
        ("pageSize", "2.5", "pageSize"),
        ("page", "0", "page"),
        ("page", "x", "page"),
    ];
    for (name, value, field) in cases {
        let res = Req::get("/workspaces")
            .query(name, value)
            .as_user(&me)
            .send(&routes::LIST_WORKSPACES)
            .await;
        assert_eq!(res.status, 422, "{name}={value}: {}", res.body);
        res.assert_invalid(field);
        assert_no_internals(&res);
    }
    // The largest page size allowed is fine.
    let res = Req::get("/workspaces")
        .query("pageSize", 100)
        .as_user(&me)
        .send(&routes::LIST_WORKSPACES)
        .await;
    res.assert_ok(200);
    assert_eq!(res.body["pagination"]["pageSize"], 100);
}

#[tokio::test]
async fn list_refuses_an_unknown_query_parameter() {
    let me = user().await;
    workspace(&me).await;
    for name in ["sort", "page_size", "workspaceId"] {
        let res = Req::get("/workspaces")
            .query(name, "1")
            .as_user(&me)
            .send(&routes::LIST_WORKSPACES)
            .await;
        assert_eq!(res.status, 422, "{name}: {}", res.body);
        res.assert_invalid(name);
    }
}

// ---------------------------------------------------------------------------------------
// POST /workspaces/{id}/members
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn admin_adds_members_with_each_role() {
    let admin = user().await;
    let ws = workspace(&admin).await;
    for role in ["member", "editor", "admin"] {
        let newcomer = user().await;
        let res = add_req(ws, json!({ "userId": newcomer.id, "role": role }))
            .as_user(&admin)
            .send(&routes::ADD_WORKSPACE_MEMBER)
            .await;
        let data = res.assert_ok(201);
        assert_camel_case_keys(data);
        assert_eq!(data["workspaceId"], json!(ws));
        assert_eq!(data["userId"], json!(newcomer.id));
        assert_eq!(data["role"], role);
        let created_at = assert_time(&data["createdAt"]);

        let row = db()
            .await
            .query_one(
                "select role::text, created_at from public.workspace_members \
                 where workspace_id = $1 and user_id = $2",
                &[&ws, &newcomer.id],
            )
            .await
            .unwrap();
        assert_eq!(row.get::<_, String>(0), role);
        assert_eq!(row.get::<_, DateTime<Utc>>(1), created_at);

        // The newcomer now sees the workspace, with that role.
        let res = Req::get("/workspaces")
            .as_user(&newcomer)
            .send(&routes::LIST_WORKSPACES)
            .await;
        let data = res.assert_ok(200);
        assert_eq!(ids(data), vec![ws]);
        assert_eq!(data[0]["role"], role);
    }
    assert_eq!(members(ws).await.len(), 4);
}

#[tokio::test]
async fn an_added_admin_can_add_members_too() {
    let admin = user().await;
    let second = user().await;
    let third = user().await;
    let ws = workspace(&admin).await;
    add_req(ws, json!({ "userId": second.id, "role": "admin" }))
        .as_user(&admin)
        .send(&routes::ADD_WORKSPACE_MEMBER)
        .await
        .assert_ok(201);
    add_req(ws, json!({ "userId": third.id, "role": "member" }))
        .as_user(&second)
        .send(&routes::ADD_WORKSPACE_MEMBER)
        .await
        .assert_ok(201);
    assert_eq!(role_of(ws, &third).await.as_deref(), Some("member"));
}

#[tokio::test]
async fn adding_an_existing_member_is_a_clean_409_and_changes_nothing() {
    let admin = user().await;
    let editor = user().await;
    let ws = workspace(&admin).await;
    join(ws, &editor, "editor").await;
    let before = members(ws).await;

    // Same user again, even with another role: no upsert, no silent promotion.
    for (who, role) in [(&editor, "admin"), (&editor, "editor"), (&admin, "member")] {
        let res = add_req(ws, json!({ "userId": who.id, "role": role }))
            .as_user(&admin)
            .send(&routes::ADD_WORKSPACE_MEMBER)
            .await;
        res.assert_error(409, "CONFLICT");
        assert_no_internals(&res);
    }
    assert_eq!(members(ws).await, before);
    assert_eq!(role_of(ws, &editor).await.as_deref(), Some("editor"));
}

#[tokio::test]
async fn adding_a_user_that_does_not_exist_is_422_on_user_id() {
    let admin = user().await;
    let ws = workspace(&admin).await;
    let ghost = Uuid::new_v4();
    let res = add_req(ws, json!({ "userId": ghost, "role": "member" }))
        .as_user(&admin)
        .send(&routes::ADD_WORKSPACE_MEMBER)
        .await;
    res.assert_invalid("userId");
    assert_no_internals(&res);
    assert!(!res.body.to_string().contains(&ghost.to_string()));
    assert_eq!(members(ws).await, vec![(admin.id, "admin".to_owned())]);
    let ghost_rows: i64 = db()
        .await
        .query_one(
            "select count(*) from public.workspace_members where user_id = $1",
            &[&ghost],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(ghost_rows, 0);
}

#[tokio::test]
async fn add_refuses_invalid_bodies_and_adds_nothing() {
    let admin = user().await;
    let newcomer = user().await;
    let ws = workspace(&admin).await;
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "userId not a uuid",
            json!({ "userId": "not-a-uuid", "role": "member" }),
            "userId",
        ),
        (
            "userId a number",
            json!({ "userId": 7, "role": "member" }),
            "userId",
        ),
        ("userId missing", json!({ "role": "member" }), "userId"),
        (
            "userId null",
            json!({ "userId": null, "role": "member" }),
            "userId",
        ),
        (
            "role owner",
            json!({ "userId": newcomer.id, "role": "owner" }),
            "role",
        ),
        (
            "role capitalised",
            json!({ "userId": newcomer.id, "role": "Admin" }),
            "role",
        ),
        (
            "role empty",
            json!({ "userId": newcomer.id, "role": "" }),
            "role",
        ),
        ("role missing", json!({ "userId": newcomer.id }), "role"),
    ];
    for (case, body, field) in cases {
        let res = add_req(ws, body)
            .as_user(&admin)
            .send(&routes::ADD_WORKSPACE_MEMBER)
            .await;
        assert_eq!(res.status, 422, "{case}: {}", res.body);
        res.assert_invalid(field);
        assert_no_internals(&res);
        // The refused value is not echoed back.
        assert!(
            !res.body.to_string().contains("owner"),
            "{case}: {}",
            res.body
        );
    }
    // Unknown fields (the workspace comes from the path, never from the body).
    for (body, field) in [
        (
            json!({ "userId": newcomer.id, "role": "member", "workspaceId": Uuid::new_v4() }),
            "workspaceId",
        ),
        (
            json!({ "user_id": newcomer.id, "role": "member" }),
            "user_id",
        ),
    ] {
        let res = add_req(ws, body)
            .as_user(&admin)
            .send(&routes::ADD_WORKSPACE_MEMBER)
            .await;
        assert_mentions_field(&res, field);
        assert_no_internals(&res);
    }
    assert_eq!(memberships_of(&newcomer).await, 0);
    assert_eq!(members(ws).await, vec![(admin.id, "admin".to_owned())]);
}

#[tokio::test]
async fn add_refuses_malformed_json_wrong_type_oversized_body_and_bad_path_ids() {
    let admin = user().await;
    let newcomer = user().await;
    let ws = workspace(&admin).await;
    let valid = json!({ "userId": newcomer.id, "role": "member" }).to_string();

    for raw in ["{", "{\"userId\":", "nope", ""] {
        let res = Req::post(&format!("/workspaces/{ws}/members"))
            .param("id", ws)
            .raw_body("application/json", raw)
            .as_user(&admin)
            .send(&routes::ADD_WORKSPACE_MEMBER)
            .await;
        res.assert_error(400, "BAD_REQUEST");
    }

    let res = Req::post(&format!("/workspaces/{ws}/members"))
        .param("id", ws)
        .raw_body("text/plain", &valid)
        .as_user(&admin)
        .send(&routes::ADD_WORKSPACE_MEMBER)
        .await;
    res.assert_error(415, "UNSUPPORTED_MEDIA_TYPE");

    let res = add_req(
        ws,
        json!({ "userId": newcomer.id, "role": "member", "pad": "x".repeat(65 * 1024) }),
    )
    .as_user(&admin)
    .send(&routes::ADD_WORKSPACE_MEMBER)
    .await;
    res.assert_error(413, "PAYLOAD_TOO_LARGE");

    for bad in [
        "not-a-uuid",
        "1",
        "",
        "00000000-0000-0000-0000-00000000000g",
    ] {
        let res = Req::post("/workspaces/x/members")
            .param("id", bad)
            .raw_body("application/json", &valid)
            .as_user(&admin)
            .send(&routes::ADD_WORKSPACE_MEMBER)
            .await;
        res.assert_error(404, "NOT_FOUND");
    }

    assert_eq!(memberships_of(&newcomer).await, 0);
    assert_eq!(members(ws).await, vec![(admin.id, "admin".to_owned())]);
}

#[tokio::test]
async fn admin_of_another_workspace_cannot_add_members_404() {
    let admin_a = user().await;
    let admin_b = user().await;
    let newcomer = user().await;
    let _ws_a = workspace(&admin_a).await;
    let ws_b = workspace(&admin_b).await;
    let before = members(ws_b).await;

    for who in [&newcomer, &admin_a] {
        let res = add_req(ws_b, json!({ "userId": who.id, "role": "admin" }))
            .as_user(&admin_a)
            .send(&routes::ADD_WORKSPACE_MEMBER)
            .await;
        res.assert_error(404, "NOT_FOUND");
    }
    // A workspace that does not exist at all answers the same.
    let res = add_req(
        Uuid::new_v4(),
        json!({ "userId": newcomer.id, "role": "member" }),
    )
    .as_user(&admin_a)
    .send(&routes::ADD_WORKSPACE_MEMBER)
    .await;
    res.assert_error(404, "NOT_FOUND");

    assert_eq!(members(ws_b).await, before);
    assert_eq!(memberships_of(&newcomer).await, 0);
    assert_eq!(role_of(ws_b, &admin_a).await, None);
}

#[tokio::test]
async fn editors_and_members_cannot_add_members_403() {
    let admin = user().await;
    let editor = user().await;
    let member = user().await;
    let newcomer = user().await;
    let ws = workspace(&admin).await;
    join(ws, &editor, "editor").await;
    join(ws, &member, "member").await;
    let before = members(ws).await;

    for caller in [&editor, &member] {
        for role in ["member", "admin"] {
            let res = add_req(ws, json!({ "userId": newcomer.id, "role": role }))
                .as_user(caller)
                .send(&routes::ADD_WORKSPACE_MEMBER)
                .await;
            res.assert_error(403, "FORBIDDEN");
        }
    }
    assert_eq!(members(ws).await, before);
    assert_eq!(memberships_of(&newcomer).await, 0);
}

// ---------------------------------------------------------------------------------------
// DELETE /workspaces/{id}/members/{userId}
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn admin_removes_a_member_and_an_editor() {
    let admin = user().await;
    let editor = user().await;
    let member = user().await;
    let ws = workspace(&admin).await;
    join(ws, &editor, "editor").await;
    join(ws, &member, "member").await;

    let res = remove_req(ws, member.id)
        .as_user(&admin)
        .send(&routes::REMOVE_WORKSPACE_MEMBER)
        .await;
    res.assert_ok(204);
    assert_eq!(res.body, Value::Null, "204 has no body");
    assert_eq!(role_of(ws, &member).await, None);
    assert_eq!(role_of(ws, &editor).await.as_deref(), Some("editor"));

    let res = remove_req(ws, editor.id)
        .as_user(&admin)
        .send(&routes::REMOVE_WORKSPACE_MEMBER)
        .await;
    res.assert_ok(204);
    assert_eq!(members(ws).await, vec![(admin.id, "admin".to_owned())]);

    // The removed member no longer sees the workspace.
    let res = Req::get("/workspaces")
        .as_user(&member)
        .send(&routes::LIST_WORKSPACES)
        .await;
    assert_eq!(res.assert_ok(200), &json!([]));

    // Removing them again: they are not a member any more.
    let res = remove_req(ws, member.id)
        .as_user(&admin)
        .send(&routes::REMOVE_WORKSPACE_MEMBER)
        .await;
    res.assert_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn removing_the_last_admin_is_a_clean_409_and_the_admin_stays() {
    let admin = user().await;
    let editor = user().await;
    let ws = workspace(&admin).await;
    join(ws, &editor, "editor").await;

    let res = remove_req(ws, admin.id)
        .as_user(&admin)
        .send(&routes::REMOVE_WORKSPACE_MEMBER)
        .await;
    res.assert_error(409, "CONFLICT");
    assert_no_internals(&res);
    assert_eq!(role_of(ws, &admin).await.as_deref(), Some("admin"));
    assert_eq!(role_of(ws, &editor).await.as_deref(), Some("editor"));
}

#[tokio::test]
async fn an_admin_can_be_removed_while_another_admin_remains() {
    let first = user().await;
    let second = user().await;
    let third = user().await;
    let ws = workspace(&first).await;
    join(ws, &second, "admin").await;
    join(ws, &third, "admin").await;

    // Removing another admin.
    remove_req(ws, third.id)
        .as_user(&first)
        .send(&routes::REMOVE_WORKSPACE_MEMBER)
        .await
        .assert_ok(204);
    assert_eq!(role_of(ws, &third).await, None);

    // Leaving oneself while another admin remains.
    remove_req(ws, first.id)
        .as_user(&first)
        .send(&routes::REMOVE_WORKSPACE_MEMBER)
        .await
        .assert_ok(204);
    assert_eq!(members(ws).await, vec![(second.id, "admin".to_owned())]);

    // Now `second` is the last admin and cannot leave.
    let res = remove_req(ws, second.id)
        .as_user(&second)
        .send(&routes::REMOVE_WORKSPACE_MEMBER)
        .await;
    res.assert_error(409, "CONFLICT");
    assert_no_internals(&res);
    assert_eq!(members(ws).await, vec![(second.id, "admin".to_owned())]);

    // And `first`, no longer a member, cannot touch the workspace.
    let res = remove_req(ws, second.id)
        .as_user(&first)
        .send(&routes::REMOVE_WORKSPACE_MEMBER)
        .await;
    res.assert_error(404, "NOT_FOUND");
    assert_eq!(members(ws).await, vec![(second.id, "admin".to_owned())]);
}

#[tokio::test]
async fn removing_someone_who_is_not_a_member_is_404() {
    let admin = user().await;
    let outsider_admin = user().await;
    let outsider = user().await;
    let ws = workspace(&admin).await;
    let elsewhere = workspace(&outsider_admin).await;
    join(elsewhere, &outsider, "member").await;
    let before_here = members(ws).await;
    let before_there = members(elsewhere).await;

    // A member of another workspace, that workspace's admin, a user with no workspace,
    // and an id that is nobody: all "not a member here".
    let nobody = user().await;
    for id in [outsider.id, outsider_admin.id, nobody.id, Uuid::new_v4()] {
        let res = remove_req(ws, id)
            .as_user(&admin)
            .send(&routes::REMOVE_WORKSPACE_MEMBER)
            .await;
        res.assert_error(404, "NOT_FOUND");
        assert_no_internals(&res);
    }
    assert_eq!(members(ws).await, before_here);
    assert_eq!(members(elsewhere).await, before_there);
}

#[tokio::test]
async fn admin_of_another_workspace_cannot_remove_members_404() {
    let admin_a = user().await;
    let admin_b = user().await;
    let member_b = user().await;
    let _ws_a = workspace(&admin_a).await;
    let ws_b = workspace(&admin_b).await;
    join(ws_b, &member_b, "member").await;
    let before = members(ws_b).await;

    for target in [&member_b, &admin_b] {
        let res = remove_req(ws_b, target.id)
            .as_user(&admin_a)
            .send(&routes::REMOVE_WORKSPACE_MEMBER)
            .await;
        res.assert_error(404, "NOT_FOUND");
    }
    assert_eq!(members(ws_b).await, before);
}

#[tokio::test]
async fn editors_and_members_cannot_remove_members_403() {
    let admin = user().await;
    let editor = user().await;
    let member = user().await;
    let other_member = user().await;
    let ws = workspace(&admin).await;
    join(ws, &editor, "editor").await;
    join(ws, &member, "member").await;
    join(ws, &other_member, "member").await;
    let before = members(ws).await;

    for caller in [&editor, &member] {
        for target in [&admin, &other_member, &editor, &member] {
            let res = remove_req(ws, target.id)
                .as_user(caller)
                .send(&routes::REMOVE_WORKSPACE_MEMBER)
                .await;
            res.assert_error(403, "FORBIDDEN");
        }
    }
    assert_eq!(members(ws).await, before);
}

#[tokio::test]
async fn remove_with_a_non_uuid_path_id_is_404() {
    let admin = user().await;
    let member = user().await;
    let ws = workspace(&admin).await;
    join(ws, &member, "member").await;
    let before = members(ws).await;

    for (id, user_id) in [
        ("not-a-uuid".to_owned(), member.id.to_string()),
        ("1".to_owned(), member.id.to_string()),
        (ws.to_string(), "not-a-uuid".to_owned()),
        (ws.to_string(), "2".to_owned()),
        (ws.to_string(), format!("{}x", member.id)),
    ] {
        let res = remove_req(&id, &user_id)
            .as_user(&admin)
            .send(&routes::REMOVE_WORKSPACE_MEMBER)
            .await;
        res.assert_error(404, "NOT_FOUND");
    }
    assert_eq!(members(ws).await, before);
}

// ---------------------------------------------------------------------------------------
// Every route: credentials and an unreachable PostgREST
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn every_route_refuses_missing_expired_and_tampered_tokens_401() {
    let admin = user().await;
    let member = user().await;
    let newcomer = user().await;
    let ws = workspace(&admin).await;
    join(ws, &member, "member").await;
    let before = members(ws).await;

    let requests = || {
        vec![
            (
                routes::CREATE_WORKSPACE,
                create_req(json!({ "name": "Should not exist" })),
            ),
            (routes::LIST_WORKSPACES, Req::get("/workspaces")),
            (
                routes::ADD_WORKSPACE_MEMBER,
                add_req(ws, json!({ "userId": newcomer.id, "role": "admin" })),
            ),
            (routes::REMOVE_WORKSPACE_MEMBER, remove_req(ws, member.id)),
        ]
    };

    for (kind, token) in [
        ("none", None),
        ("expired", Some(expired_token(&admin))),
        ("tampered", Some(tampered_token(&admin))),
        ("garbage", Some("not.a.jwt".to_owned())),
    ] {
        for (route, req) in requests() {
            let req = match &token {
                Some(t) => req.bearer(t),
                None => req,
            };
            let res = req.send(&route).await;
            assert_eq!(res.status, 401, "{kind} {}: {}", route.function, res.body);
            res.assert_error(401, "UNAUTHORIZED");
            let challenge = res
                .header("www-authenticate")
                .unwrap_or_else(|| panic!("{kind} {}: no www-authenticate", route.function));
            assert!(challenge.starts_with("Bearer"), "{challenge}");
            if token.is_some() {
                assert!(challenge.contains("invalid_token"), "{kind}: {challenge}");
            } else {
                assert_eq!(challenge, "Bearer", "no error code without credentials");
            }
            assert_no_internals(&res);
        }
    }

    assert_eq!(workspaces_created_by(&admin).await, 1);
    assert_eq!(members(ws).await, before);
    assert_eq!(memberships_of(&newcomer).await, 0);
}

#[tokio::test]
async fn every_route_answers_503_cleanly_when_postgrest_is_unreachable() {
    let app = app_with_unreachable_postgrest();
    let me = user().await;
    let ws = workspace(&me).await;
    let newcomer = user().await;
    let requests = vec![
        (
            routes::CREATE_WORKSPACE,
            create_req(json!({ "name": "Offline" })),
        ),
        (routes::LIST_WORKSPACES, Req::get("/workspaces")),
        (
            routes::ADD_WORKSPACE_MEMBER,
            add_req(ws, json!({ "userId": newcomer.id, "role": "member" })),
        ),
        (routes::REMOVE_WORKSPACE_MEMBER, remove_req(ws, me.id)),
    ];
    for (route, req) in requests {
        let res = send_with(&app, &route, req.as_user(&me).build()).await;
        assert_eq!(res.status, 503, "{}: {}", route.function, res.body);
        res.assert_error(503, "SERVICE_UNAVAILABLE");
        assert_no_internals(&res);
    }
    // The routes the harness knows as "every user route" with placeholder bodies.
    for route in user_routes().filter(|r| r.path.starts_with("/workspaces")) {
        let res = send_with(&app, route, sample_request(route).as_user(&me).build()).await;
        res.assert_error(503, "SERVICE_UNAVAILABLE");
        assert_no_internals(&res);
    }
    assert_eq!(workspaces_created_by(&me).await, 1);
    assert_eq!(members(ws).await, vec![(me.id, "admin".to_owned())]);
    assert_eq!(memberships_of(&newcomer).await, 0);
}

#[tokio::test]
async fn wrong_methods_are_405_with_allow() {
    let me = user().await;
    let ws = workspace(&me).await;
    let members_path = format!("/workspaces/{ws}/members");
    let member_path = format!("/workspaces/{ws}/members/{}", me.id);
    for (route, method, path, allow) in [
        (
            routes::CREATE_WORKSPACE,
            http::Method::PUT,
            "/workspaces",
            "POST",
        ),
        (
            routes::LIST_WORKSPACES,
            http::Method::DELETE,
            "/workspaces",
            "GET",
        ),
        (
            routes::ADD_WORKSPACE_MEMBER,
            http::Method::GET,
            members_path.as_str(),
            "POST",
        ),
        (
            routes::REMOVE_WORKSPACE_MEMBER,
            http::Method::POST,
            member_path.as_str(),
            "DELETE",
        ),
    ] {
        let res = Req::new(method, path)
            .param("id", ws)
            .param("userId", me.id)
            .as_user(&me)
            .send(&route)
            .await;
        res.assert_error(405, "METHOD_NOT_ALLOWED");
        assert_eq!(res.header("allow"), Some(allow));
    }
    assert_eq!(workspaces_created_by(&me).await, 1);
    assert_eq!(members(ws).await, vec![(me.id, "admin".to_owned())]);
}
