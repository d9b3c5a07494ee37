//! Application roles and permissions (admin, editor, user).
//!
//! Three layers are checked here:
//! - the functions' fast deny from the token's `user_role` claim (403, nothing changed);
//! - the routes only admins reach: GET/PUT /settings and GET /audit-log;
//! - the database on its own: straight to PostgREST with a user's token (RLS, column
//!   privileges and the publish guard), and an admin demoted in `user_roles` whose token
//!   still says admin (the claim lets them past the function, the database does not).
//!
//! Settings are one global set: the tests that change them, or assert that they did not
//! change, take `SETTINGS_LOCK` so that they do not see each other's writes.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use functions::routes;
use integration_tests::*;
use serde_json::{json, Value};
use shared::auth::permissions::ROLE_PERMISSIONS;
use uuid::Uuid;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

#[track_caller]
fn assert_forbidden(res: &Res, what: &str) {
    assert_eq!(res.status, 403, "{what}: {}", res.body);
    assert_err(res, 403, "FORBIDDEN");
}

/// The settings rows as stored: (key, value, updated_by, updated_at).
type SettingsRows = Vec<(String, Value, Option<Uuid>, DateTime<Utc>)>;

async fn settings_rows() -> SettingsRows {
    db().await
        .query(
            "select key, value, updated_by, updated_at from public.app_settings order by key",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

/// The four settings as the API shows them (camelCase keys), from the database.
async fn stored_settings() -> Value {
    let mut out = serde_json::Map::new();
    for (key, value, _, _) in settings_rows().await {
        let name = match key.as_str() {
            "site_name" => "siteName",
            "support_email" => "supportEmail",
            "maintenance_mode" => "maintenanceMode",
            "signups_enabled" => "signupsEnabled",
            _ => continue,
        };
        out.insert(name.to_owned(), value);
    }
    Value::Object(out)
}

/// Puts the settings back as the superuser (no audit rows: no user made the change).
async fn restore_settings(rows: &SettingsRows) {
    let db = db().await;
    for (key, value, updated_by, _) in rows {
        db.execute(
            "update public.app_settings set value = $2, updated_by = $3 where key = $1",
            &[key, value, updated_by],
        )
        .await
        .unwrap();
    }
}

/// A valid PUT /settings body, different from what is stored. The two switches stay
/// off and on: they take effect at once for every test running beside this one
/// (tests/tests/site_switches.rs flips them, alone).
fn new_settings(_current: &Value) -> Value {
    let tag = &Uuid::new_v4().simple().to_string()[..8];
    json!({
        "siteName": format!("Site {tag}"),
        "supportEmail": format!("help-{tag}@example.org"),
        "maintenanceMode": false,
        "signupsEnabled": true,
    })
}

/// audit_log rows by this actor with this action.
async fn audit_actions(actor: &TestUser, action: &str) -> Vec<Option<String>> {
    audit_rows("actor_id = $1", &actor.id)
        .await
        .into_iter()
        .filter(|(a, _, _)| a == action)
        .map(|(_, target, _)| target)
        .collect()
}

async fn role_of(user: Uuid) -> Option<String> {
    db().await
        .query_opt(
            "select role::text from public.user_roles where user_id = $1",
            &[&user],
        )
        .await
        .unwrap()
        .map(|r| r.get(0))
}

async fn auth_user_exists(id: Uuid) -> bool {
    db().await
        .query_one(
            "select exists(select 1 from auth.users where id = $1)",
            &[&id],
        )
        .await
        .unwrap()
        .get(0)
}

async fn auth_user_with_email(email: &str) -> bool {
    db().await
        .query_one(
            "select exists(select 1 from auth.users where lower(email) = lower($1))",
            &[&email],
        )
        .await
        .unwrap()
        .get(0)
}

/// (published, published_at, title, body, author_id) of a post, or None if gone.
type PostState = (bool, Option<DateTime<Utc>>, String, String, Uuid);

async fn post_state(id: Uuid) -> Option<PostState> {
    db().await
        .query_opt(
            "select published, published_at, title, body, author_id from public.posts where id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
}

async fn count_posts_by(author: Uuid) -> i64 {
    db().await
        .query_one(
            "select count(*) from public.posts where author_id = $1",
            &[&author],
        )
        .await
        .unwrap()
        .get(0)
}

/// Demotes a user in `user_roles` (as the superuser); their token keeps its old claim.
async fn demote(user: &TestUser, to: &str) {
    db().await
        .execute(
            "update public.user_roles set role = $2::text::public.app_role where user_id = $1",
            &[&user.id, &to],
        )
        .await
        .unwrap();
    assert_eq!(role_of(user.id).await.as_deref(), Some(to));
}

/// Calls PostgREST directly, as a client holding `token` would (no function in between).
async fn rest(
    method: reqwest::Method,
    path_and_query: &str,
    token: &str,
    prefer: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!(
        "{}/{}",
        stack().rest_url.trim_end_matches('/'),
        path_and_query
    );
    let mut req = reqwest::Client::new()
        .request(method, url)
        .header("authorization", format!("Bearer {token}"))
        .header("apikey", "anything")
        .header("prefer", prefer);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.expect("PostgREST answers");
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    let body = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body)
}

const RETURN: &str = "return=representation";

/// PostgREST refused the write outright, or it matched no row.
#[track_caller]
fn assert_refused_or_no_rows(what: &str, status: u16, body: &Value) {
    assert!(
        status == 401 || status == 403 || (status == 200 && body == &json!([])),
        "{what} went through: {status} {body}"
    );
}

#[track_caller]
fn assert_refused(what: &str, status: u16, body: &Value) {
    assert!(
        status == 401 || status == 403,
        "{what} was not refused: {status} {body}"
    );
}

// ---------------------------------------------------------------------------------------
// The permission table: Rust and SQL agree
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn the_rust_permission_table_equals_the_sql_one() {
    let sql: BTreeSet<(String, String)> = db()
        .await
        .query(
            "select role::text, permission::text from public.role_permissions",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut rust = BTreeSet::new();
    for (role, permissions) in ROLE_PERMISSIONS {
        for permission in *permissions {
            assert!(
                rust.insert((role.as_str().to_owned(), permission.as_str().to_owned())),
                "{} listed twice for {}",
                permission.as_str(),
                role.as_str()
            );
        }
    }
    assert_eq!(
        rust, sql,
        "shared::auth::permissions::ROLE_PERMISSIONS and public.role_permissions differ"
    );

    // The enums agree too: every role and every permission has the same name on both
    // sides (the serde names are the ones tokens and bodies use).
    let db = db().await;
    let sql_roles: BTreeSet<String> = db
        .query(
            "select unnest(enum_range(null::public.app_role))::text",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let rust_roles: BTreeSet<String> = ROLE_PERMISSIONS
        .iter()
        .map(|(role, _)| {
            let serde_name = serde_json::to_value(role).unwrap();
            assert_eq!(serde_name, json!(role.as_str()));
            role.as_str().to_owned()
        })
        .collect();
    assert_eq!(rust_roles, sql_roles);

    let sql_permissions: BTreeSet<String> = db
        .query(
            "select unnest(enum_range(null::public.app_permission))::text",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let rust_permissions: BTreeSet<String> = ROLE_PERMISSIONS
        .iter()
        .flat_map(|(_, permissions)| permissions.iter())
        .map(|p| {
            assert_eq!(serde_json::to_value(p).unwrap(), json!(p.as_str()));
            p.as_str().to_owned()
        })
        .collect();
    assert_eq!(rust_permissions, sql_permissions);
}

// ---------------------------------------------------------------------------------------
// Function level: the claim's fast deny
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_plain_user_is_403_on_every_admin_or_editor_route_and_nothing_changes() {
    let _guard = SETTINGS_LOCK.lock().await;
    let caller = user_with_role("user").await;
    let victim = user_with_role("user").await;
    let draft = post(&caller, "My draft", false).await;
    let settings_before = settings_rows().await;
    let new_email = format!("created-{}@example.test", Uuid::new_v4());

    let res = Req::get("/users")
        .as_user(&caller)
        .send(&routes::LIST_USERS)
        .await;
    assert_forbidden(&res, "GET /users");

    let res = Req::post("/users")
        .json(json!({ "email": new_email, "name": "New Person", "role": "admin" }))
        .as_user(&caller)
        .send(&routes::CREATE_USER)
        .await;
    assert_forbidden(&res, "POST /users");

    let res = Req::delete("/users/{id}")
        .param("id", victim.id)
        .as_user(&caller)
        .send(&routes::DELETE_USER)
        .await;
    assert_forbidden(&res, "DELETE /users/{id}");

    let res = Req::get("/settings")
        .as_user(&caller)
        .send(&routes::GET_SETTINGS)
        .await;
    assert_forbidden(&res, "GET /settings");
    assert!(!res.body.to_string().contains("siteName"));

    let res = Req::new(http::Method::PUT, "/settings")
        .json(new_settings(&stored_settings().await))
        .as_user(&caller)
        .send(&routes::UPDATE_SETTINGS)
        .await;
    assert_forbidden(&res, "PUT /settings");

    let res = Req::get("/audit-log")
        .as_user(&caller)
        .send(&routes::LIST_AUDIT_LOG)
        .await;
    assert_forbidden(&res, "GET /audit-log");

    let res = Req::post("/posts/{id}/publish")
        .param("id", draft)
        .as_user(&caller)
        .send(&routes::PUBLISH_POST)
        .await;
    assert_forbidden(&res, "POST /posts/{id}/publish");

    // Nothing changed.
    assert!(
        !auth_user_with_email(&new_email).await,
        "a user was created"
    );
    assert!(auth_user_exists(victim.id).await, "the victim was deleted");
    assert_eq!(role_of(victim.id).await.as_deref(), Some("user"));
    assert_eq!(settings_rows().await, settings_before);
    assert!(audit_actions(&caller, "SETTINGS_CHANGED").await.is_empty());
    let (published, published_at, ..) = post_state(draft).await.unwrap();
    assert!(
        !published && published_at.is_none(),
        "the draft was published"
    );
}

#[tokio::test]
async fn an_editor_is_403_on_admin_only_routes_and_nothing_changes() {
    let _guard = SETTINGS_LOCK.lock().await;
    let editor = user_with_role("editor").await;
    let victim = user_with_role("user").await;
    let settings_before = settings_rows().await;
    let new_email = format!("created-{}@example.test", Uuid::new_v4());

    let res = Req::get("/settings")
        .as_user(&editor)
        .send(&routes::GET_SETTINGS)
        .await;
    assert_forbidden(&res, "GET /settings");

    let res = Req::new(http::Method::PUT, "/settings")
        .json(new_settings(&stored_settings().await))
        .as_user(&editor)
        .send(&routes::UPDATE_SETTINGS)
        .await;
    assert_forbidden(&res, "PUT /settings");

    let res = Req::get("/audit-log")
        .as_user(&editor)
        .send(&routes::LIST_AUDIT_LOG)
        .await;
    assert_forbidden(&res, "GET /audit-log");

    let res = Req::delete("/users/{id}")
        .param("id", victim.id)
        .as_user(&editor)
        .send(&routes::DELETE_USER)
        .await;
    assert_forbidden(&res, "DELETE /users/{id}");

    let res = Req::post("/users")
        .json(json!({ "email": new_email, "name": "New Person", "role": "editor" }))
        .as_user(&editor)
        .send(&routes::CREATE_USER)
        .await;
    assert_forbidden(&res, "POST /users");

    assert!(
        !auth_user_with_email(&new_email).await,
        "a user was created"
    );
    assert!(auth_user_exists(victim.id).await, "the victim was deleted");
    assert_eq!(settings_rows().await, settings_before);
    assert!(audit_actions(&editor, "SETTINGS_CHANGED").await.is_empty());

    // What an editor may do (users.read) still works: the 403s above were the role.
    let res = Req::get("/users")
        .as_user(&editor)
        .send(&routes::LIST_USERS)
        .await;
    res.assert_ok(200);
}

// ---------------------------------------------------------------------------------------
// GET/PUT /settings
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn admin_get_settings_is_200_with_the_four_settings() {
    let _guard = SETTINGS_LOCK.lock().await;
    let admin = user_with_role("admin").await;
    let res = Req::get("/settings")
        .as_user(&admin)
        .send(&routes::GET_SETTINGS)
        .await;
    let data = res.assert_ok(200).clone();
    let mut keys: Vec<&str> = data
        .as_object()
        .expect("settings object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "maintenanceMode",
            "signupsEnabled",
            "siteName",
            "supportEmail"
        ],
        "body: {data}"
    );
    assert!(data["siteName"].is_string());
    assert!(data["supportEmail"].is_string());
    assert!(data["maintenanceMode"].is_boolean());
    assert!(data["signupsEnabled"].is_boolean());
    assert_eq!(data, stored_settings().await);
}

#[tokio::test]
async fn admin_put_settings_is_200_updates_the_rows_and_is_audited() {
    let _guard = SETTINGS_LOCK.lock().await;
    let admin = user_with_role("admin").await;
    let before = settings_rows().await;
    let wanted = new_settings(&stored_settings().await);

    let res = Req::new(http::Method::PUT, "/settings")
        .json(wanted.clone())
        .header("user-agent", "rbac-test")
        .as_user(&admin)
        .send(&routes::UPDATE_SETTINGS)
        .await;
    let data = res.assert_ok(200).clone();
    let after_rows = settings_rows().await;
    let after = stored_settings().await;
    restore_settings(&before).await;

    assert_eq!(data, wanted);
    assert_eq!(after, wanted, "the database holds the new settings");
    for (key, _, updated_by, _) in &after_rows {
        assert_eq!(*updated_by, Some(admin.id), "{key}: updated_by");
    }

    // The database recorded one SETTINGS_CHANGED row per changed setting, the admin as
    // actor (the switches stay as they were here; site_switches.rs changes them).
    let mut targets: Vec<String> = audit_actions(&admin, "SETTINGS_CHANGED")
        .await
        .into_iter()
        .map(|t| t.expect("target"))
        .collect();
    targets.sort();
    assert_eq!(targets, ["setting:site_name", "setting:support_email"]);
    let metadata: Value = db()
        .await
        .query_one(
            "select metadata from public.audit_log where actor_id = $1 and target = 'setting:site_name'",
            &[&admin.id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(metadata["to"], wanted["siteName"], "{metadata}");
}

#[tokio::test]
async fn admin_put_settings_with_an_invalid_body_is_422_naming_the_field_and_changes_nothing() {
    let _guard = SETTINGS_LOCK.lock().await;
    let admin = user_with_role("admin").await;
    let before = settings_rows().await;
    let valid = new_settings(&stored_settings().await);

    let with = |field: &str, value: Value| {
        let mut body = valid.clone();
        body[field] = value;
        body
    };
    let without = |field: &str| {
        let mut body = valid.clone();
        body.as_object_mut().unwrap().remove(field);
        body
    };
    let cases: Vec<(Value, &str)> = vec![
        (without("siteName"), "siteName"),
        (without("supportEmail"), "supportEmail"),
        (without("maintenanceMode"), "maintenanceMode"),
        (without("signupsEnabled"), "signupsEnabled"),
        (with("theme", json!("dark")), "theme"),
        (with("site_name", json!("Snake")), "site_name"),
        (with("supportEmail", json!("not-an-email")), "supportEmail"),
        (with("supportEmail", json!("")), "supportEmail"),
        (with("siteName", json!("")), "siteName"),
        (with("siteName", json!("   ")), "siteName"),
        (with("siteName", json!("x".repeat(101))), "siteName"),
        (with("siteName", json!("bell\u{7}")), "siteName"),
        (with("maintenanceMode", json!("yes")), "maintenanceMode"),
        (with("signupsEnabled", Value::Null), "signupsEnabled"),
    ];
    for (body, field) in cases {
        let res = Req::new(http::Method::PUT, "/settings")
            .json(body.clone())
            .as_user(&admin)
            .send(&routes::UPDATE_SETTINGS)
            .await;
        assert_eq!(res.status, 422, "{body} -> {}", res.body);
        res.assert_invalid(field);
        assert_err(&res, 422, "VALIDATION_ERROR");
    }
    assert_eq!(settings_rows().await, before, "the settings changed");
    assert!(audit_actions(&admin, "SETTINGS_CHANGED").await.is_empty());
}

// ---------------------------------------------------------------------------------------
// GET /audit-log
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn admin_audit_log_is_paginated_newest_first_with_exactly_the_entry_fields() {
    let admin = user_with_role("admin").await;
    let actor = user_with_role("user").await;
    // Three entries dated in the future: the three newest whatever else is logged.
    let db = db().await;
    let mut ids = Vec::new();
    for i in 0..3i32 {
        let row = db
            .query_one(
                "insert into public.audit_log (actor_id, action, target, metadata, ip, user_agent, created_at, last_seen_at) \
                 values ($1, 'RBAC_TEST', $2, jsonb_build_object('n', $3::int), '203.0.113.7', 'rbac-test', \
                         now() + interval '1000 years' + make_interval(secs => $3), \
                         now() + interval '1000 years' + make_interval(secs => $3)) \
                 returning id",
                &[&actor.id, &format!("test:{i}"), &i],
            )
            .await
            .unwrap();
        ids.push(row.get::<_, Uuid>(0));
    }

    let page = |n: u32| {
        Req::get("/audit-log")
            .query("page", n)
            .query("pageSize", 2)
            .as_user(&admin)
    };
    let res = page(1).send(&routes::LIST_AUDIT_LOG).await;
    let first = res.assert_ok(200).clone();
    let pagination = res.body["pagination"].clone();
    let res = page(2).send(&routes::LIST_AUDIT_LOG).await;
    let second = res.assert_ok(200).clone();

    // Clean up before asserting: future-dated rows must not outlive the test.
    for id in &ids {
        db.execute("delete from public.audit_log where id = $1", &[id])
            .await
            .unwrap();
    }

    let first = first.as_array().expect("data array");
    let second = second.as_array().expect("data array");
    assert_eq!(first.len(), 2);
    assert_eq!(first[0]["id"], json!(ids[2]), "newest first");
    assert_eq!(first[1]["id"], json!(ids[1]));
    assert_eq!(second[0]["id"], json!(ids[0]));
    assert_eq!(pagination["page"], 1);
    assert_eq!(pagination["pageSize"], 2);
    let total = pagination["total"].as_u64().expect("total");
    assert!(total >= 3, "{pagination}");
    assert_eq!(pagination["totalPages"], json!(total.div_ceil(2)));

    let entry = &first[0];
    let mut keys: Vec<&str> = entry
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "action",
            "actorId",
            "createdAt",
            "id",
            "ip",
            "lastSeenAt",
            "metadata",
            "occurrences",
            "target",
            "userAgent"
        ],
        "entry: {entry}"
    );
    assert_eq!(entry["actorId"], json!(actor.id));
    assert_eq!(entry["action"], "RBAC_TEST");
    assert_eq!(entry["target"], "test:2");
    assert_eq!(entry["metadata"], json!({ "n": 2 }));
    assert_eq!(entry["ip"], "203.0.113.7");
    assert_eq!(entry["userAgent"], "rbac-test");
    assert_eq!(entry["occurrences"], 1);
    assert!(entry["createdAt"].is_string() && entry["lastSeenAt"].is_string());

    // The rest of a real page is newest first as well.
    let res = Req::get("/audit-log")
        .query("pageSize", 100)
        .as_user(&admin)
        .send(&routes::LIST_AUDIT_LOG)
        .await;
    let data = res.assert_ok(200).as_array().unwrap().clone();
    let created = |e: &Value| {
        DateTime::parse_from_rfc3339(e["createdAt"].as_str().unwrap())
            .unwrap()
            .with_timezone(&Utc)
    };
    for pair in data.windows(2) {
        assert!(created(&pair[0]) >= created(&pair[1]), "not newest first");
    }

    // Unknown parameters are refused.
    let res = Req::get("/audit-log")
        .query("action", "eq.SIGN_IN")
        .as_user(&admin)
        .send(&routes::LIST_AUDIT_LOG)
        .await;
    res.assert_invalid("action");
}

#[tokio::test]
async fn users_and_editors_cannot_read_the_audit_log() {
    for role in ["user", "editor"] {
        let who = user_with_role(role).await;
        let res = Req::get("/audit-log")
            .as_user(&who)
            .send(&routes::LIST_AUDIT_LOG)
            .await;
        assert_forbidden(&res, role);
    }
}

// ---------------------------------------------------------------------------------------
// The database alone: straight to PostgREST with a user's token
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn rls_refuses_a_user_changing_or_inserting_roles() {
    let caller = user_with_role("user").await;
    let other = user_with_role("user").await;

    // Promoting oneself: the column privilege exists (for admins), the policy refuses.
    let (status, body) = rest(
        reqwest::Method::PATCH,
        &format!("user_roles?user_id=eq.{}", caller.id),
        &caller.token,
        RETURN,
        Some(json!({ "role": "admin" })),
    )
    .await;
    assert_refused_or_no_rows("promoting oneself", status, &body);
    // Nor someone else.
    let (status, body) = rest(
        reqwest::Method::PATCH,
        &format!("user_roles?user_id=eq.{}", other.id),
        &caller.token,
        RETURN,
        Some(json!({ "role": "editor" })),
    )
    .await;
    assert_refused_or_no_rows("promoting another user", status, &body);
    assert_eq!(role_of(caller.id).await.as_deref(), Some("user"));
    assert_eq!(role_of(other.id).await.as_deref(), Some("user"));

    // Inserting a role row: no insert privilege at all. A user whose row is missing
    // cannot give themselves one.
    let orphan = user_with_role("user").await;
    db().await
        .execute(
            "delete from public.user_roles where user_id = $1",
            &[&orphan.id],
        )
        .await
        .unwrap();
    let (status, body) = rest(
        reqwest::Method::POST,
        "user_roles",
        &orphan.token,
        RETURN,
        Some(json!({ "user_id": orphan.id, "role": "admin" })),
    )
    .await;
    assert_refused("inserting a user_roles row", status, &body);
    assert_eq!(role_of(orphan.id).await, None);

    // Nor delete one's own row, nor read other people's.
    let (status, body) = rest(
        reqwest::Method::DELETE,
        &format!("user_roles?user_id=eq.{}", caller.id),
        &caller.token,
        RETURN,
        None,
    )
    .await;
    assert_refused_or_no_rows("deleting one's role", status, &body);
    assert_eq!(role_of(caller.id).await.as_deref(), Some("user"));
    let (status, body) = rest(
        reqwest::Method::GET,
        "user_roles?select=user_id,role",
        &caller.token,
        "",
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!([{ "user_id": caller.id, "role": "user" }]));

    // No audit row says a role changed.
    assert!(audit_actions(&caller, "ROLE_CHANGED").await.is_empty());
}

#[tokio::test]
async fn rls_refuses_a_user_inserting_a_published_or_foreign_post() {
    let caller = user_with_role("user").await;
    let other = user_with_role("user").await;
    for (what, body) in [
        (
            "published=true",
            json!({ "title": "Direct", "published": true }),
        ),
        (
            "another author_id",
            json!({ "title": "Direct", "author_id": other.id }),
        ),
        (
            "published_at",
            json!({ "title": "Direct", "published_at": "2000-01-01T00:00:00Z" }),
        ),
    ] {
        let (status, res) = rest(
            reqwest::Method::POST,
            "posts",
            &caller.token,
            RETURN,
            Some(body),
        )
        .await;
        assert_refused(what, status, &res);
    }
    assert_eq!(count_posts_by(caller.id).await, 0);
    assert_eq!(count_posts_by(other.id).await, 0);

    // A plain draft of one's own goes through: the refusals above were the rules.
    let (status, body) = rest(
        reqwest::Method::POST,
        "posts",
        &caller.token,
        RETURN,
        Some(json!({ "title": "Direct draft" })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body[0]["author_id"], json!(caller.id));
    assert_eq!(body[0]["published"], false);
    assert_eq!(count_posts_by(caller.id).await, 1);
}

#[tokio::test]
async fn rls_refuses_a_user_editing_another_users_post_or_publishing_their_own() {
    let caller = user_with_role("user").await;
    let other = user_with_role("user").await;
    let others_published = post(&other, "Theirs", true).await;
    let others_draft = post(&other, "Their draft", false).await;
    let own = post(&caller, "Mine", false).await;
    let before = (
        post_state(others_published).await.unwrap(),
        post_state(others_draft).await.unwrap(),
        post_state(own).await.unwrap(),
    );

    for id in [others_published, others_draft] {
        let (status, body) = rest(
            reqwest::Method::PATCH,
            &format!("posts?id=eq.{id}"),
            &caller.token,
            RETURN,
            Some(json!({ "title": "Defaced" })),
        )
        .await;
        assert_refused_or_no_rows("editing another user's post", status, &body);
        let (status, body) = rest(
            reqwest::Method::DELETE,
            &format!("posts?id=eq.{id}"),
            &caller.token,
            RETURN,
            None,
        )
        .await;
        assert_refused_or_no_rows("deleting another user's post", status, &body);
    }

    // Publishing one's own post: the publish guard refuses it.
    let (status, body) = rest(
        reqwest::Method::PATCH,
        &format!("posts?id=eq.{own}"),
        &caller.token,
        RETURN,
        Some(json!({ "published": true })),
    )
    .await;
    assert_refused("publishing one's own post", status, &body);
    // Moving it to another author or back-dating it: no column privilege.
    for change in [
        json!({ "author_id": other.id }),
        json!({ "published_at": "2000-01-01T00:00:00Z" }),
        json!({ "created_at": "2000-01-01T00:00:00Z" }),
    ] {
        let (status, body) = rest(
            reqwest::Method::PATCH,
            &format!("posts?id=eq.{own}"),
            &caller.token,
            RETURN,
            Some(change.clone()),
        )
        .await;
        assert_refused(&format!("{change}"), status, &body);
    }

    assert_eq!(
        (
            post_state(others_published).await.unwrap(),
            post_state(others_draft).await.unwrap(),
            post_state(own).await.unwrap(),
        ),
        before
    );

    // Editing one's own title works: the refusals above were the rules.
    let (status, body) = rest(
        reqwest::Method::PATCH,
        &format!("posts?id=eq.{own}"),
        &caller.token,
        RETURN,
        Some(json!({ "title": "Mine, edited" })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(post_state(own).await.unwrap().2, "Mine, edited");
}

#[tokio::test]
async fn rls_hides_settings_and_the_audit_log_from_a_user_and_refuses_their_writes() {
    let _guard = SETTINGS_LOCK.lock().await;
    let caller = user_with_role("user").await;
    let before = settings_rows().await;

    for table in ["app_settings", "audit_log"] {
        let (status, body) = rest(reqwest::Method::GET, table, &caller.token, "", None).await;
        assert_eq!(status, 200, "{table}: {body}");
        assert_eq!(body, json!([]), "{table} leaked rows to a user");
    }

    // An upsert of an existing key, a plain update, and a new key.
    let (status, body) = rest(
        reqwest::Method::POST,
        "app_settings?on_conflict=key",
        &caller.token,
        "return=representation,resolution=merge-duplicates",
        Some(json!([{ "key": "site_name", "value": "Hacked" }])),
    )
    .await;
    assert_refused("upserting app_settings", status, &body);
    let (status, body) = rest(
        reqwest::Method::PATCH,
        "app_settings?key=eq.site_name",
        &caller.token,
        RETURN,
        Some(json!({ "value": "Hacked" })),
    )
    .await;
    assert_refused_or_no_rows("updating app_settings", status, &body);
    let (status, body) = rest(
        reqwest::Method::POST,
        "app_settings",
        &caller.token,
        RETURN,
        Some(json!({ "key": "rbac_test_key", "value": true })),
    )
    .await;
    assert_refused("inserting app_settings", status, &body);

    assert_eq!(settings_rows().await, before);
    assert!(audit_actions(&caller, "SETTINGS_CHANGED").await.is_empty());
}

#[tokio::test]
async fn rls_refuses_a_user_changing_another_users_profile() {
    let caller = user_with_role("user").await;
    let other = user_with_role("user").await;
    let private = user_with_role("user").await;
    // One visible (public) profile and one private: neither may be changed.
    db().await
        .execute(
            "update public.profiles set public_profile = true, full_name = 'Original' where id = $1",
            &[&other.id],
        )
        .await
        .unwrap();
    let snapshot = |id: Uuid| async move {
        db().await
            .query_one(
                "select full_name, bio, website, public_profile, updated_at from public.profiles where id = $1",
                &[&id],
            )
            .await
            .map(|r| {
                (
                    r.get::<_, Option<String>>(0),
                    r.get::<_, Option<String>>(1),
                    r.get::<_, Option<String>>(2),
                    r.get::<_, bool>(3),
                    r.get::<_, DateTime<Utc>>(4),
                )
            })
            .unwrap()
    };
    let before = (snapshot(other.id).await, snapshot(private.id).await);

    for target in [other.id, private.id] {
        let (status, body) = rest(
            reqwest::Method::PATCH,
            &format!("profiles?id=eq.{target}"),
            &caller.token,
            RETURN,
            Some(json!({ "full_name": "Hacked", "bio": "pwned" })),
        )
        .await;
        assert_refused_or_no_rows("changing another user's profile", status, &body);
    }
    assert_eq!(
        (snapshot(other.id).await, snapshot(private.id).await),
        before
    );

    // One's own profile can be changed: the refusals above were the policy.
    let (status, body) = rest(
        reqwest::Method::PATCH,
        &format!("profiles?id=eq.{}", caller.id),
        &caller.token,
        RETURN,
        Some(json!({ "full_name": "Me" })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.as_array().map(Vec::len), Some(1), "{body}");
}

#[tokio::test]
async fn a_user_cannot_call_the_access_token_hook() {
    let caller = user_with_role("user").await;
    let event = json!({
        "event": {
            "user_id": caller.id,
            "claims": { "sub": caller.id, "role": "authenticated" },
            "authentication_method": "password",
        }
    });
    let (status, body) = rest(
        reqwest::Method::POST,
        "rpc/custom_access_token_hook",
        &caller.token,
        "",
        Some(event),
    )
    .await;
    assert!(
        matches!(status, 401 | 403 | 404),
        "the hook answered a user: {status} {body}"
    );
    assert!(
        !body.to_string().contains("user_role\":"),
        "the hook's output leaked: {body}"
    );
}

// ---------------------------------------------------------------------------------------
// Demotion: the token still says admin, user_roles says user
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_demoted_admin_gets_no_settings_data() {
    let _guard = SETTINGS_LOCK.lock().await;
    let admin = user_with_role("admin").await;
    demote(&admin, "user").await;
    let stored = stored_settings().await;

    let res = Req::get("/settings")
        .as_user(&admin)
        .send(&routes::GET_SETTINGS)
        .await;
    assert_ne!(
        res.status, 200,
        "settings served to a demoted admin: {}",
        res.body
    );
    assert!(res.body.get("data").is_none(), "body: {}", res.body);
    let text = res.body.to_string();
    for value in [&stored["siteName"], &stored["supportEmail"]] {
        assert!(
            !text.contains(value.as_str().unwrap()),
            "a setting leaked: {text}"
        );
    }
    assert!(res.body["error"]["code"].is_string(), "body: {}", res.body);
}

#[tokio::test]
async fn a_demoted_admin_get_settings_is_403() {
    let admin = user_with_role("admin").await;
    demote(&admin, "user").await;
    let res = Req::get("/settings")
        .as_user(&admin)
        .send(&routes::GET_SETTINGS)
        .await;
    assert!(
        matches!(res.status.as_u16(), 403 | 404),
        "expected 403 (or 404), got {} {}",
        res.status,
        res.body
    );
    assert_err(
        &res,
        res.status.as_u16(),
        if res.status == 403 {
            "FORBIDDEN"
        } else {
            "NOT_FOUND"
        },
    );
}

#[tokio::test]
async fn a_demoted_admin_cannot_put_settings() {
    let _guard = SETTINGS_LOCK.lock().await;
    let admin = user_with_role("admin").await;
    demote(&admin, "user").await;
    let before = settings_rows().await;

    let res = Req::new(http::Method::PUT, "/settings")
        .json(new_settings(&stored_settings().await))
        .as_user(&admin)
        .send(&routes::UPDATE_SETTINGS)
        .await;
    assert_forbidden(&res, "PUT /settings by a demoted admin");
    assert_eq!(settings_rows().await, before, "the settings changed");
    assert!(audit_actions(&admin, "SETTINGS_CHANGED").await.is_empty());
}

#[tokio::test]
async fn a_demoted_admin_reads_no_audit_log_rows() {
    let admin = user_with_role("admin").await;
    demote(&admin, "user").await;
    let res = Req::get("/audit-log")
        .as_user(&admin)
        .send(&routes::LIST_AUDIT_LOG)
        .await;
    match res.status.as_u16() {
        200 => {
            assert_eq!(res.assert_ok(200), &json!([]), "audit rows leaked");
            assert_eq!(res.body["pagination"]["total"], 0);
            assert_eq!(res.body["pagination"]["totalPages"], 0);
        }
        _ => assert_forbidden(&res, "GET /audit-log by a demoted admin"),
    }
}

#[tokio::test]
async fn a_demoted_admin_cannot_delete_someone_elses_post() {
    let admin = user_with_role("admin").await;
    let author = user_with_role("user").await;
    // Published: the demoted admin can see it, so the request reaches the DELETE.
    let published = post(&author, "Still here", true).await;
    let draft = post(&author, "Draft still here", false).await;
    demote(&admin, "user").await;

    for id in [published, draft] {
        let before = post_state(id).await.unwrap();
        let res = Req::delete("/posts/{id}")
            .param("id", id)
            .as_user(&admin)
            .send(&routes::DELETE_POST)
            .await;
        assert!(
            matches!(res.status.as_u16(), 403 | 404),
            "delete by a demoted admin: {} {}",
            res.status,
            res.body
        );
        assert_err(
            &res,
            res.status.as_u16(),
            if res.status == 403 {
                "FORBIDDEN"
            } else {
                "NOT_FOUND"
            },
        );
        assert_eq!(post_state(id).await, Some(before), "the post was deleted");
    }
}

#[tokio::test]
async fn a_demoted_editor_cannot_publish() {
    let editor = user_with_role("editor").await;
    let author = user_with_role("user").await;
    let others_draft = post(&author, "Not for you", false).await;
    let own_draft = post(&editor, "My own", false).await;
    demote(&editor, "user").await;

    for id in [others_draft, own_draft] {
        let res = Req::post("/posts/{id}/publish")
            .param("id", id)
            .as_user(&editor)
            .send(&routes::PUBLISH_POST)
            .await;
        assert!(
            matches!(res.status.as_u16(), 403 | 404),
            "publish by a demoted editor: {} {}",
            res.status,
            res.body
        );
        let (published, published_at, ..) = post_state(id).await.unwrap();
        assert!(
            !published && published_at.is_none(),
            "the post was published"
        );
    }
}

#[tokio::test]
async fn a_demoted_admin_cannot_create_a_user() {
    let admin = user_with_role("admin").await;
    demote(&admin, "user").await;
    let email = format!("demoted-create-{}@example.test", Uuid::new_v4());
    let res = Req::post("/users")
        .json(json!({ "email": email, "name": "Sneaky Person", "role": "admin" }))
        .as_user(&admin)
        .send(&routes::CREATE_USER)
        .await;
    assert!(
        !res.status.is_success(),
        "a demoted admin created a user: {}",
        res.body
    );
    assert!(
        !auth_user_with_email(&email).await,
        "the auth user was left behind"
    );
}

#[tokio::test]
async fn a_demoted_admin_cannot_delete_a_user() {
    let admin = user_with_role("admin").await;
    let victim = user_with_role("user").await;
    demote(&admin, "user").await;
    let res = Req::delete("/users/{id}")
        .param("id", victim.id)
        .as_user(&admin)
        .send(&routes::DELETE_USER)
        .await;
    assert_forbidden(&res, "DELETE /users/{id} by a demoted admin");
    assert!(auth_user_exists(victim.id).await, "the user was deleted");
}
