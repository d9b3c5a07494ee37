//! Users and profiles: GET /me, GET /users, POST /users, GET/PATCH/DELETE /users/{id}.
//!
//! Every test makes its own users and data (tests run in parallel: searches use a
//! random token in names, never a global count), asserts the status and the body, and
//! then looks in the database (as the superuser) to check what really happened.
//!
//! POST /users and DELETE /users/{id} call Supabase Auth's admin API
//! (`POST /auth/v1/admin/users`, `DELETE /auth/v1/admin/users/<id>`). Supabase Auth
//! (GoTrue) cannot be installed here, so these tests run against the stand-in in
//! tools/devstack/src/auth/: a small HTTP server that follows GoTrue's
//! documented request and response shapes (including `422 email_exists`) and writes to
//! auth.users, so the database triggers (profile, default role, cascades) fire as they
//! would under the real service. It is not Supabase Auth.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use functions::routes;
use integration_tests::*;
use serde_json::{json, Value};
use uuid::Uuid;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// The keys of a JSON object, sorted.
#[track_caller]
fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .cloned()
        .collect();
    keys.sort_unstable();
    keys
}

fn sorted(items: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = items.iter().map(|s| s.to_string()).collect();
    v.sort_unstable();
    v
}

/// The fields of a profile as its owner and users.read holders see it.
const PROFILE_KEYS: &[&str] = &[
    "id",
    "email",
    "name",
    "bio",
    "website",
    "publicProfile",
    "createdAt",
];

fn ts(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().expect("timestamp string"))
        .expect("RFC 3339 timestamp")
        .with_timezone(&Utc)
}

/// A short random token for names, unique to one test.
fn unique_token() -> String {
    Uuid::new_v4().simple().to_string()[..12].to_owned()
}

fn uuid_of(value: &Value) -> Uuid {
    Uuid::parse_str(value.as_str().expect("uuid string")).expect("uuid")
}

/// A profile row as stored.
#[derive(Debug, Clone, PartialEq)]
struct ProfileRow {
    id: Uuid,
    email: Option<String>,
    full_name: Option<String>,
    bio: Option<String>,
    website: Option<String>,
    public_profile: bool,
    created_at: DateTime<Utc>,
}

async fn profile(id: Uuid) -> Option<ProfileRow> {
    db().await
        .query_opt(
            "select p.id, e.email, p.full_name, p.bio, p.website, p.public_profile, p.created_at \
             from public.profiles p left join public.profile_emails e using (id) where p.id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .map(|r| ProfileRow {
            id: r.get(0),
            email: r.get(1),
            full_name: r.get(2),
            bio: r.get(3),
            website: r.get(4),
            public_profile: r.get(5),
            created_at: r.get(6),
        })
}

