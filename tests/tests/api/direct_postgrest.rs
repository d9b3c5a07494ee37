//! The database refuses whatever the API refuses (docs/security.md). Any frontend,
//! or anyone holding a user's access token, can call PostgREST directly with exactly the
//! privileges the functions use. For every write route and every readable table or RPC,
//! the hostile variant goes straight to PostgREST with the same token, and Postgres
//! refuses it or stores only what the API would store.
//!
//! | route | hostile request straight to PostgREST | database answer |
//! |---|---|---|
//! | POST /workspaces | `POST rpc/create_workspace {"name": "bell\u0007"}`, `" padded "` | 400 23514, nothing stored |
//! | POST /workspaces | the same as an anonymous sign-in | 403 42501 |
//! | POST /workspaces/{id}/members | a plain member `POST workspace_members` (role admin) | 403 42501 |
//! | DELETE /workspaces/{id}/members/{userId} | a plain member deletes the admin; the last admin deletes herself | no rows; 409 PT409 |
//! | POST /projects | `POST projects {"name": "a\u0001"}`; a plain member's insert | 400 23514; 403 42501 |
//! | PATCH /projects/{id} | a control character in the description; a plain member's update | 400 23514; no rows |
//! | DELETE /projects/{id} | an editor deletes | no rows, project kept |
//! | PATCH /users/{id} | bio `<img src=x onerror=…>`, website `javascript:`, name `<b>x</b>`, another user's profile | 400 23514 ×3; no rows |
//! | DELETE /users/{id} | `DELETE profiles` | 403 42501 |
//! | GET /users, GET /users/{id} | `profiles?select=email`; `profile_emails` of a public profile; `rpc/search_users {"p_search": "@"}` | 400 42703; no rows; 403 42501 |
//! | POST /users (sign-up metadata) | `auth.users` with a hostile `full_name` | the profile's name is null |
//! | POST /posts | a control character in the title; `published: true` | 400 23514; 403 42501 |
//! | PATCH /posts/{id}, POST /posts/{id}/publish | `published: true` without posts.publish; another's draft | 403 42501; no rows |
//! | DELETE /posts/{id} | another user's post | no rows, post kept |
//! | PUT /settings | a user's update; an admin's site name with a control character, `maintenance_mode: "yes"` | no rows; 400 23514 ×2 |
//! | POST /uploads | `original_name: "../../etc/passwd"`; `status: "ready"` | 400 23514; 403 42501 |
//! | POST /uploads/{id}/complete | `PATCH uploads {"status": "ready"}`; `rpc/set_upload_status` | 403 42501 ×2 |
//! | DELETE /uploads/{id} | another user's upload | no rows, upload kept |
//! | every write route | 21 direct upload rows in a minute; direct writes next to API writes | 429 with RateLimit and Retry-After, one shared counter |
//! | every write route, as an anonymous sign-in | `POST posts` | 403 42501 (the API: 403 FORBIDDEN) |
//! | GET /audit-log, rate limits, roles | `audit_log`, `rate_limit_rules`, another's `user_roles` | no rows; 403 42501; no rows |
//! | every GET route | another workspace's `workspaces`, `workspace_members`, `projects`; another's draft `posts`, `uploads`, private `profiles`, `profile_emails`; `app_settings` without settings.read | no rows (the API: 404) |
//! | service-role functions | `rpc/record_audit_event`, `hit_subject_limit`, `peek_subject_limit`, `hit_rate_limit` | 403 42501 |
//! | DELETE /me, DELETE /users/{id} (accounts.rs) | the last admin's `DELETE` and `PATCH workspace_members`; `rpc/account_deletion_blockers` as a user or anon | 409 PT409 ×2; 401/403 |
//! | GET /me/export (accounts.rs) | `rpc/export_my_data` naming another user, a page of 10,000, a part `auth.users`, no token | 404 (no such arguments); 400 22023 ×2; 401 |
//! | anything, without a token | `profiles`, `posts`, `profile_emails`, `workspaces` | 401 42501 |
//!
//! Two more tests keep the two lines of defence equal: the Rust validators and the SQL
//! text rules agree on one corpus, and every length limit is the same at the API and in
//! the database (the longest accepted, one more refused by both).

use functions::routes;
use functions::validate;
use integration_tests::*;
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

async fn count(sql: &str, id: &Uuid) -> i64 {
    db().await.query_one(sql, &[id]).await.unwrap().get(0)
}

fn anonymous(user: &TestUser) -> String {
    es256_token(
        user.id,
        json!({ "email": null, "is_anonymous": true, "user_role": "user" }),
    )
}

// ---------------------------------------------------------------------------------------
// Workspaces and members
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn create_workspace_refuses_bad_names_and_anonymous_users() {
    let user = user().await;
    for name in ["bell\u{7}", " padded ", "", "tab\there"] {
        let res = postgrest_direct(
            Method::POST,
            "rpc/create_workspace",
            Some(&user.token),
            Some(json!({ "name": name })),
        )
        .await;
        res.assert_refused(400, "23514");
        // The API refuses the same (or stores it trimmed).
        let api = Req::post("/workspaces")
            .as_user(&user)
            .json(json!({ "name": name }))
            .send(&routes::CREATE_WORKSPACE)
            .await;
        if name == " padded " {
            assert_eq!(api.assert_ok(201)["name"], "padded");
        } else {
            api.assert_invalid("name");
        }
    }
    let stored = count(
        "select count(*) from public.workspaces where created_by = $1 and name <> 'padded'",
        &user.id,
    )
    .await;
    assert_eq!(stored, 0, "nothing half-written");

    let res = postgrest_direct(
        Method::POST,
        "rpc/create_workspace",
        Some(&anonymous(&user)),
        Some(json!({ "name": "Guest space" })),
    )
    .await;
    res.assert_refused(403, "42501");
    let api = Req::post("/workspaces")
        .bearer(&anonymous(&user))
        .json(json!({ "name": "Guest space" }))
        .send(&routes::CREATE_WORKSPACE)
        .await;
    api.assert_error(403, "FORBIDDEN");
    assert_eq!(
        count(
            "select count(*) from public.workspaces where created_by = $1 and name = 'Guest space'",
            &user.id
        )
        .await,
        0
    );
}

#[tokio::test]
async fn members_are_added_and_removed_by_admins_only() {
    let admin = user().await;
    let member = user().await;
    let outsider = user().await;
    let ws = workspace(&admin).await;
    join(ws, &member, "member").await;

    let res = postgrest_direct(
        Method::POST,
        "workspace_members",
        Some(&member.token),
        Some(json!({ "workspace_id": ws, "user_id": outsider.id, "role": "admin" })),
    )
    .await;
    res.assert_refused(403, "42501");

    let res = postgrest_direct(
        Method::DELETE,
        &format!(
            "workspace_members?workspace_id=eq.{ws}&user_id=eq.{}",
            admin.id
        ),
        Some(&member.token),
        None,
    )
    .await;
    res.assert_no_rows();
    let res = postgrest_direct(
        Method::PATCH,
        &format!(
            "workspace_members?workspace_id=eq.{ws}&user_id=eq.{}",
            member.id
        ),
        Some(&member.token),
        Some(json!({ "role": "admin" })),
    )
    .await;
    res.assert_no_rows();

    // The last admin cannot leave.
    let res = postgrest_direct(
        Method::DELETE,
        &format!(
            "workspace_members?workspace_id=eq.{ws}&user_id=eq.{}",
            admin.id
        ),
        Some(&admin.token),
        None,
    )
    .await;
    res.assert_refused(409, "PT409");
    let roles = db()
        .await
        .query(
            "select user_id, role::text from public.workspace_members where workspace_id = $1 order by role",
            &[&ws],
        )
        .await
        .unwrap();
    let roles: Vec<(Uuid, String)> = roles.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        roles,
        vec![(admin.id, "admin".into()), (member.id, "member".into())]
    );
}