/// The role in user_roles, as text.
async fn role_of(id: Uuid) -> Option<String> {
    db().await
        .query_opt(
            "select role::text from public.user_roles where user_id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .map(|r| r.get(0))
}

async fn auth_user_exists(id: Uuid) -> bool {
    db().await
        .query_opt("select 1 from auth.users where id = $1", &[&id])
        .await
        .unwrap()
        .is_some()
}

/// auth.users rows whose email contains `needle` (case-insensitively).
async fn auth_users_like(needle: &str) -> i64 {
    db().await
        .query_one(
            "select count(*) from auth.users where strpos(lower(email), lower($1)) > 0",
            &[&needle],
        )
        .await
        .unwrap()
        .get(0)
}

async fn posts_of(id: Uuid) -> i64 {
    db().await
        .query_one(
            "select count(*) from public.posts where author_id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0)
}

/// Sets a profile's fields directly (the database's text rules still apply).
async fn set_profile(
    id: Uuid,
    name: Option<&str>,
    bio: Option<&str>,
    website: Option<&str>,
    public: bool,
) {
    db().await
        .execute(
            "update public.profiles set full_name = $2::text, bio = $3, website = $4::text, public_profile = $5 \
             where id = $1",
            &[&id, &name, &bio, &website, &public],
        )
        .await
        .unwrap();
}

async fn set_created_at(id: Uuid, at: DateTime<Utc>) {
    db().await
        .execute(
            "update public.profiles set created_at = $2 where id = $1",
            &[&id, &at],
        )
        .await
        .unwrap();
}

/// A plain user whose email starts with `local` (any characters), created at a given
/// time. (Names may not hold such characters: see the text rules.)
async fn emailed_user(local: &str, created_at: DateTime<Utc>) -> Uuid {
    let id = Uuid::new_v4();
    db().await
        .execute(
            "insert into auth.users (id, aud, role, email, raw_user_meta_data) \
             values ($1, 'authenticated', 'authenticated', $2, '{}')",
            &[&id, &format!("{local}@example.test")],
        )
        .await
        .unwrap();
    set_created_at(id, created_at).await;
    id
}

/// A plain user with this name (set directly) and a given creation time.
async fn named_user(name: &str, created_at: DateTime<Utc>) -> TestUser {
    let u = user().await;
    set_profile(u.id, Some(name), None, None, false).await;
    set_created_at(u.id, created_at).await;
    u
}

/// The permissions of a role in role_permissions, sorted.
async fn db_permissions(role: &str) -> Vec<String> {
    let mut perms: Vec<String> = db()
        .await
        .query(
            "select permission::text from public.role_permissions where role = $1::text::public.app_role",
            &[&role],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    perms.sort_unstable();
    perms
}

/// Audit rows of one action and target: (actor, metadata).
async fn audit_of(action: &str, target: &str) -> Vec<(Option<Uuid>, Value)> {
    db().await
        .query(
            "select actor_id, metadata from public.audit_log where action = $1 and target = $2 \
             order by created_at",
            &[&action, &target],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

fn me() -> Req {
    Req::get("/me")
}

fn list() -> Req {
    Req::get("/users")
}

fn get_user(id: impl ToString) -> Req {
    Req::get("/users/{id}").param("id", id)
}

fn patch_user(id: impl ToString, body: Value) -> Req {
    Req::patch("/users/{id}").param("id", id).json(body)
}

fn delete_user(id: impl ToString) -> Req {
    Req::delete("/users/{id}").param("id", id)
}

fn create_user(body: Value) -> Req {
    Req::post("/users").json(body)
}

/// The ids in a list response's data, in order.
fn ids(data: &Value) -> Vec<Uuid> {
    data.as_array()
        .unwrap_or_else(|| panic!("data is not a list: {data}"))
        .iter()
        .map(|item| uuid_of(&item["id"]))
        .collect()
}

/// GET /users?search=<search> as `who`, with page size 100: asserts 200 and returns the body.
async fn search(who: &TestUser, search: &str) -> Value {
    let res = list()
        .query("search", search)
        .query("pageSize", 100)
        .as_user(who)
        .send(&routes::LIST_USERS)
        .await;
    res.assert_ok(200);
    res.body
}

// ---------------------------------------------------------------------------------------
// GET /me
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn me_returns_the_profile_role_and_permissions_of_a_plain_user() {
    let u = user().await;
    set_profile(
        u.id,
        Some("Ada Lovelace"),
        Some("<b>math</b>"),
        Some("https://ada.example"),
        true,
    )
    .await;
    let stored = profile(u.id).await.unwrap();

    let res = me().as_user(&u).send(&routes::ME).await;
    let data = res.assert_ok(200).clone();
    let mut expected = sorted(PROFILE_KEYS);
    expected.extend(["permissions".to_owned(), "role".to_owned()]);
    expected.sort_unstable();
    assert_eq!(keys(&data), expected, "body: {data}");
    assert_eq!(data["id"], json!(u.id));
    assert_eq!(data["email"], json!(u.email));
    assert_eq!(data["name"], json!("Ada Lovelace"));
    assert_eq!(data["bio"], json!("<b>math</b>"));
    assert_eq!(data["website"], json!("https://ada.example"));
    assert_eq!(data["publicProfile"], json!(true));
    assert_eq!(ts(&data["createdAt"]), stored.created_at);
    assert_eq!(data["role"], json!("user"));
    let mut perms: Vec<String> = serde_json::from_value(data["permissions"].clone()).unwrap();
    perms.sort_unstable();
    assert_eq!(perms, sorted(&["posts.read", "posts.write"]));
    assert_eq!(perms, db_permissions("user").await);
}

#[tokio::test]
async fn me_reports_exact_permissions_for_each_role() {
    let expected: [(&str, &[&str]); 3] = [
        ("user", &["posts.read", "posts.write"]),
        (
            "editor",
            &["posts.read", "posts.write", "posts.publish", "users.read"],
        ),
        (
            "admin",
            &[
                "users.read",
                "users.write",
                "users.delete",
                "posts.read",
                "posts.write",
                "posts.delete",
                "posts.publish",
                "settings.read",
                "settings.write",
            ],
        ),
    ];
    for (role, permissions) in expected {
        let u = user_with_role(role).await;
        let res = me().as_user(&u).send(&routes::ME).await;
        let data = res.assert_ok(200).clone();
        assert_eq!(data["id"], json!(u.id), "{role}");
        assert_eq!(data["email"], json!(u.email), "{role}");
        assert_eq!(data["role"], json!(role), "body: {data}");
        let mut got: Vec<String> = serde_json::from_value(data["permissions"].clone()).unwrap();
        got.sort_unstable();
        assert_eq!(got, sorted(permissions), "{role}");
        assert_eq!(got, db_permissions(role).await, "{role}: differs from SQL");
        assert_eq!(role_of(u.id).await.as_deref(), Some(role));
    }
}

#[tokio::test]
async fn me_takes_the_role_from_user_roles_not_from_the_token() {
    let admin = user_with_role("admin").await;
    db().await
        .execute(
            "update public.user_roles set role = 'user' where user_id = $1",
            &[&admin.id],
        )
        .await
        .unwrap();
    // The token still says admin.
    let res = me().as_user(&admin).send(&routes::ME).await;
    let data = res.assert_ok(200);
    assert_eq!(data["role"], json!("user"), "body: {data}");
    let mut perms: Vec<String> = serde_json::from_value(data["permissions"].clone()).unwrap();
    perms.sort_unstable();
    assert_eq!(perms, sorted(&["posts.read", "posts.write"]));

    // And a promotion shows at once too (the token still says user).
    let promoted = user().await;
    db().await
        .execute(
            "update public.user_roles set role = 'editor' where user_id = $1",
            &[&promoted.id],
        )
        .await
        .unwrap();
    let res = me().as_user(&promoted).send(&routes::ME).await;
    assert_eq!(res.assert_ok(200)["role"], json!("editor"));
}

// ---------------------------------------------------------------------------------------
// GET /users
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn list_users_is_403_for_a_plain_user() {
    let u = user_with_role("user").await;
    let res = list().as_user(&u).send(&routes::LIST_USERS).await;
    assert_err(&res, 403, "FORBIDDEN");
    // Also with a search: the permission is checked first.
    let res = list()
        .query("search", "a")
        .as_user(&u)
        .send(&routes::LIST_USERS)
        .await;
    assert_err(&res, 403, "FORBIDDEN");
}

#[tokio::test]
async fn list_users_is_200_for_editor_and_admin_with_profile_fields_only() {
    let tok = unique_token();
    let target = named_user(&format!("{tok} Target"), Utc::now()).await;
    set_profile(
        target.id,
        Some(&format!("{tok} Target")),
        Some("bio"),
        Some("https://t.example"),
        false,
    )
    .await;
    let stored = profile(target.id).await.unwrap();
    for role in ["editor", "admin"] {
        let who = user_with_role(role).await;
        let body = search(&who, &tok).await;
        assert_eq!(keys(&body), sorted(&["data", "pagination"]), "{body}");
        let data = &body["data"];
        assert_eq!(ids(data), vec![target.id], "{role}: {body}");
        let item = &data[0];
        assert_eq!(keys(item), sorted(PROFILE_KEYS), "{role}: {item}");
        assert_eq!(item["email"], json!(target.email));
        assert_eq!(item["name"], json!(format!("{tok} Target")));
        assert_eq!(item["bio"], json!("bio"));
        assert_eq!(item["website"], json!("https://t.example"));
        assert_eq!(item["publicProfile"], json!(false));
        assert_eq!(ts(&item["createdAt"]), stored.created_at);
        assert_eq!(
            body["pagination"],
            json!({ "page": 1, "pageSize": 100, "total": 1, "totalPages": 1 }),
            "{role}"
        );
    }
}

#[tokio::test]
async fn list_users_searches_name_or_email_case_insensitively() {
    let tok = unique_token();
    let now = Utc::now();
    let by_name = named_user(&format!("Grace {tok} Hopper"), now).await;
    let by_email = user().await; // email user-<uuid>@example.test, no name
    let other = named_user("Someone Else", now).await;
    let editor = user_with_role("editor").await;

    // Name, in another case.
    let body = search(&editor, &format!("GRACE {}", tok.to_uppercase())).await;
    assert_eq!(ids(&body["data"]), vec![by_name.id], "{body}");

    // Email, in another case, part of it.
    let part = by_email.email.split('@').next().unwrap().to_uppercase();
    let body = search(&editor, &part).await;
    assert_eq!(ids(&body["data"]), vec![by_email.id], "{body}");
    let body = search(&editor, &by_email.email.to_uppercase()).await;
    assert_eq!(ids(&body["data"]), vec![by_email.id], "{body}");

    // Surrounding spaces are ignored.
    let body = search(&editor, &format!("  {tok}  ")).await;
    assert_eq!(ids(&body["data"]), vec![by_name.id], "{body}");
    assert!(!ids(&body["data"]).contains(&other.id));
}

#[tokio::test]
async fn list_users_is_newest_first() {
    let tok = unique_token();
    let base = Utc::now() - Duration::days(1);
    let mut made = Vec::new();
    // Creation times in an order unlike the insertion order (and unlike the ids).
    for minutes in [3, 0, 4, 1, 2] {
        let u = named_user(
            &format!("{tok} member {minutes}"),
            base + Duration::minutes(minutes),
        )
        .await;
        made.push((minutes, u.id));
    }
    made.sort_by_key(|m| std::cmp::Reverse(m.0));
    let newest_first: Vec<Uuid> = made.iter().map(|(_, id)| *id).collect();
    let admin = user_with_role("admin").await;

    let body = search(&admin, &tok).await;
    assert_eq!(ids(&body["data"]), newest_first, "{body}");
    let times: Vec<DateTime<Utc>> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| ts(&item["createdAt"]))
        .collect();
    assert!(times.windows(2).all(|w| w[0] > w[1]), "{times:?}");
    assert_eq!(
        body["pagination"],
        json!({ "page": 1, "pageSize": 100, "total": 5, "totalPages": 1 })
    );
}

#[tokio::test]
async fn list_users_pages_by_page_and_page_size() {
    let tok = unique_token();
    let base = Utc::now() - Duration::days(1);
    let mut made = Vec::new();
    for i in 0..21 {
        let u = named_user(&format!("{tok} paged {i}"), base + Duration::minutes(i)).await;
        made.push(u.id);
    }
    let newest_first: Vec<Uuid> = made.iter().rev().copied().collect();
    let admin = user_with_role("admin").await;

    // The default page size is 20.
    let res = list()
        .query("search", &tok)
        .as_user(&admin)
        .send(&routes::LIST_USERS)
        .await;
    res.assert_ok(200);
    assert_eq!(ids(&res.body["data"]), newest_first[..20], "{}", res.body);
    assert_eq!(
        res.body["pagination"],
        json!({ "page": 1, "pageSize": 20, "total": 21, "totalPages": 2 })
    );

    let mut seen = Vec::new();
    for (page, expected_len) in [(1, 8), (2, 8), (3, 5)] {
        let res = list()
            .query("search", &tok)
            .query("page", page)
            .query("pageSize", 8)
            .as_user(&admin)
            .send(&routes::LIST_USERS)
            .await;
        res.assert_ok(200);
        let page_ids = ids(&res.body["data"]);
        assert_eq!(page_ids.len(), expected_len, "page {page}: {}", res.body);
        assert_eq!(
            res.body["pagination"],
            json!({ "page": page, "pageSize": 8, "total": 21, "totalPages": 3 })
        );
        seen.extend(page_ids);
    }
    assert_eq!(seen, newest_first);

    // A page past the end is an empty page, not an error.
    let res = list()
        .query("search", &tok)
        .query("page", 9)
        .query("pageSize", 8)
        .as_user(&admin)
        .send(&routes::LIST_USERS)
        .await;
    assert_eq!(res.assert_ok(200), &json!([]));
    assert_eq!(res.body["pagination"]["total"], json!(21));
}

#[tokio::test]
async fn list_users_treats_postgrest_and_like_syntax_in_search_as_data() {
    let tok = unique_token();
    let now = Utc::now();
    let specials = [
        "a,b",
        "x.y",
        "(p)",
        "*star*",
        "100%",
        "a_c",
        "abc",
        "back\\slash",
        "or=(q)",
    ];
    let mut by_suffix = std::collections::HashMap::new();
    for (i, s) in specials.iter().enumerate() {
        let id = emailed_user(&format!("{tok}{s}"), now - Duration::seconds(i as i64)).await;
        by_suffix.insert(*s, id);
    }
    let editor = user_with_role("editor").await;

    // Each email is found literally, and only it.
    for s in specials {
        let body = search(&editor, &format!("{tok}{s}")).await;
        assert_eq!(ids(&body["data"]), vec![by_suffix[s]], "search {s}: {body}");
    }
    // A wildcard matches only itself.
    let body = search(&editor, &format!("{tok}a_c")).await;
    assert_eq!(ids(&body["data"]), vec![by_suffix["a_c"]], "{body}");
    for literal_only in [
        format!("{tok}a%c"),
        format!("{tok}%"),
        format!("{tok}_"),
        format!("{tok}**"),
        format!("{tok}a.b"),
    ] {
        let body = search(&editor, &literal_only).await;
        assert_eq!(body["data"], json!([]), "search {literal_only}: {body}");
        assert_eq!(body["pagination"]["total"], json!(0));
    }

    // "%" alone matches only emails (or names) that contain a "%".
    let body = search(&editor, "%").await;
    let data = body["data"].as_array().unwrap();
    assert!(ids(&body["data"]).contains(&by_suffix["100%"]), "{body}");
    for item in data {
        let name = item["name"].as_str().unwrap_or("");
        let email = item["email"].as_str().unwrap_or("");
        assert!(
            name.contains('%') || email.contains('%'),
            "search % matched {item}"
        );
    }
    let everyone: i64 = db()
        .await
        .query_one("select count(*) from public.profiles", &[])
        .await
        .unwrap()
        .get(0);
    assert!(
        body["pagination"]["total"].as_i64().unwrap() < everyone,
        "search % matched everyone: {body}"
    );
    let body = search(&editor, "_").await;
    for item in body["data"].as_array().unwrap() {
        let name = item["name"].as_str().unwrap_or("");
        let email = item["email"].as_str().unwrap_or("");
        assert!(
            name.contains('_') || email.contains('_'),
            "search _ matched {item}"
        );
    }

    // PostgREST filter syntax: nothing, and no error.
    for injection in [
        "x),id.eq.(",
        "x)",
        "a,full_name.neq.zzz",
        "or=(id.not.is.null)",
    ] {
        let body = search(&editor, &format!("{tok}{injection}")).await;
        assert_eq!(body["data"], json!([]), "search {injection}: {body}");
    }
    let body = search(&editor, "x),id.eq.(").await;
    assert_eq!(body["data"], json!([]), "{body}");
    assert_eq!(body["pagination"]["total"], json!(0));
}

#[tokio::test]
async fn list_users_refuses_bad_query_parameters() {
    let editor = user_with_role("editor").await;
    let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
        (vec![("search", "s".repeat(101))], "search"),
        (vec![("pageSize", "101".into())], "pageSize"),
        (vec![("pageSize", "0".into())], "pageSize"),
        (vec![("page", "0".into())], "page"),
        (vec![("page", "one".into())], "page"),
        (vec![("role", "admin".into())], "role"),
        (vec![("page_size", "5".into())], "page_size"),
    ];
    for (params, field) in cases {
        let mut req = list().as_user(&editor);
        for (k, v) in &params {
            req = req.query(k, v);
        }
        let res = req.send(&routes::LIST_USERS).await;
        assert_eq!(res.status, 422, "{params:?} -> {}", res.body);
        assert_invalid_field(&res, field);
    }
    // The limits themselves are fine.
    let res = list()
        .query("search", "s".repeat(100))
        .query("pageSize", 100)
        .as_user(&editor)
        .send(&routes::LIST_USERS)
        .await;
    res.assert_ok(200);
}

// ---------------------------------------------------------------------------------------
// POST /users
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn admin_creates_a_user_with_role_profile_and_audit() {
    let admin = user_with_role("admin").await;
    let tok = unique_token();
    let res = create_user(json!({
        "email": format!("New.Person+{tok}@Example.Test"),
        "name": "  Nova O'Brien-2  ",
        "role": "editor",
    }))
    .as_user(&admin)
    .send(&routes::CREATE_USER)
    .await;
    let data = res.assert_ok(201).clone();
    let mut expected = sorted(PROFILE_KEYS);
    expected.push("role".into());
    expected.sort_unstable();
    assert_eq!(keys(&data), expected, "body: {data}");
    let id = uuid_of(&data["id"]);
    let email = format!("new.person+{tok}@example.test");
    assert_eq!(data["email"], json!(email));
    assert_eq!(data["name"], json!("Nova O'Brien-2"));
    assert_eq!(data["role"], json!("editor"));
    assert_eq!(data["publicProfile"], json!(false));
    assert_eq!(data["bio"], Value::Null);
    assert_eq!(data["website"], Value::Null);

    // auth.users (through the Auth admin API), the profile and the role.
    let row = db()
        .await
        .query_one(
            "select email, email_confirmed_at is not null, raw_user_meta_data from auth.users where id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), email);
    assert!(row.get::<_, bool>(1), "the user is created confirmed");
    assert_eq!(row.get::<_, Value>(2)["full_name"], json!("Nova O'Brien-2"));
    let stored = profile(id).await.expect("profile row");
    assert_eq!(stored.email.as_deref(), Some(email.as_str()));
    assert_eq!(stored.full_name.as_deref(), Some("Nova O'Brien-2"));
    assert_eq!(ts(&data["createdAt"]), stored.created_at);
    assert_eq!(role_of(id).await.as_deref(), Some("editor"));
    assert_eq!(auth_users_like(&tok).await, 1);

    // Audit: USER_CREATED and ROLE_CHANGED, both by the admin, about the new user.
    let target = format!("user:{id}");
    let rows = audit_rows("actor_id = $1", &admin.id).await;
    for action in ["USER_CREATED", "ROLE_CHANGED"] {
        assert!(
            rows.iter()
                .any(|(a, t, _)| a == action && t.as_deref() == Some(target.as_str())),
            "no {action} for {target} by the admin: {rows:?}"
        );
    }
    let role_changes = audit_of("ROLE_CHANGED", &target).await;
    assert_eq!(role_changes.len(), 1, "{role_changes:?}");
    assert_eq!(role_changes[0].0, Some(admin.id));
    assert_eq!(role_changes[0].1["to"], json!("editor"));
    let created = audit_of("USER_CREATED", &target).await;
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0].0, Some(admin.id));
    assert_eq!(created[0].1["role"], json!("editor"));

    // The new user's own view agrees (once they have signed in: a session of theirs).
    db().await
        .execute(
            "insert into auth.sessions (id, user_id, aal) values ($1, $1, 'aal1')",
            &[&id],
        )
        .await
        .unwrap();
    let me_res = me()
        .bearer(&es256_token(
            id,
            json!({ "email": email, "user_role": "editor" }),
        ))
        .send(&routes::ME)
        .await;
    let me_data = me_res.assert_ok(200);
    assert_eq!(me_data["role"], json!("editor"));
    assert_eq!(me_data["name"], json!("Nova O'Brien-2"));
}

#[tokio::test]
async fn admin_creates_users_of_each_role() {
    let admin = user_with_role("admin").await;
    for role in ["user", "admin"] {
        let tok = unique_token();
        let res = create_user(json!({
            "email": format!("{role}-{tok}@example.test"),
            "name": "Role Test",
            "role": role,
        }))
        .as_user(&admin)
        .send(&routes::CREATE_USER)
        .await;
        let data = res.assert_ok(201).clone();
        assert_eq!(data["role"], json!(role));
        assert_eq!(role_of(uuid_of(&data["id"])).await.as_deref(), Some(role));
    }
}

#[tokio::test]
async fn creating_a_user_with_an_existing_email_is_409_and_creates_nothing() {
    let admin = user_with_role("admin").await;
    let existing = user().await;
    let before_audit = audit_rows("actor_id = $1", &admin.id).await;
    let res = create_user(json!({
        "email": existing.email.to_uppercase(),
        "name": "Copy Cat",
        "role": "admin",
    }))
    .as_user(&admin)
    .send(&routes::CREATE_USER)
    .await;
    assert_err(&res, 409, "CONFLICT");
    assert_eq!(auth_users_like(&existing.email).await, 1);
    let same_email: i64 = db()
        .await
        .query_one(
            "select count(*) from public.profile_emails where lower(email) = lower($1)",
            &[&existing.email],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(same_email, 1);
    // The existing user is untouched: still a plain user without a name.
    assert_eq!(role_of(existing.id).await.as_deref(), Some("user"));
    assert_eq!(profile(existing.id).await.unwrap().full_name, None);
    assert_eq!(audit_rows("actor_id = $1", &admin.id).await, before_audit);
}

#[tokio::test]
async fn creating_a_user_as_editor_or_plain_user_is_403_and_creates_nothing() {
    for role in ["editor", "user"] {
        let who = user_with_role(role).await;
        let tok = unique_token();
        let res = create_user(json!({
            "email": format!("nope-{tok}@example.test"),
            "name": "Not Allowed",
            "role": "admin",
        }))
        .as_user(&who)
        .send(&routes::CREATE_USER)
        .await;
        assert_err(&res, 403, "FORBIDDEN");
        assert_eq!(auth_users_like(&tok).await, 0, "{role} created a user");
        assert!(audit_rows("actor_id = $1", &who.id)
            .await
            .iter()
            .all(|(a, _, _)| a != "USER_CREATED" && a != "ROLE_CHANGED"));
    }
}

#[tokio::test]
async fn creating_a_user_with_invalid_fields_is_422_naming_the_field() {
    let admin = user_with_role("admin").await;
    let tok = unique_token();
    let email = format!("valid-{tok}@example.test");
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({ "email": format!("not-an-email-{tok}"), "name": "A", "role": "user" }),
            "email",
        ),
        (
            json!({ "email": format!("two@@{tok}.test"), "name": "A", "role": "user" }),
            "email",
        ),
        (json!({ "name": "A", "role": "user" }), "email"),
        (json!({ "email": email, "role": "user" }), "name"),
        (
            json!({ "email": email, "name": "", "role": "user" }),
            "name",
        ),
        (
            json!({ "email": email, "name": "<b>Bold</b>", "role": "user" }),
            "name",
        ),
        (
            json!({ "email": email, "name": "a < b", "role": "user" }),
            "name",
        ),
        (
            json!({ "email": email, "name": "x".repeat(101), "role": "user" }),
            "name",
        ),
        (
            json!({ "email": email, "name": "A", "role": "owner" }),
            "role",
        ),
        (json!({ "email": email, "name": "A" }), "role"),
        (
            json!({ "email": email, "name": "A", "role": "user", "password": "hunter22" }),
            "password",
        ),
        (
            json!({ "email": email, "name": "A", "role": "user", "id": Uuid::new_v4() }),
            "id",
        ),
    ];
    for (body, field) in cases {
        let res = create_user(body.clone())
            .as_user(&admin)
            .send(&routes::CREATE_USER)
            .await;
        assert_eq!(res.status, 422, "{body} -> {}", res.body);
        assert_invalid_field(&res, field);
    }
    assert_eq!(auth_users_like(&tok).await, 0);
    assert!(audit_rows("actor_id = $1", &admin.id)
        .await
        .iter()
        .all(|(a, _, _)| a != "USER_CREATED"));
}

#[tokio::test]
async fn a_demoted_admin_cannot_create_users() {
    let admin = user_with_role("admin").await;
    db().await
        .execute(
            "update public.user_roles set role = 'user' where user_id = $1",
            &[&admin.id],
        )
        .await
        .unwrap();
    let tok = unique_token();
    let res = create_user(json!({
        "email": format!("demoted-{tok}@example.test"),
        "name": "Sneaky",
        "role": "admin",
    }))
    .as_user(&admin)
    .send(&routes::CREATE_USER)
    .await;
    assert_eq!(auth_users_like(&tok).await, 0, "a user was created");
    assert_err(&res, 403, "FORBIDDEN");
}

// ---------------------------------------------------------------------------------------
// GET /users/{id}
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn get_self_is_200_with_email_and_full_fields() {
    let u = user().await;
    set_profile(u.id, Some("Self Person"), None, None, false).await;
    let res = get_user(u.id).as_user(&u).send(&routes::GET_USER).await;
    let data = res.assert_ok(200).clone();
    let mut expected = sorted(PROFILE_KEYS);
    expected.push("posts".into());
    expected.sort_unstable();
    assert_eq!(keys(&data), expected, "body: {data}");
    assert_eq!(data["id"], json!(u.id));
    assert_eq!(data["email"], json!(u.email));
    assert_eq!(data["name"], json!("Self Person"));
    assert_eq!(data["publicProfile"], json!(false));
    assert_eq!(data["posts"], json!([]));
}

#[tokio::test]
async fn another_users_private_profile_is_404_for_a_plain_user() {
    let viewer = user_with_role("user").await;
    let hidden = user().await;
    set_profile(hidden.id, Some("Hidden Person"), None, None, false).await;
    let res = get_user(hidden.id)
        .as_user(&viewer)
        .send(&routes::GET_USER)
        .await;
    assert_err(&res, 404, "NOT_FOUND");
    assert!(!res.body.to_string().contains(&hidden.email));
    assert!(!res.body.to_string().contains("Hidden Person"));

    // Indistinguishable from an id that does not exist.
    let missing = get_user(Uuid::new_v4())
        .as_user(&viewer)
        .send(&routes::GET_USER)
        .await;
    assert_err(&missing, 404, "NOT_FOUND");
    assert_eq!(
        res.body["error"]["message"],
        missing.body["error"]["message"]
    );
}

#[tokio::test]
async fn a_public_profile_shows_no_email_and_the_five_newest_published_posts() {
    let author = user().await;
    set_profile(
        author.id,
        Some("Public Author"),
        Some("<i>hello</i>"),
        Some("https://author.example"),
        true,
    )
    .await;
    // Whole seconds: Postgres keeps microseconds.
    let base = (Utc::now() - Duration::hours(1)).trunc_subsecs(0);
    let mut published = Vec::new();
    for i in 0..7 {
        let id = post(&author, &format!("published {i}"), true).await;
        // Distinct publication times, in an order unlike the creation order.
        let at = base + Duration::minutes(((i * 3) % 7) as i64);
        db().await
            .execute(
                "update public.posts set published_at = $2 where id = $1",
                &[&id, &at],
            )
            .await
            .unwrap();
        published.push((at, id, format!("published {i}")));
    }
    let draft = post(&author, "the newest draft", false).await;
    published.sort_by_key(|p| std::cmp::Reverse(p.0));
    let expected: Vec<&(DateTime<Utc>, Uuid, String)> = published.iter().take(5).collect();

    let viewer = user_with_role("user").await;
    let res = get_user(author.id)
        .as_user(&viewer)
        .send(&routes::GET_USER)
        .await;
    let data = res.assert_ok(200).clone();
    assert_eq!(
        keys(&data),
        sorted(&["id", "name", "bio", "website", "createdAt", "posts"]),
        "body: {data}"
    );
    assert!(!data.to_string().contains(&author.email), "email leaked");
    assert_eq!(data["id"], json!(author.id));
    assert_eq!(data["name"], json!("Public Author"));
    assert_eq!(data["bio"], json!("<i>hello</i>"));
    assert_eq!(data["website"], json!("https://author.example"));
    assert_eq!(
        ts(&data["createdAt"]),
        profile(author.id).await.unwrap().created_at
    );
    let posts = data["posts"].as_array().expect("posts list");
    assert_eq!(posts.len(), 5, "body: {data}");
    for (post, (at, id, title)) in posts.iter().zip(expected) {
        assert_eq!(
            keys(post),
            sorted(&["id", "title", "publishedAt"]),
            "{post}"
        );
        assert_eq!(post["id"], json!(id));
        assert_eq!(post["title"], json!(title));
        assert_eq!(ts(&post["publishedAt"]), *at);
    }
    assert!(!ids(&data["posts"]).contains(&draft), "draft shown");
}

#[tokio::test]
async fn editor_and_admin_see_private_profiles_with_email() {
    let hidden = user().await;
    set_profile(hidden.id, Some("Private Person"), None, None, false).await;
    let p = post(&hidden, "one", true).await;
    let _draft = post(&hidden, "draft", false).await;
    for role in ["editor", "admin"] {
        let who = user_with_role(role).await;
        let res = get_user(hidden.id)
            .as_user(&who)
            .send(&routes::GET_USER)
            .await;
        let data = res.assert_ok(200).clone();
        let mut expected = sorted(PROFILE_KEYS);
        expected.push("posts".into());
        expected.sort_unstable();
        assert_eq!(keys(&data), expected, "{role}: {data}");
        assert_eq!(data["email"], json!(hidden.email));
        assert_eq!(data["name"], json!("Private Person"));
        assert_eq!(data["publicProfile"], json!(false));
        assert_eq!(ids(&data["posts"]), vec![p], "{role}: {data}");
    }
}

#[tokio::test]
async fn get_user_with_a_non_uuid_or_unknown_id_is_404() {
    let admin = user_with_role("admin").await;
    for id in [
        "not-a-uuid".to_owned(),
        "1".to_owned(),
        "' or 1=1 --".to_owned(),
        Uuid::new_v4().to_string(),
    ] {
        let res = get_user(&id).as_user(&admin).send(&routes::GET_USER).await;
        assert_err(&res, 404, "NOT_FOUND");
    }
}

// ---------------------------------------------------------------------------------------
// PATCH /users/{id}
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_user_updates_their_own_profile() {
    let u = user().await;
    let res = patch_user(
        u.id,
        json!({
            "name": "Anne-Marie O'Neil 2",
            "bio": "Hello & welcome",
            "website": "https://anne.example/me",
            "publicProfile": true,
        }),
    )
    .as_user(&u)
    .send(&routes::UPDATE_USER)
    .await;
    let data = res.assert_ok(200).clone();
    assert_eq!(keys(&data), sorted(PROFILE_KEYS), "body: {data}");
    let stored = profile(u.id).await.unwrap();
    assert_eq!(stored.full_name.as_deref(), Some("Anne-Marie O'Neil 2"));
    assert_eq!(stored.bio.as_deref(), Some("Hello &amp; welcome"));
    assert_eq!(stored.website.as_deref(), Some("https://anne.example/me"));
    assert!(stored.public_profile);
    assert_eq!(stored.email.as_deref(), Some(u.email.as_str()));
    assert_eq!(data["id"], json!(u.id));
    assert_eq!(data["email"], json!(u.email));
    assert_eq!(data["name"], json!("Anne-Marie O'Neil 2"));
    assert_eq!(data["bio"], json!(stored.bio));
    assert_eq!(data["website"], json!("https://anne.example/me"));
    assert_eq!(data["publicProfile"], json!(true));

    // One field at a time; null clears bio and website.
    let res = patch_user(u.id, json!({ "publicProfile": false }))
        .as_user(&u)
        .send(&routes::UPDATE_USER)
        .await;
    res.assert_ok(200);
    let res = patch_user(u.id, json!({ "bio": null, "website": null }))
        .as_user(&u)
        .send(&routes::UPDATE_USER)
        .await;
    let data = res.assert_ok(200).clone();
    assert_eq!(data["bio"], Value::Null);
    assert_eq!(data["website"], Value::Null);
    let stored = profile(u.id).await.unwrap();
    assert_eq!(stored.bio, None);
    assert_eq!(stored.website, None);
    assert!(!stored.public_profile);
    assert_eq!(stored.full_name.as_deref(), Some("Anne-Marie O'Neil 2"));
    // A user changing their own profile is not an admin change.
    assert!(audit_of("PROFILE_CHANGED", &format!("user:{}", u.id))
        .await
        .is_empty());
}

#[tokio::test]
async fn bio_html_is_sanitized() {
    let u = user().await;
    let dirty = concat!(
        r#"<p onclick="steal()">Hi <b>bold</b> <i>it</i> <em>em</em> <strong>st</strong> "#,
        r#"<a href="https://ok.example" onclick="x()" target="_blank">ok</a><br>"#,
        r#"<script>alert(1)</script><img src=x onerror="y()"><h1>big</h1>"#,
        r#"<a href="javascript:alert(2)">js</a><iframe src="https://evil.example"></iframe></p>"#,
    );
    let res = patch_user(u.id, json!({ "bio": dirty }))
        .as_user(&u)
        .send(&routes::UPDATE_USER)
        .await;
    let data = res.assert_ok(200).clone();
    let bio = profile(u.id).await.unwrap().bio.expect("bio stored");
    assert_eq!(data["bio"], json!(bio));
    for gone in [
        "script",
        "alert",
        "onclick",
        "onerror",
        "<img",
        "<h1",
        "iframe",
        "javascript",
        "target",
        "steal",
    ] {
        assert!(!bio.contains(gone), "{gone:?} kept in {bio}");
    }
    for kept in [
        "<p>",
        "<b>bold</b>",
        "<i>it</i>",
        "<em>em</em>",
        "<strong>st</strong>",
        "<br>",
        r#"href="https://ok.example""#,
        r#"rel="noopener noreferrer nofollow""#,
        ">ok</a>",
        "big",
    ] {
        assert!(bio.contains(kept), "{kept:?} missing from {bio}");
    }

    // A bio that is nothing but removed markup is stored as no bio.
    let res = patch_user(u.id, json!({ "bio": "<script>alert(1)</script>" }))
        .as_user(&u)
        .send(&routes::UPDATE_USER)
        .await;
    assert_eq!(res.assert_ok(200)["bio"], Value::Null);
    assert_eq!(profile(u.id).await.unwrap().bio, None);
}

#[tokio::test]
async fn update_refuses_invalid_values_and_changes_nothing() {
    let u = user().await;
    set_profile(
        u.id,
        Some("Original"),
        Some("old bio"),
        Some("https://old.example"),
        false,
    )
    .await;
    let before = profile(u.id).await.unwrap();
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "website": "http://plain.example" }), "website"),
        (json!({ "website": "javascript:alert(1)" }), "website"),
        (json!({ "website": "https://user:pw@x.example" }), "website"),
        (json!({ "website": "not a url" }), "website"),
        (json!({ "name": "a <b>" }), "name"),
        (json!({ "name": "<script>" }), "name"),
        (json!({ "name": "" }), "name"),
        (json!({ "name": "x".repeat(101) }), "name"),
        (json!({ "bio": "b".repeat(501) }), "bio"),
        (json!({ "publicProfile": "yes" }), "publicProfile"),
        (
            json!({ "name": "Fine", "website": "http://x.example" }),
            "website",
        ),
    ];
    for (body, field) in cases {
        let res = patch_user(u.id, body.clone())
            .as_user(&u)
            .send(&routes::UPDATE_USER)
            .await;
        assert_eq!(res.status, 422, "{body} -> {}", res.body);
        assert_invalid_field(&res, field);
    }
    // An empty change is refused too.
    let res = patch_user(u.id, json!({}))
        .as_user(&u)
        .send(&routes::UPDATE_USER)
        .await;
    assert_err(&res, 422, "VALIDATION_ERROR");
    assert_eq!(profile(u.id).await.unwrap(), before);

    // The limits themselves are fine.
    let res = patch_user(
        u.id,
        json!({ "bio": "b".repeat(500), "name": "n".repeat(100) }),
    )
    .as_user(&u)
    .send(&routes::UPDATE_USER)
    .await;
    res.assert_ok(200);
    let stored = profile(u.id).await.unwrap();
    assert_eq!(stored.bio, Some("b".repeat(500)));
    assert_eq!(stored.full_name, Some("n".repeat(100)));
}

#[tokio::test]
async fn a_bio_within_the_limit_is_stored_even_when_escaping_lengthens_it() {
    let u = user().await;
    let bio = "&".repeat(500);
    let res = patch_user(u.id, json!({ "bio": bio }))
        .as_user(&u)
        .send(&routes::UPDATE_USER)
        .await;
    let data = res.assert_ok(200).clone();
    let stored = profile(u.id).await.unwrap().bio.expect("bio stored");
    assert_eq!(data["bio"], json!(stored));
    assert!(stored.contains('&'));
}

#[tokio::test]
async fn update_refuses_fields_the_client_may_not_set() {
    let u = user().await;
    set_profile(u.id, Some("Original"), None, None, false).await;
    let before = profile(u.id).await.unwrap();
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "name": "Hacker", "role": "admin" }), "role"),
        (
            json!({ "name": "Hacker", "user_role": "admin" }),
            "user_role",
        ),
        (
            json!({ "name": "Hacker", "email": "taken@evil.example" }),
            "email",
        ),
        (json!({ "name": "Hacker", "id": Uuid::new_v4() }), "id"),
        (
            json!({ "name": "Hacker", "created_at": "2000-01-01T00:00:00Z" }),
            "created_at",
        ),
        (
            json!({ "name": "Hacker", "createdAt": "2000-01-01T00:00:00Z" }),
            "createdAt",
        ),
        (
            json!({ "name": "Hacker", "public_profile": true }),
            "public_profile",
        ),
        (json!({ "role": "admin" }), "role"),
    ];
    for (body, field) in cases {
        let res = patch_user(u.id, body.clone())
            .as_user(&u)
            .send(&routes::UPDATE_USER)
            .await;
        assert_eq!(res.status, 422, "{body} -> {}", res.body);
        assert_invalid_field(&res, field);
    }
    assert_eq!(profile(u.id).await.unwrap(), before);
    assert_eq!(role_of(u.id).await.as_deref(), Some("user"));
    let email: String = db()
        .await
        .query_one("select email from auth.users where id = $1", &[&u.id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(email, u.email);
}

#[tokio::test]
async fn a_plain_user_or_editor_cannot_update_someone_else() {
    let victim = user().await;
    set_profile(victim.id, Some("Victim"), None, None, true).await;
    let before = profile(victim.id).await.unwrap();
    for role in ["user", "editor"] {
        let who = user_with_role(role).await;
        let res = patch_user(
            victim.id,
            json!({ "name": "Pwned", "publicProfile": false }),
        )
        .as_user(&who)
        .send(&routes::UPDATE_USER)
        .await;
        assert_err(&res, 403, "FORBIDDEN");
    }
    assert_eq!(profile(victim.id).await.unwrap(), before);
    assert!(audit_of("PROFILE_CHANGED", &format!("user:{}", victim.id))
        .await
        .is_empty());
}

#[tokio::test]
async fn an_admin_updates_someone_else_and_it_is_audited() {
    let admin = user_with_role("admin").await;
    let target = user().await;
    set_profile(target.id, Some("Before"), None, None, false).await;
    let res = patch_user(
        target.id,
        json!({ "name": "After", "bio": "<b>edited</b>" }),
    )
    .as_user(&admin)
    .send(&routes::UPDATE_USER)
    .await;
    let data = res.assert_ok(200).clone();
    assert_eq!(keys(&data), sorted(PROFILE_KEYS), "body: {data}");
    assert_eq!(data["id"], json!(target.id));
    assert_eq!(data["name"], json!("After"));
    let stored = profile(target.id).await.unwrap();
    assert_eq!(stored.full_name.as_deref(), Some("After"));
    assert_eq!(stored.bio.as_deref(), Some("<b>edited</b>"));
    assert_eq!(role_of(target.id).await.as_deref(), Some("user"));

    let target_s = format!("user:{}", target.id);
    let rows = audit_rows("actor_id = $1", &admin.id).await;
    assert!(
        rows.iter()
            .any(|(a, t, _)| a == "PROFILE_CHANGED" && t.as_deref() == Some(target_s.as_str())),
        "{rows:?}"
    );
    let changes = audit_of("PROFILE_CHANGED", &target_s).await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    let fields = changes[0].1["fields"].as_array().expect("fields").clone();
    assert!(fields.contains(&json!("full_name")), "{fields:?}");
    assert!(fields.contains(&json!("bio")), "{fields:?}");

    // An unknown or non-UUID id is 404 for the admin.
    for id in [Uuid::new_v4().to_string(), "nope".to_owned()] {
        let res = patch_user(&id, json!({ "name": "Ghost" }))
            .as_user(&admin)
            .send(&routes::UPDATE_USER)
            .await;
        assert_err(&res, 404, "NOT_FOUND");
    }
}

// ---------------------------------------------------------------------------------------
// DELETE /users/{id}
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn an_admin_deletes_another_user_and_everything_goes() {
    let admin = user_with_role("admin").await;
    let target = user_with_role("editor").await;
    set_profile(target.id, Some("Doomed"), None, None, true).await;
    post(&target, "a post", true).await;
    assert_eq!(posts_of(target.id).await, 1);

    let res = delete_user(target.id)
        .as_user(&admin)
        .send(&routes::DELETE_USER)
        .await;
    res.assert_ok(204);
    assert_eq!(res.body, Value::Null, "204 has no body");

    assert!(!auth_user_exists(target.id).await, "auth.users row left");
    assert_eq!(profile(target.id).await, None, "profile left");
    assert_eq!(role_of(target.id).await, None, "user_roles row left");
    assert_eq!(posts_of(target.id).await, 0, "posts left");

    let target_s = format!("user:{}", target.id);
    let deleted = audit_of("USER_DELETED", &target_s).await;
    assert_eq!(deleted.len(), 1, "{deleted:?}");
    assert_eq!(deleted[0].0, Some(admin.id));

    // Again: it is gone.
    let res = delete_user(target.id)
        .as_user(&admin)
        .send(&routes::DELETE_USER)
        .await;
    assert_err(&res, 404, "NOT_FOUND");
}

#[tokio::test]
async fn an_admin_cannot_delete_themselves() {
    let admin = user_with_role("admin").await;
    let res = delete_user(admin.id)
        .as_user(&admin)
        .send(&routes::DELETE_USER)
        .await;
    assert_err(&res, 403, "FORBIDDEN");
    assert!(auth_user_exists(admin.id).await);
    assert!(profile(admin.id).await.is_some());
    assert_eq!(role_of(admin.id).await.as_deref(), Some("admin"));
    assert!(audit_of("USER_DELETED", &format!("user:{}", admin.id))
        .await
        .is_empty());
}

#[tokio::test]
async fn editors_and_plain_users_cannot_delete_users() {
    let target = user().await;
    for role in ["editor", "user"] {
        let who = user_with_role(role).await;
        let res = delete_user(target.id)
            .as_user(&who)
            .send(&routes::DELETE_USER)
            .await;
        assert_err(&res, 403, "FORBIDDEN");
        // Not even themselves.
        let res = delete_user(who.id)
            .as_user(&who)
            .send(&routes::DELETE_USER)
            .await;
        assert_err(&res, 403, "FORBIDDEN");
        assert!(auth_user_exists(who.id).await);
    }
    assert!(auth_user_exists(target.id).await);
    assert!(profile(target.id).await.is_some());
    assert!(audit_of("USER_DELETED", &format!("user:{}", target.id))
        .await
        .is_empty());
}

#[tokio::test]
async fn deleting_an_unknown_or_non_uuid_id_is_404() {
    let admin = user_with_role("admin").await;
    for id in [Uuid::new_v4().to_string(), "not-a-uuid".to_owned()] {
        let res = delete_user(&id)
            .as_user(&admin)
            .send(&routes::DELETE_USER)
            .await;
        assert_err(&res, 404, "NOT_FOUND");
    }
    assert!(audit_rows("actor_id = $1", &admin.id)
        .await
        .iter()
        .all(|(a, _, _)| a != "USER_DELETED"));
}

#[tokio::test]
async fn a_demoted_admin_cannot_delete_users() {
    let admin = user_with_role("admin").await;
    db().await
        .execute(
            "update public.user_roles set role = 'user' where user_id = $1",
            &[&admin.id],
        )
        .await
        .unwrap();
    let target = user().await;
    let res = delete_user(target.id)
        .as_user(&admin)
        .send(&routes::DELETE_USER)
        .await;
    assert!(auth_user_exists(target.id).await, "the user was deleted");
    assert_err(&res, 403, "FORBIDDEN");
}

// ---------------------------------------------------------------------------------------
// Object level: user A's token on user B
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn user_a_cannot_read_change_or_delete_user_b() {
    let a = user_with_role("user").await;
    let b = user_with_role("user").await;
    set_profile(b.id, Some("Bee"), Some("private bio"), None, false).await;
    post(&b, "b's post", true).await;
    let before = profile(b.id).await.unwrap();

    let res = get_user(b.id).as_user(&a).send(&routes::GET_USER).await;
    assert_err(&res, 404, "NOT_FOUND");
    assert!(!res.body.to_string().contains("Bee"));

    let res = patch_user(b.id, json!({ "name": "Owned By A" }))
        .as_user(&a)
        .send(&routes::UPDATE_USER)
        .await;
    assert_err(&res, 403, "FORBIDDEN");

    let res = delete_user(b.id)
        .as_user(&a)
        .send(&routes::DELETE_USER)
        .await;
    assert_err(&res, 403, "FORBIDDEN");

    assert_eq!(profile(b.id).await.unwrap(), before);
    assert!(auth_user_exists(b.id).await);
    assert_eq!(role_of(b.id).await.as_deref(), Some("user"));
    assert_eq!(posts_of(b.id).await, 1);

    // Once B's profile is public, A sees it, without the email; A still cannot change it.
    set_profile(b.id, Some("Bee"), Some("private bio"), None, true).await;
    let res = get_user(b.id).as_user(&a).send(&routes::GET_USER).await;
    let data = res.assert_ok(200);
    assert_eq!(data["name"], json!("Bee"));
    assert!(data.get("email").is_none(), "{data}");
    assert!(data.get("publicProfile").is_none(), "{data}");
    let res = patch_user(b.id, json!({ "bio": "defaced" }))
        .as_user(&a)
        .send(&routes::UPDATE_USER)
        .await;
    assert_err(&res, 403, "FORBIDDEN");
    assert_eq!(
        profile(b.id).await.unwrap().bio.as_deref(),
        Some("private bio")
    );

    // And B sees their own profile in full.
    let res = get_user(b.id).as_user(&b).send(&routes::GET_USER).await;
    assert_eq!(res.assert_ok(200)["email"], json!(b.email));
}

// ---------------------------------------------------------------------------------------
// PostgREST down
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn me_and_list_users_are_503_with_a_clean_body_when_postgrest_is_down() {
    let editor = user_with_role("editor").await;
    let app = app_with_unreachable_postgrest();
    let requests = [
        (&routes::ME, me().as_user(&editor).build()),
        (&routes::LIST_USERS, list().as_user(&editor).build()),
        (
            &routes::LIST_USERS,
            list().query("search", "x").as_user(&editor).build(),
        ),
    ];
    for (route, req) in requests {
        let res = send_with(&app, route, req).await;
        assert_eq!(res.status, 503, "{}: {}", route.function, res.body);
        assert_err(&res, 503, "SERVICE_UNAVAILABLE");
        assert_eq!(
            keys(&res.body["error"]),
            sorted(&["code", "message", "requestId"]),
            "{}: {}",
            route.function,
            res.body
        );
        let text = res.body.to_string().to_lowercase();
        for needle in [
            "postgrest",
            "127.0.0.1",
            "connection",
            "localhost",
            "reqwest",
            "tcp",
        ] {
            assert!(
                !text.contains(needle),
                "{}: body mentions {needle}: {text}",
                route.function
            );
        }
    }
}