// ---------------------------------------------------------------------------------------
// Projects
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn projects_refuse_bad_text_and_low_roles() {
    let admin = user().await;
    let editor = user().await;
    let member = user().await;
    let ws = workspace(&admin).await;
    join(ws, &editor, "editor").await;
    join(ws, &member, "member").await;

    for body in [
        json!({ "workspace_id": ws, "name": "a\u{1}b" }),
        json!({ "workspace_id": ws, "name": "  spaced" }),
        json!({ "workspace_id": ws, "name": "ok", "description": "esc \u{1b}[31m red" }),
    ] {
        let res = postgrest_direct(Method::POST, "projects", Some(&editor.token), Some(body)).await;
        res.assert_refused(400, "23514");
    }
    let res = postgrest_direct(
        Method::POST,
        "projects",
        Some(&member.token),
        Some(json!({ "workspace_id": ws, "name": "From a member" })),
    )
    .await;
    res.assert_refused(403, "42501");
    assert_eq!(
        count(
            "select count(*) from public.projects where workspace_id = $1",
            &ws
        )
        .await,
        0
    );

    let id = project(ws, &admin, "Kept").await;
    let res = postgrest_direct(
        Method::PATCH,
        &format!("projects?id=eq.{id}"),
        Some(&editor.token),
        Some(json!({ "description": "line\u{7}bell" })),
    )
    .await;
    res.assert_refused(400, "23514");
    let res = postgrest_direct(
        Method::PATCH,
        &format!("projects?id=eq.{id}"),
        Some(&member.token),
        Some(json!({ "name": "Renamed by a member" })),
    )
    .await;
    res.assert_no_rows();
    let res = postgrest_direct(
        Method::DELETE,
        &format!("projects?id=eq.{id}"),
        Some(&editor.token),
        None,
    )
    .await;
    res.assert_no_rows();
    let row = db()
        .await
        .query_one(
            "select name, description from public.projects where id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "Kept");
    assert_eq!(row.get::<_, Option<String>>(1), None);
}

// ---------------------------------------------------------------------------------------
// Profiles and emails
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn profiles_refuse_active_html_bad_websites_and_names() {
    let other = user().await;
    let user = user().await;
    let path = format!("profiles?id=eq.{}", user.id);
    for body in [
        json!({ "bio": "<img src=x onerror=alert(1)>" }),
        json!({ "bio": "<a href=\"javascript:alert(1)\" rel=\"noopener noreferrer nofollow\">x</a>" }),
        json!({ "bio": "<p style=\"background:url(x)\">x</p>" }),
        json!({ "website": "javascript:alert(1)" }),
        json!({ "website": "http://example.com" }),
        json!({ "website": "https://user@example.com" }),
        json!({ "full_name": "<b>x</b>" }),
        json!({ "full_name": "Robert'); drop table students;--" }),
    ] {
        let res =
            postgrest_direct(Method::PATCH, &path, Some(&user.token), Some(body.clone())).await;
        res.assert_refused(400, "23514");
    }
    // A NUL is a 400 from PostgREST (text cannot hold it) and a 422 from the API.
    let res = postgrest_direct(
        Method::PATCH,
        &path,
        Some(&user.token),
        Some(json!({ "website": "https://x.com/\u{0}" })),
    )
    .await;
    assert_eq!(res.status, 400, "{res:?}");
    let api = Req::patch("/users/{id}")
        .param("id", user.id)
        .as_user(&user)
        .json(json!({ "website": "https://x.com/\u{0}" }))
        .send(&routes::UPDATE_USER)
        .await;
    api.assert_invalid("website");

    let row = db()
        .await
        .query_one(
            "select full_name, bio, website from public.profiles where id = $1",
            &[&user.id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, Option<String>>(1), None, "no bio stored");
    assert_eq!(row.get::<_, Option<String>>(2), None, "no website stored");

    // Through the API the same bio is sanitized, and what it stores passes the rule.
    let api = Req::patch("/users/{id}")
        .param("id", user.id)
        .as_user(&user)
        .json(json!({ "bio": "Hi <img src=x onerror=alert(1)><b>bold</b>" }))
        .send(&routes::UPDATE_USER)
        .await;
    assert_eq!(api.assert_ok(200)["bio"], "Hi <b>bold</b>");

    // Another user's profile: not touched.
    let res = postgrest_direct(
        Method::PATCH,
        &format!("profiles?id=eq.{}", other.id),
        Some(&user.token),
        Some(json!({ "bio": "owned" })),
    )
    .await;
    res.assert_no_rows();
    let res = postgrest_direct(
        Method::DELETE,
        &format!("profiles?id=eq.{}", user.id),
        Some(&user.token),
        None,
    )
    .await;
    res.assert_refused(403, "42501");
}

#[tokio::test]
async fn emails_are_private_to_their_owner_and_users_read() {
    let public = user().await;
    let user = user().await;
    let editor = user_with_role("editor").await;
    db().await
        .execute(
            "update public.profiles set public_profile = true where id = $1",
            &[&public.id],
        )
        .await
        .unwrap();

    let res = postgrest_direct(
        Method::GET,
        "profiles?select=id,email&public_profile=is.true",
        Some(&user.token),
        None,
    )
    .await;
    res.assert_refused(400, "42703");
    let res = postgrest_direct(
        Method::GET,
        &format!(
            "profiles?select=id,profile_emails(email)&id=eq.{}",
            public.id
        ),
        Some(&user.token),
        None,
    )
    .await;
    assert_eq!(res.status, 200, "{res:?}");
    assert_eq!(
        res.body,
        json!([{ "id": public.id, "profile_emails": null }])
    );
    let res = postgrest_direct(
        Method::GET,
        "profile_emails?select=id,email",
        Some(&user.token),
        None,
    )
    .await;
    assert_eq!(res.body, json!([{ "id": user.id, "email": user.email }]));
    let res = postgrest_direct(
        Method::POST,
        "rpc/search_users",
        Some(&user.token),
        Some(json!({ "p_search": "@" })),
    )
    .await;
    res.assert_refused(403, "42501");
    let res = postgrest_direct(
        Method::PATCH,
        &format!("profile_emails?id=eq.{}", user.id),
        Some(&user.token),
        Some(json!({ "email": "someone-else@example.test" })),
    )
    .await;
    res.assert_refused(403, "42501");

    // users.read holders see them (a search is a read: not counted as a write).
    let writes = format!("user:write:{}", editor.id);
    let before = counter(&writes).await;
    let res = postgrest_direct(
        Method::POST,
        &format!(
            "rpc/search_users?select=id,profile_emails(email)&id=eq.{}",
            user.id
        ),
        Some(&editor.token),
        Some(json!({ "p_search": user.email })),
    )
    .await;
    assert_eq!(
        res.body,
        json!([{ "id": user.id, "profile_emails": { "email": user.email } }])
    );
    assert_eq!(counter(&writes).await, before);

    // The API: a public profile without email for a user, with it for an editor.
    let api = Req::get("/users/{id}")
        .param("id", public.id)
        .as_user(&user)
        .send(&routes::GET_USER)
        .await;
    assert!(api.assert_ok(200).get("email").is_none());
    let api = Req::get("/users/{id}")
        .param("id", public.id)
        .as_user(&editor)
        .send(&routes::GET_USER)
        .await;
    assert_eq!(api.assert_ok(200)["email"], public.email);

    // An email change in Supabase Auth reaches the profile.
    let changed = format!("changed-{}@example.test", Uuid::new_v4());
    db().await
        .execute(
            "update auth.users set email = $2 where id = $1",
            &[&user.id, &changed],
        )
        .await
        .unwrap();
    let api = Req::get("/me").as_user(&user).send(&routes::ME).await;
    assert_eq!(api.assert_ok(200)["email"], changed);
}

#[tokio::test]
async fn sign_up_metadata_cannot_plant_a_hostile_name() {
    let id = Uuid::new_v4();
    db().await
        .execute(
            "insert into auth.users (id, aud, role, email, raw_user_meta_data) \
             values ($1, 'authenticated', 'authenticated', $2, $3)",
            &[
                &id,
                &format!("signup-{id}@example.test"),
                &json!({ "full_name": "<script>alert(1)</script>" }),
            ],
        )
        .await
        .unwrap();
    let name: Option<String> = db()
        .await
        .query_one(
            "select full_name from public.profiles where id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(name, None);
}

// ---------------------------------------------------------------------------------------
// Posts
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn posts_refuse_bad_titles_self_publishing_and_others_posts() {
    let author = user_with_role("user").await;
    let other = user_with_role("user").await;
    for body in [
        json!({ "title": "bell\u{7}" }),
        json!({ "title": " " }),
        json!({ "title": "ok", "body": "esc\u{1b}" }),
    ] {
        let res = postgrest_direct(Method::POST, "posts", Some(&author.token), Some(body)).await;
        res.assert_refused(400, "23514");
    }
    let res = postgrest_direct(
        Method::POST,
        "posts",
        Some(&author.token),
        Some(json!({ "title": "Straight to the front page", "published": true })),
    )
    .await;
    res.assert_refused(403, "42501");

    let own = post(&author, "Draft", false).await;
    let res = postgrest_direct(
        Method::PATCH,
        &format!("posts?id=eq.{own}"),
        Some(&author.token),
        Some(json!({ "published": true })),
    )
    .await;
    res.assert_refused(403, "42501");
    let res = postgrest_direct(
        Method::PATCH,
        &format!("posts?id=eq.{own}"),
        Some(&other.token),
        Some(json!({ "title": "Defaced" })),
    )
    .await;
    res.assert_no_rows();
    let res = postgrest_direct(
        Method::DELETE,
        &format!("posts?id=eq.{own}"),
        Some(&other.token),
        None,
    )
    .await;
    res.assert_no_rows();
    let row = db()
        .await
        .query_one(
            "select title, published from public.posts where id = $1",
            &[&own],
        )
        .await
        .unwrap();
    assert_eq!(
        (row.get::<_, String>(0), row.get::<_, bool>(1)),
        ("Draft".into(), false)
    );
    assert_eq!(
        count(
            "select count(*) from public.posts where author_id = $1",
            &author.id
        )
        .await,
        1
    );
}

// ---------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn settings_refuse_users_and_bad_values() {
    let _settings = SETTINGS_LOCK.lock().await;
    let user = user_with_role("user").await;
    let admin = user_with_role("admin").await;
    let res = postgrest_direct(
        Method::PATCH,
        "app_settings?key=eq.maintenance_mode",
        Some(&user.token),
        Some(json!({ "value": true })),
    )
    .await;
    res.assert_no_rows();
    for (key, value) in [
        ("site_name", json!("Site\u{7}")),
        ("site_name", json!(42)),
        ("maintenance_mode", json!("yes")),
        ("support_email", json!("not an email")),
    ] {
        let res = postgrest_direct(
            Method::PATCH,
            &format!("app_settings?key=eq.{key}"),
            Some(&admin.token),
            Some(json!({ "value": value })),
        )
        .await;
        res.assert_refused(400, "23514");
    }
    let stored: Value = db()
        .await
        .query_one(
            "select value from public.app_settings where key = 'maintenance_mode'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(stored.is_boolean(), "{stored}");
}

// ---------------------------------------------------------------------------------------
// Uploads
// ---------------------------------------------------------------------------------------

fn upload_row(owner: &TestUser, name: &str) -> (Uuid, Value) {
    let id = Uuid::new_v4();
    let row = json!({
        "id": id,
        "object_key": format!("pending/{}/{id}", owner.id),
        "original_name": name,
        "content_type": "image/png",
        "size_bytes": 100,
    });
    (id, row)
}

#[tokio::test]
async fn uploads_refuse_paths_self_approval_and_others() {
    let owner = user().await;
    let other = user().await;
    for name in ["../../etc/passwd", "a\\b.png", "..", "new\nline.png"] {
        let (_, row) = upload_row(&owner, name);
        let res = postgrest_direct(Method::POST, "uploads", Some(&owner.token), Some(row)).await;
        res.assert_refused(400, "23514");
    }
    let (_, mut row) = upload_row(&owner, "ready.png");
    row["status"] = json!("ready");
    let res = postgrest_direct(Method::POST, "uploads", Some(&owner.token), Some(row)).await;
    res.assert_refused(403, "42501");

    let (id, row) = upload_row(&owner, "photo.png");
    let res = postgrest_direct(Method::POST, "uploads", Some(&owner.token), Some(row)).await;
    assert_eq!(res.status, 201, "{res:?}");
    let res = postgrest_direct(
        Method::PATCH,
        &format!("uploads?id=eq.{id}"),
        Some(&owner.token),
        Some(json!({ "status": "ready" })),
    )
    .await;
    res.assert_refused(403, "42501");
    let res = postgrest_direct(
        Method::POST,
        "rpc/set_upload_status",
        Some(&owner.token),
        Some(json!({ "p_id": id, "p_owner": owner.id, "p_ready": true })),
    )
    .await;
    res.assert_refused(403, "42501");
    let res = postgrest_direct(
        Method::DELETE,
        &format!("uploads?id=eq.{id}"),
        Some(&other.token),
        None,
    )
    .await;
    res.assert_no_rows();
    let status: String = db()
        .await
        .query_one(
            "select status::text from public.uploads where id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(status, "pending");
}

// ---------------------------------------------------------------------------------------
// Rate limits and anonymous users
// ---------------------------------------------------------------------------------------

async fn counter(key: &str) -> i64 {
    db().await
        .query_one(
            "select coalesce(sum(hits), 0)::bigint from private.rate_limit_counters where key = $1",
            &[&key],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn direct_writes_share_the_api_counters_and_are_limited() {
    let user = user().await;
    // A minute's window: stay clear of its edge so all hits land in one.
    let secs = chrono::Utc::now().timestamp() % 60;
    if secs > 45 {
        tokio::time::sleep(std::time::Duration::from_secs((62 - secs) as u64)).await;
    }
    let key = format!("user:create-upload:{}", user.id);

    // Ten upload URLs through the API, counted by the pipeline once each.
    for i in 0..10 {
        let api = Req::post("/uploads")
            .as_user(&user)
            .json(json!({ "filename": format!("api-{i}.png"), "contentType": "image/png", "size": 100 }))
            .send(&routes::CREATE_UPLOAD)
            .await;
        api.assert_ok(201);
    }
    assert_eq!(
        counter(&key).await,
        10,
        "the API's writes are not counted twice"
    );

    // Ten more rows straight to PostgREST: the same counter, the same headers.
    for i in 0..10 {
        let (_, row) = upload_row(&user, &format!("direct-{i}.png"));
        let res = postgrest_direct(Method::POST, "uploads", Some(&user.token), Some(row)).await;
        assert_eq!(res.status, 201, "{res:?}");
        assert_eq!(
            res.header("ratelimit-policy"),
            Some("\"create-upload\";q=20;w=60")
        );
        let remaining = format!("\"create-upload\";r={};", 9 - i);
        assert!(
            res.header("ratelimit")
                .is_some_and(|v| v.starts_with(&remaining)),
            "{:?}",
            res.header("ratelimit")
        );
    }
    assert_eq!(counter(&key).await, 20);

    // The 21st is refused, directly and through the API.
    let (_, row) = upload_row(&user, "one-too-many.png");
    let res = postgrest_direct(Method::POST, "uploads", Some(&user.token), Some(row)).await;
    res.assert_refused(429, "RATE_LIMITED");
    let retry: u64 = res.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert!(res
        .header("ratelimit")
        .is_some_and(|v| v.starts_with("\"create-upload\";r=0;")));
    let api = Req::post("/uploads")
        .as_user(&user)
        .json(json!({ "filename": "api-late.png", "contentType": "image/png", "size": 100 }))
        .send(&routes::CREATE_UPLOAD)
        .await;
    api.assert_error(429, "RATE_LIMITED");
    assert_eq!(
        count(
            "select count(*) from public.uploads where owner_id = $1",
            &user.id
        )
        .await,
        20
    );

    // Other direct writes count against `write`, as the API's do.
    let before = counter(&format!("user:write:{}", user.id)).await;
    let res = postgrest_direct(
        Method::PATCH,
        &format!("profiles?id=eq.{}", user.id),
        Some(&user.token),
        Some(json!({ "bio": "counted" })),
    )
    .await;
    assert_eq!(res.status, 200, "{res:?}");
    assert_eq!(res.header("ratelimit-policy"), Some("\"write\";q=120;w=60"));
    assert_eq!(
        counter(&format!("user:write:{}", user.id)).await,
        before + 1
    );
}

#[tokio::test]
async fn a_forged_pass_is_counted_like_any_direct_write() {
    let user = user().await;
    let before = counter(&format!("user:write:{}", user.id)).await;
    let url = format!(
        "{}/profiles?id=eq.{}",
        stack().rest_url.trim_end_matches('/'),
        user.id
    );
    for pass in [Uuid::new_v4().to_string(), "not-a-uuid".into()] {
        let res = reqwest::Client::new()
            .patch(&url)
            .bearer_auth(&user.token)
            .header(shared::clients::postgrest::RATE_LIMIT_PASS, pass)
            .json(&json!({ "bio": "forged" }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 204);
    }
    assert_eq!(
        counter(&format!("user:write:{}", user.id)).await,
        before + 2
    );
}

#[tokio::test]
async fn anonymous_users_read_but_never_write() {
    let user = user().await;
    let token = anonymous(&user);
    let res = postgrest_direct(
        Method::POST,
        "posts",
        Some(&token),
        Some(json!({ "title": "From a guest" })),
    )
    .await;
    res.assert_refused(403, "42501");
    let res = postgrest_direct(
        Method::PATCH,
        &format!("profiles?id=eq.{}", user.id),
        Some(&token),
        Some(json!({ "bio": "guest" })),
    )
    .await;
    res.assert_refused(403, "42501");
    let api = Req::post("/posts")
        .bearer(&token)
        .json(json!({ "title": "From a guest" }))
        .send(&routes::CREATE_POST)
        .await;
    api.assert_error(403, "FORBIDDEN");
    // Reads work.
    let api = Req::get("/me").bearer(&token).send(&routes::ME).await;
    api.assert_ok(200);
    let api = Req::get("/posts")
        .bearer(&token)
        .send(&routes::LIST_POSTS)
        .await;
    api.assert_ok(200);
    assert_eq!(
        count(
            "select count(*) from public.posts where author_id = $1",
            &user.id
        )
        .await,
        0
    );
}

#[tokio::test]
async fn private_tables_stay_private() {
    let user = user_with_role("user").await;
    let other = user_with_role("admin").await;
    let res = postgrest_direct(Method::GET, "audit_log", Some(&user.token), None).await;
    res.assert_no_rows();
    let res = postgrest_direct(Method::GET, "rate_limit_rules", Some(&user.token), None).await;
    res.assert_refused(403, "42501");
    let res = postgrest_direct(
        Method::GET,
        &format!("user_roles?user_id=eq.{}", other.id),
        Some(&user.token),
        None,
    )
    .await;
    res.assert_no_rows();
    let res = postgrest_direct(
        Method::PATCH,
        &format!("user_roles?user_id=eq.{}", user.id),
        Some(&user.token),
        Some(json!({ "role": "admin" })),
    )
    .await;
    res.assert_no_rows();
}

#[tokio::test]
async fn reads_show_only_what_the_api_shows() {
    let admin = user().await;
    let outsider = user_with_role("user").await;
    let ws = workspace(&admin).await;
    let project = project(ws, &admin, "Secret plans").await;
    let draft = post(&admin, "Unpublished", false).await;
    let (upload, row) = upload_row(&admin, "private.png");
    let res = postgrest_direct(Method::POST, "uploads", Some(&admin.token), Some(row)).await;
    assert_eq!(res.status, 201, "{res:?}");

    for path in [
        format!("workspaces?id=eq.{ws}"),
        format!("workspace_members?workspace_id=eq.{ws}"),
        format!("projects?id=eq.{project}"),
        format!("projects?workspace_id=eq.{ws}"),
        format!("posts?id=eq.{draft}"),
        format!("uploads?id=eq.{upload}"),
        "app_settings".to_owned(),
        format!("profiles?id=eq.{}", admin.id),
        format!("profile_emails?id=eq.{}", admin.id),
    ] {
        let res = postgrest_direct(Method::GET, &path, Some(&outsider.token), None).await;
        assert_eq!(res.status, 200, "{path}: {res:?}");
        res.assert_no_rows();
    }
    // The API says the same (404 for what is not the caller's).
    let api = Req::get("/projects/{id}")
        .param("id", project)
        .as_user(&outsider)
        .send(&routes::GET_PROJECT)
        .await;
    api.assert_error(404, "NOT_FOUND");

    // The service role's functions are not the user's.
    for (function, args) in [
        ("record_audit_event", json!({ "p_action": "FORGED" })),
        (
            "hit_subject_limit",
            json!({ "p_rule": "sign-in:ip", "p_subject": "198.51.100.1" }),
        ),
        (
            "peek_subject_limit",
            json!({ "p_rule": "sign-in:ip", "p_subject": "198.51.100.1" }),
        ),
        (
            "hit_rate_limit",
            json!({ "p_key": "x", "p_limit": 1000000, "p_window_seconds": 1 }),
        ),
    ] {
        let res = postgrest_direct(
            Method::POST,
            &format!("rpc/{function}"),
            Some(&outsider.token),
            Some(args),
        )
        .await;
        res.assert_refused(403, "42501");
    }
    // Nobody without a token reads anything.
    for path in ["profiles", "posts", "profile_emails", "workspaces"] {
        let res = postgrest_direct(Method::GET, path, None, None).await;
        res.assert_refused(401, "42501");
    }
}

// ---------------------------------------------------------------------------------------
// The two lines of defence are the same rules
// ---------------------------------------------------------------------------------------

/// Runs `sql_rule` (a `private.is_*` function) on the value the API would store.
async fn sql_accepts(client: &tokio_postgres::Client, sql_rule: &str, value: &str) -> bool {
    client
        .query_one(&format!("select private.{sql_rule}($1)"), &[&value])
        .await
        .unwrap_or_else(|e| panic!("{sql_rule}({value:?}): {e}"))
        .get(0)
}

const CORPUS: &[&str] = &[
    "a",
    "Zoë Ålund",
    "Anne-Marie O'Neil 2",
    "日本語の名前",
    "محمد ١٢٣",
    " padded ",
    "\u{a0}nbsp\u{a0}",
    "\u{3000}ideographic",
    "in\u{2028}side",
    "",
    " ",
    "tab\there",
    "new\nline",
    "bell\u{7}",
    "del\u{7f}",
    "c1\u{85}",
    "c1\u{9f}",
    "zero\u{200b}width",
    "rtl\u{202e}override",
    "<b>x</b>",
    "a.b",
    "a;b",
    "emoji 😀",
    "photo (1).png",
    "../etc/passwd",
    "a/b",
    "a\\b",
    ".",
    "..",
    "https://example.com",
    "https://example.com/@me?x=1#y",
    "https://example.com:8443/a/b",
    "https://[::1]/x",
    "http://example.com",
    "HTTPS://example.com",
    "https://user@example.com",
    "https://user:pw@example.com",
    "https:///example.com",
    "https://example.com/a b",
    "https://example.com/\u{a0}",
    "https://á¥",
    "https://münchen.de",
    "https://xn--mnchen-3ya.de/a%20b?q=%C3%BC#top",
    "https://example.com/\"q\"",
    "https://example.com/<b>",
    "https://example.com/a%2",
    "https://example.com/a#b#c",
    "https://",
    "javascript:alert(1)",
    "line\r\nbreak",
];

#[tokio::test]
async fn the_rust_validators_and_the_sql_rules_agree() {
    type Rule = fn(&str) -> bool;
    // (SQL function, Rust validator, whether the handler trims before storing)
    let rules: [(&str, Rule, bool); 5] = [
        ("is_plain_text", |v| validate::plain_text(v).is_ok(), true),
        ("is_free_text", |v| validate::free_text(v).is_ok(), false),
        ("is_person_name", |v| validate::person_name(v).is_ok(), true),
        ("is_https_url", |v| validate::https_url(v).is_ok(), false),
        ("is_file_name", |v| validate::file_name(v).is_ok(), true),
    ];
    // What the API accepts, the database accepts as the API stores it (trimmed where
    // the handler trims); what the API refuses, the database refuses as written (a
    // direct write cannot store it either).
    let client = db().await;
    let mut disagreements = Vec::new();
    for (sql_rule, rust_rule, trims) in rules {
        for value in CORPUS {
            if rust_rule(value) {
                let stored = if trims { value.trim() } else { value };
                if !sql_accepts(&client, sql_rule, stored).await {
                    disagreements.push(format!(
                        "{sql_rule}: the API stores {stored:?}, the database refuses it"
                    ));
                }
            } else if sql_accepts(&client, sql_rule, value).await {
                disagreements.push(format!(
                    "{sql_rule}: the API refuses {value:?}, the database takes it"
                ));
            }
        }
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}

#[tokio::test]
async fn whatever_the_sanitizer_keeps_the_database_accepts() {
    let client = db().await;
    for dirty in [
        "<p onclick=\"x()\">Hi <b>there</b></p>",
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<a href=\"javascript:alert(1)\">j</a>",
        "<a href=\"https://ok.example/?a=1&b=\\\"2\\\"\" target=\"_blank\">ok</a>",
        "<a href=\"/relative\">r</a><a href=\"mailto:me@example.com\">m</a>",
        "<svg><script>alert(1)</script></svg>",
        "<scr<script>ipt>alert(1)</scr</script>ipt>",
        "1 < 2 && 3 > 2 \"quoted\" 'single'",
        "<p>unclosed <b>bold <i>italic",
        "<!-- comment --><style>p{}</style><iframe src=x></iframe>",
        "line\nbreak\ttab",
        "\u{a0}&nbsp;entities &amp; &lt;",
        "<A HREF=\"HTTPS://EXAMPLE.COM\">caps</A>",
        "<a href=\"https://x.example/<b>\">angle brackets in a URL</a>",
    ] {
        let clean = validate::sanitize_bio(dirty);
        assert!(
            sql_accepts(&client, "is_safe_html", &clean).await,
            "the sanitizer kept {clean:?} (from {dirty:?}), which the database refuses"
        );
    }
}

/// A JSON string of `n` characters.
fn text(n: usize) -> String {
    "x".repeat(n)
}

#[tokio::test]
async fn every_length_limit_is_the_same_at_the_api_and_in_the_database() {
    struct Limit {
        what: &'static str,
        max: usize,
        /// The API request with a value of `n` characters: (route, request).
        api: fn(n: usize, user: &TestUser, ws: Uuid) -> (shared::Route, Req),
        /// The direct request with a value of `n` characters: (method, path, body).
        direct: fn(n: usize, user: &TestUser, ws: Uuid) -> (Method, String, Value),
        field: &'static str,
    }
    let limits = [
        Limit {
            what: "workspaces.name",
            max: 100,
            field: "name",
            api: |n, _, _| {
                (
                    routes::CREATE_WORKSPACE,
                    Req::post("/workspaces").json(json!({ "name": text(n) })),
                )
            },
            direct: |n, _, _| {
                (
                    Method::POST,
                    "rpc/create_workspace".into(),
                    json!({ "name": text(n) }),
                )
            },
        },
        Limit {
            what: "projects.name",
            max: 100,
            field: "name",
            api: |n, _, ws| {
                (
                    routes::CREATE_PROJECT,
                    Req::post("/projects").json(json!({ "name": text(n), "workspaceId": ws })),
                )
            },
            direct: |n, _, ws| {
                (
                    Method::POST,
                    "projects".into(),
                    json!({ "name": text(n), "workspace_id": ws }),
                )
            },
        },
        Limit {
            what: "projects.description",
            max: 1000,
            field: "description",
            api: |n, _, ws| {
                (
                    routes::CREATE_PROJECT,
                    Req::post("/projects")
                        .json(json!({ "name": "P", "description": text(n), "workspaceId": ws })),
                )
            },
            direct: |n, _, ws| {
                (
                    Method::POST,
                    "projects".into(),
                    json!({ "name": "P", "description": text(n), "workspace_id": ws }),
                )
            },
        },
        Limit {
            what: "posts.title",
            max: 200,
            field: "title",
            api: |n, _, _| {
                (
                    routes::CREATE_POST,
                    Req::post("/posts").json(json!({ "title": text(n) })),
                )
            },
            direct: |n, _, _| (Method::POST, "posts".into(), json!({ "title": text(n) })),
        },
        Limit {
            what: "posts.body",
            max: 20000,
            field: "body",
            api: |n, _, _| {
                (
                    routes::CREATE_POST,
                    Req::post("/posts").json(json!({ "title": "T", "body": text(n) })),
                )
            },
            direct: |n, _, _| {
                (
                    Method::POST,
                    "posts".into(),
                    json!({ "title": "T", "body": text(n) }),
                )
            },
        },
        Limit {
            what: "profiles.full_name",
            max: 100,
            field: "name",
            api: |n, user, _| {
                (
                    routes::UPDATE_USER,
                    Req::patch("/users/{id}")
                        .param("id", user.id)
                        .json(json!({ "name": text(n) })),
                )
            },
            direct: |n, user, _| {
                (
                    Method::PATCH,
                    format!("profiles?id=eq.{}", user.id),
                    json!({ "full_name": text(n) }),
                )
            },
        },
        Limit {
            what: "profiles.website",
            max: 300,
            field: "website",
            api: |n, user, _| {
                (
                    routes::UPDATE_USER,
                    Req::patch("/users/{id}")
                        .param("id", user.id)
                        .json(json!({ "website": format!("https://x.example/{}", text(n - 18)) })),
                )
            },
            direct: |n, user, _| {
                (
                    Method::PATCH,
                    format!("profiles?id=eq.{}", user.id),
                    json!({ "website": format!("https://x.example/{}", text(n - 18)) }),
                )
            },
        },
        Limit {
            what: "uploads.original_name",
            max: 255,
            field: "filename",
            api: |n, _, _| {
                (
                    routes::CREATE_UPLOAD,
                    Req::post("/uploads").json(
                        json!({ "filename": text(n), "contentType": "image/png", "size": 10 }),
                    ),
                )
            },
            direct: |n, user, _| {
                let (_, row) = upload_row(user, &text(n));
                (Method::POST, "uploads".into(), row)
            },
        },
    ];
    for limit in limits {
        // A user and workspace per limit: each counts against its own write allowance.
        let user = user().await;
        let ws = workspace(&user).await;
        for (n, accepted) in [(limit.max, true), (limit.max + 1, false)] {
            let (route, req) = (limit.api)(n, &user, ws);
            let api = req.as_user(&user).send(&route).await;
            if accepted {
                assert!(
                    api.status.is_success(),
                    "{}: the API refused {n} characters: {}",
                    limit.what,
                    api.body
                );
            } else {
                api.assert_invalid(limit.field);
            }
            let (method, path, body) = (limit.direct)(n, &user, ws);
            let res = postgrest_direct(method, &path, Some(&user.token), Some(body)).await;
            if accepted {
                assert!(
                    (200..300).contains(&res.status),
                    "{}: the database refused {n} characters: {res:?}",
                    limit.what
                );
            } else {
                assert_eq!(
                    (res.status, ["23514", "22001"].contains(&res.code())),
                    (400, true),
                    "{}: the database took {n} characters: {res:?}",
                    limit.what
                );
            }
        }
    }
}

#[tokio::test]
async fn no_client_gets_a_rate_limit_pass_or_steers_the_gate_by_spelling() {
    let user = user().await;
    // A user's own hit counts, and hands out no pass to replay on direct writes.
    let own = postgrest_direct(
        reqwest::Method::POST,
        "rpc/hit_route_limit",
        Some(&user.token),
        Some(json!({ "p_rule": "write" })),
    )
    .await;
    assert_eq!(own.status, 200, "{own:?}");
    assert!(own.body.get("pass").is_none(), "{own:?}");
    // The pipeline's entry point, which mints passes, is the service role's alone.
    let claims = json!({ "sub": user.id, "session_id": user.id, "role": "authenticated" });
    let minted = postgrest_direct(
        reqwest::Method::POST,
        "rpc/hit_route_limit_for",
        Some(&user.token),
        Some(json!({ "p_claims": claims, "p_rule": "write" })),
    )
    .await;
    minted.assert_refused(403, "42501");
    let counted: i64 = db()
        .await
        .query_one(
            "select count(*) from private.rate_limit_passes where user_id = $1",
            &[&user.id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(counted, 0, "no pass exists for the user");

    // create_upload spelled with a percent-encoded name still runs create_upload, and
    // is counted under create-upload, as PostgREST routes it.
    let id = Uuid::new_v4();
    let upload = postgrest_direct(
        reqwest::Method::POST,
        "rpc/create%5Fupload",
        Some(&user.token),
        Some(json!({
            "p_id": id,
            "p_original_name": "cat.png",
            "p_content_type": "image/png",
            "p_size_bytes": 1000
        })),
    )
    .await;
    assert_eq!(upload.status, 200, "{upload:?}");
    assert!(
        upload
            .header("ratelimit-policy")
            .is_some_and(|p| p.starts_with("\"create-upload\"")),
        "{upload:?}"
    );
}
