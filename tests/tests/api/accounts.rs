//! An account's copy and its leaving (issue 23): GET /me/export, DELETE /me, and
//! DELETE /users/{id}'s last-admin rule.
//!
//! Deleting goes through Supabase Auth's admin API, and the password check through its
//! password grant: here the stand-in (tools/devstack/src/auth/), which
//! deletes from auth.users so the database's trigger and cascades run as they would
//! under GoTrue, and answers a refused delete as GoTrue does (500 "Database error
//! deleting user"). Each test makes its own users; what happened is read from the
//! database as the superuser.

use chrono::Utc;
use functions::routes;
use functions::sessions::SIGN_IN_PER_EMAIL;
use integration_tests::s3;
use integration_tests::*;
use serde_json::{json, Value};
use uuid::Uuid;

const ALLOWED: &str = "http://localhost:3000";
const FOREIGN: &str = "https://evil.example";
const PASSWORD: &str = "correct horse battery staple";

/// An access token of the user's live session that signed in `ago` seconds ago (the
/// `amr` Supabase Auth writes).
fn signed_in_ago(u: &TestUser, ago: i64) -> String {
    let at = Utc::now().timestamp() - ago;
    es256_token(
        u.id,
        json!({ "email": u.email, "amr": [{ "method": "password", "timestamp": at }] }),
    )
}

fn delete_me(token: &str) -> Req {
    Req::delete("/me").bearer(token)
}

async fn exists(id: Uuid) -> bool {
    db().await
        .query_opt("select 1 from auth.users where id = $1", &[&id])
        .await
        .unwrap()
        .is_some()
}

async fn count(sql: &str, id: &(dyn tokio_postgres::types::ToSql + Sync)) -> i64 {
    db().await.query_one(sql, &[id]).await.unwrap().get(0)
}

async fn sessions_of(u: &TestUser) -> i64 {
    count(
        "select count(*) from auth.sessions where user_id = $1",
        &u.id,
    )
    .await
}

/// The account's audit trail of its leaving: (actor, ip, user agent) of ACCOUNT_DELETED.
async fn account_deleted(id: Uuid) -> Vec<(Option<Uuid>, Option<String>, Option<String>)> {
    db().await
        .query(
            "select actor_id, host(ip), user_agent from public.audit_log \
             where action = 'ACCOUNT_DELETED' and target = $1",
            &[&format!("user:{id}")],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

#[track_caller]
fn blocking_workspaces(res: &Res) -> Vec<(String, String)> {
    res.assert_error(409, "CONFLICT");
    res.body["error"]["details"]["workspaces"]
        .as_array()
        .unwrap_or_else(|| panic!("details.workspaces: {}", res.body))
        .iter()
        .map(|w| {
            (
                w["id"].as_str().unwrap().to_owned(),
                w["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// DELETE /me
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_recent_sign_in_deletes_the_account_its_rows_and_files() {
    let leaver = user_with_role("editor").await;
    let other = user().await;
    // Alone in one workspace, an editor in another's, admin with another admin in a third.
    let alone = workspace(&leaver).await;
    let solo_project = project(alone, &leaver, "Solo").await;
    let theirs = workspace(&other).await;
    join(theirs, &leaver, "editor").await;
    let shared_project = project(theirs, &leaver, "Shared").await;
    let two_admins = workspace(&leaver).await;
    join(two_admins, &other, "admin").await;
    post(&leaver, "a post", true).await;
    let upload = s3::ready_by_hand(&leaver, "photo.png", "image/png", &s3::png()).await;
    db().await
        .execute(
            "insert into public.audit_log (action, actor_id, ip, user_agent) \
             values ('SIGN_IN', $1, '192.0.2.7', 'the leaver''s browser')",
            &[&leaver.id],
        )
        .await
        .unwrap();
    let token = signed_in_ago(&leaver, 60);

    let res = delete_me(&token)
        .ip("192.0.2.7")
        .send(&routes::DELETE_MY_ACCOUNT)
        .await;
    res.assert_ok(204);
    assert_eq!(res.body, Value::Null);

    assert!(!exists(leaver.id).await, "the auth user is gone");
    let id = &leaver.id;
    for (what, sql) in [
        (
            "profile",
            "select count(*) from public.profiles where id = $1",
        ),
        (
            "role",
            "select count(*) from public.user_roles where user_id = $1",
        ),
        (
            "posts",
            "select count(*) from public.posts where author_id = $1",
        ),
        (
            "uploads",
            "select count(*) from public.uploads where owner_id = $1",
        ),
        (
            "memberships",
            "select count(*) from public.workspace_members where user_id = $1",
        ),
        (
            "sessions",
            "select count(*) from auth.sessions where user_id = $1",
        ),
    ] {
        assert_eq!(count(sql, id).await, 0, "{what} left behind");
    }
    let workspaces_left = |w: Uuid| async move {
        count("select count(*) from public.workspaces where id = $1", &w).await
    };
    assert_eq!(
        workspaces_left(alone).await,
        0,
        "the workspace only they were in"
    );
    assert_eq!(
        count(
            "select count(*) from public.projects where id = $1",
            &solo_project
        )
        .await,
        0
    );
    assert_eq!(
        workspaces_left(theirs).await,
        1,
        "someone else's workspace stays"
    );
    assert_eq!(
        workspaces_left(two_admins).await,
        1,
        "a workspace with another admin stays"
    );
    assert_eq!(
        count(
            "select count(*) from public.projects where id = $1 and created_by is null",
            &shared_project
        )
        .await,
        1,
        "their project in a shared workspace stays, without its creator"
    );
    // The file is queued for the sweep (storage_sweep.rs deletes such files from S3).
    let queued: Vec<String> = db()
        .await
        .query(
            "select object_key from private.storage_deletions where object_key like '%' || $1 order by 1",
            &[&upload.to_string()],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        queued,
        [
            s3::file_key(leaver.id, upload),
            s3::pending_key(leaver.id, upload)
        ]
    );
    // The audit trail: the leaving, with no actor, address or user agent; and their
    // earlier events without theirs.
    assert_eq!(account_deleted(leaver.id).await, [(None, None, None)]);
    let kept: i64 = db()
        .await
        .query_one(
            "select count(*) from public.audit_log where user_agent = 'the leaver''s browser' or ip = '192.0.2.7'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        kept, 0,
        "their address and user agent stay in the audit log"
    );

    // The token they still hold opens nothing.
    let res = Req::get("/me").bearer(&token).send(&routes::ME).await;
    res.assert_error(401, "UNAUTHORIZED");
    let res = delete_me(&token).send(&routes::DELETE_MY_ACCOUNT).await;
    res.assert_error(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn a_token_supabase_auth_issued_at_sign_in_is_recent_enough() {
    let leaver = user_with_password(PASSWORD).await;
    let app = app();
    let grant: Value = reqwest::Client::new()
        .post(format!(
            "{}/auth/v1/token?grant_type=password",
            stack().supabase_url.trim_end_matches('/')
        ))
        .header("apikey", &app.config.anon_key)
        .json(&json!({ "email": leaver.email, "password": PASSWORD }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = grant["access_token"].as_str().expect("an access token");
    let res = delete_me(token).send(&routes::DELETE_MY_ACCOUNT).await;
    res.assert_ok(204);
    assert!(!exists(leaver.id).await);
}

#[tokio::test]
async fn an_old_sign_in_needs_the_password_and_a_wrong_one_is_refused() {
    let leaver = user_with_password(PASSWORD).await;
    let ip = test_ip();
    let sessions_before = sessions_of(&leaver).await;
    let old = signed_in_ago(&leaver, 3600);
    let no_amr = es256_token(leaver.id, json!({ "email": leaver.email }));
    for token in [&old, &no_amr] {
        let res = delete_me(token)
            .ip(&ip)
            .send(&routes::DELETE_MY_ACCOUNT)
            .await;
        res.assert_error(403, "REAUTHENTICATION_NEEDED");
        assert!(res.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("sign in again"));
    }

    let res = delete_me(&old)
        .ip(&ip)
        .json(json!({ "password": "not the password" }))
        .send(&routes::DELETE_MY_ACCOUNT)
        .await;
    res.assert_error(403, "REAUTHENTICATION_NEEDED");
    assert_no_leak(&res);
    assert!(
        exists(leaver.id).await,
        "a wrong password deleted the account"
    );
    assert_eq!(sessions_of(&leaver).await, sessions_before);
    let failed = audit_rows("actor_id = $1", &leaver.id).await;
    assert!(
        failed
            .iter()
            .any(|(action, _, _)| action == "REAUTHENTICATION_FAILED"),
        "{failed:?}"
    );
    // The two refusals without a password are access denials; the wrong password is
    // audited once, as itself.
    let denied: i32 = failed
        .iter()
        .filter(|(action, _, _)| action == "ACCESS_DENIED")
        .map(|(_, _, n)| n)
        .sum();
    assert_eq!(denied, 2, "{failed:?}");

    let res = delete_me(&old)
        .ip(&ip)
        .json(json!({ "password": PASSWORD }))
        .send(&routes::DELETE_MY_ACCOUNT)
        .await;
    res.assert_ok(204);
    assert!(!exists(leaver.id).await);
    assert_eq!(
        sessions_of(&leaver).await,
        0,
        "the password check's session too"
    );
}

#[tokio::test]
async fn wrong_passwords_here_count_as_failed_sign_ins() {
    let leaver = user_with_password(PASSWORD).await;
    let ip = test_ip();
    let old = signed_in_ago(&leaver, 3600);
    for _ in 0..SIGN_IN_PER_EMAIL.max {
        delete_me(&old)
            .ip(&ip)
            .json(json!({ "password": "a guess" }))
            .send(&routes::DELETE_MY_ACCOUNT)
            .await
            .assert_error(403, "REAUTHENTICATION_NEEDED");
    }
    // Over the limit, not even the right password is tried, here or at sign-in.
    let res = delete_me(&old)
        .ip(&ip)
        .json(json!({ "password": PASSWORD }))
        .send(&routes::DELETE_MY_ACCOUNT)
        .await;
    res.assert_error(429, "RATE_LIMITED");
    assert!(res.header("retry-after").is_some());
    assert!(exists(leaver.id).await);
    let res = Req::post("/auth/sign-in")
        .ip(&ip)
        .json(json!({ "email": leaver.email, "password": PASSWORD }))
        .send(&routes::SIGN_IN)
        .await;
    res.assert_error(429, "RATE_LIMITED");
}

#[tokio::test]
async fn the_last_admin_of_a_workspace_with_members_is_refused_409_naming_it() {
    let leaver = user_with_password(PASSWORD).await;
    let member = user().await;
    let shared = workspace(&leaver).await;
    join(shared, &member, "member").await;
    let alone = workspace(&leaver).await;
    let name = format!("ws-{shared}");

    let recent = signed_in_ago(&leaver, 30);
    let res = delete_me(&recent).send(&routes::DELETE_MY_ACCOUNT).await;
    assert_eq!(
        blocking_workspaces(&res),
        [(shared.to_string(), name.clone())]
    );
    assert_no_leak(&res);
    assert!(exists(leaver.id).await);
    assert_eq!(
        count(
            "select count(*) from public.workspaces where id = $1",
            &alone
        )
        .await,
        1,
        "nothing went: not even the workspace only they are in"
    );
    assert!(account_deleted(leaver.id).await.is_empty());

    // With the password: the same 409, and the session the check opened is ended.
    let sessions_before = sessions_of(&leaver).await;
    let old = signed_in_ago(&leaver, 3600);
    let res = delete_me(&old)
        .ip(&test_ip())
        .json(json!({ "password": PASSWORD }))
        .send(&routes::DELETE_MY_ACCOUNT)
        .await;
    assert_eq!(blocking_workspaces(&res), [(shared.to_string(), name)]);
    assert_eq!(sessions_of(&leaver).await, sessions_before);

    // An admin deleting them is refused the same way.
    let admin = user_with_role("admin").await;
    let res = Req::delete("/users/{id}")
        .param("id", leaver.id)
        .as_user(&admin)
        .send(&routes::DELETE_USER)
        .await;
    assert_eq!(blocking_workspaces(&res).len(), 1);
    assert!(exists(leaver.id).await);

    // Once the member is an admin too, the account goes.
    db().await
        .execute(
            "update public.workspace_members set role = 'admin' where workspace_id = $1 and user_id = $2",
            &[&shared, &member.id],
        )
        .await
        .unwrap();
    delete_me(&recent)
        .send(&routes::DELETE_MY_ACCOUNT)
        .await
        .assert_ok(204);
    assert!(!exists(leaver.id).await);
    assert_eq!(
        count("select count(*) from public.workspace_members where workspace_id = $1 and role = 'admin'", &shared).await,
        1
    );
}

#[tokio::test]
async fn a_bad_body_is_refused_before_anything_is_deleted() {
    let leaver = user().await;
    let recent = signed_in_ago(&leaver, 10);
    let cases: Vec<(Req, u16, &str, Option<&str>)> = vec![
        (
            delete_me(&recent).json(json!({ "password": 5 })),
            422,
            "VALIDATION_ERROR",
            Some("password"),
        ),
        (
            delete_me(&recent).json(json!({ "password": null })),
            422,
            "VALIDATION_ERROR",
            Some("password"),
        ),
        (
            delete_me(&recent).json(json!({ "password": "" })),
            422,
            "VALIDATION_ERROR",
            Some("password"),
        ),
        (
            delete_me(&recent).json(json!({ "password": "a\u{0}b" })),
            422,
            "VALIDATION_ERROR",
            Some("password"),
        ),
        (
            delete_me(&recent).json(json!({ "reason": "bye" })),
            422,
            "VALIDATION_ERROR",
            Some("reason"),
        ),
        (
            delete_me(&recent).json(json!(["password"])),
            422,
            "VALIDATION_ERROR",
            Some("body"),
        ),
        (
            delete_me(&recent).raw_body("application/json", "{not json"),
            400,
            "BAD_REQUEST",
            None,
        ),
        (
            delete_me(&recent).raw_body("text/plain", "password=x"),
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            None,
        ),
        (
            delete_me(&recent).raw_body(
                "application/json",
                &format!("{{\"password\":\"{}\"}}", "x".repeat(70_000)),
            ),
            413,
            "PAYLOAD_TOO_LARGE",
            None,
        ),
    ];
    for (req, status, code, field) in cases {
        let res = req.send(&routes::DELETE_MY_ACCOUNT).await;
        res.assert_error(status, code);
        if let Some(field) = field {
            res.assert_invalid(field);
        }
        assert!(exists(leaver.id).await, "deleted despite {status} {code}");
    }
}

#[tokio::test]
async fn with_the_session_cookie_the_cookie_is_cleared_and_other_sites_are_refused() {
    let leaver = user().await;
    let cookie = format!(
        "{}={}",
        cookie_name(),
        session_cookie_value(&signed_in_ago(&leaver, 10))
    );
    let res = Req::delete("/me")
        .cookie(&cookie)
        .header("origin", FOREIGN)
        .send(&routes::DELETE_MY_ACCOUNT)
        .await;
    res.assert_error(403, "CSRF_FAILED");
    assert!(exists(leaver.id).await);

    let res = Req::delete("/me")
        .cookie(&cookie)
        .header("origin", ALLOWED)
        .send(&routes::DELETE_MY_ACCOUNT)
        .await;
    res.assert_ok(204);
    assert!(!exists(leaver.id).await);
    let cleared = res
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|c| c.starts_with(&format!("{}=;", cookie_name())) && c.contains("Max-Age=0"));
    assert!(cleared, "the session cookie is cleared: {:?}", res.headers);
}

#[tokio::test]
async fn supabase_auth_down_deletes_nothing() {
    let leaver = user().await;
    let res = send_with(
        &app_with_unreachable_auth(),
        &routes::DELETE_MY_ACCOUNT,
        delete_me(&signed_in_ago(&leaver, 10)).build(),
    )
    .await;
    res.assert_error(503, "SERVICE_UNAVAILABLE");
    assert!(exists(leaver.id).await);
    assert!(account_deleted(leaver.id).await.is_empty());
}

#[tokio::test]
async fn straight_to_postgrest_no_one_asks_about_or_leaves_a_workspace_as_its_last_admin() {
    let admin = user().await;
    let member = user().await;
    let shared = workspace(&admin).await;
    join(shared, &member, "member").await;
    // The blockers are the service role's question.
    for token in [
        Some(admin.token.as_str()),
        Some(member.token.as_str()),
        None,
    ] {
        let res = postgrest_direct(
            reqwest::Method::POST,
            "rpc/account_deletion_blockers",
            token,
            Some(json!({ "p_user": admin.id })),
        )
        .await;
        assert!(matches!(res.status, 401 | 403 | 404), "{token:?}: {res:?}");
    }
    // The last admin cannot step out of the workspace or down in it.
    let res = postgrest_direct(
        reqwest::Method::DELETE,
        &format!(
            "workspace_members?workspace_id=eq.{shared}&user_id=eq.{}",
            admin.id
        ),
        Some(&admin.token),
        None,
    )
    .await;
    assert_eq!(res.status, 409, "{res:?}");
    let res = postgrest_direct(
        reqwest::Method::PATCH,
        &format!(
            "workspace_members?workspace_id=eq.{shared}&user_id=eq.{}",
            admin.id
        ),
        Some(&admin.token),
        Some(json!({ "role": "member" })),
    )
    .await;
    assert_eq!(res.status, 409, "{res:?}");
    // And no function deletes an account.
    let res = postgrest_direct(
        reqwest::Method::DELETE,
        &format!("users?id=eq.{}", admin.id),
        Some(&admin.token),
        None,
    )
    .await;
    assert!(matches!(res.status, 404 | 401 | 403), "{res:?}");
    assert!(exists(admin.id).await);
    let role: String = db()
        .await
        .query_one(
            "select role::text from public.workspace_members where workspace_id = $1 and user_id = $2",
            &[&shared, &admin.id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(role, "admin", "the last admin is still the admin");
}

// ---------------------------------------------------------------------------------------
// GET /me/export
// ---------------------------------------------------------------------------------------

fn export(u: &TestUser, part: &str) -> Req {
    Req::get("/me/export").as_user(u).query("part", part)
}

/// One page of a part: its items (checking the part is named).
#[track_caller]
fn items<'a>(res: &'a Res, part: &str) -> &'a Vec<Value> {
    let data = res.assert_ok(200);
    assert_eq!(data["part"], json!(part), "{data}");
    data["items"].as_array().expect("items")
}

#[tokio::test]
async fn an_export_holds_everything_the_user_owns_or_wrote_and_nothing_else() {
    let me = user_with_role("editor").await;
    let other = user().await;
    db().await
        .execute(
            "update public.profiles set full_name = 'Ivy Export', bio = '<p>hi</p>' where id = $1",
            &[&me.id],
        )
        .await
        .unwrap();
    let mine = workspace(&me).await;
    join(mine, &other, "member").await;
    let theirs = workspace(&other).await;
    join(theirs, &me, "editor").await;
    let my_project = project(theirs, &me, "Mine in theirs").await;
    let their_project = project(theirs, &other, "Theirs").await;
    let published = post(&me, "Published", true).await;
    let draft = post(&me, "Draft", false).await;
    let their_post = post(&other, "Not mine", true).await;
    let ready = s3::ready_by_hand(&me, "photo.png", "image/png", &s3::png()).await;
    let pending = s3::create_ok(&me, "later.png", "image/png", 10).await.id;
    db().await
        .execute(
            "insert into public.audit_log (action, actor_id, ip, user_agent) values \
             ('SIGN_IN', $1, '192.0.2.31', 'my browser'), ('SIGN_IN', $2, '192.0.2.32', 'their browser')",
            &[&me.id, &other.id],
        )
        .await
        .unwrap();

    let res = Req::get("/me/export")
        .as_user(&me)
        .send(&routes::EXPORT_MY_DATA)
        .await;
    let account = &items(&res, "account")[0];
    assert_eq!(account["id"], json!(me.id));
    assert_eq!(account["email"], json!(me.email));
    assert_eq!(account["role"], json!("editor"));
    assert_eq!(account["profile"]["name"], json!("Ivy Export"));
    assert_eq!(account["profile"]["bio"], json!("<p>hi</p>"));
    assert_eq!(
        account["counts"],
        json!({ "memberships": 2, "workspaces": 1, "projects": 1, "posts": 2, "uploads": 2, "audit": 1 })
    );
    assert_eq!(res.body["pagination"]["total"], json!(1));

    let res = export(&me, "memberships")
        .send(&routes::EXPORT_MY_DATA)
        .await;
    let memberships: Vec<(Value, Value)> = items(&res, "memberships")
        .iter()
        .map(|m| (m["workspaceId"].clone(), m["role"].clone()))
        .collect();
    assert_eq!(
        memberships,
        [
            (json!(mine), json!("admin")),
            (json!(theirs), json!("editor"))
        ]
    );

    let res = export(&me, "workspaces")
        .send(&routes::EXPORT_MY_DATA)
        .await;
    let workspaces = items(&res, "workspaces");
    assert_eq!(workspaces.len(), 1);
    assert_eq!(workspaces[0]["id"], json!(mine));
    assert_eq!(workspaces[0]["members"], json!(2));

    let res = export(&me, "projects").send(&routes::EXPORT_MY_DATA).await;
    let projects: Vec<&Value> = items(&res, "projects").iter().map(|p| &p["id"]).collect();
    assert_eq!(projects, [&json!(my_project)]);
    assert!(!res.body.to_string().contains(&their_project.to_string()));

    let res = export(&me, "posts").send(&routes::EXPORT_MY_DATA).await;
    let posts: Vec<&Value> = items(&res, "posts").iter().map(|p| &p["id"]).collect();
    assert_eq!(
        posts,
        [&json!(published), &json!(draft)],
        "oldest first, drafts included"
    );
    assert!(!res.body.to_string().contains(&their_post.to_string()));

    let res = export(&me, "uploads").send(&routes::EXPORT_MY_DATA).await;
    let uploads = items(&res, "uploads");
    assert_eq!(uploads.len(), 2);
    let ready_item = uploads.iter().find(|u| u["id"] == json!(ready)).unwrap();
    let got = s3::send_presigned(&ready_item["download"], Vec::new()).await;
    assert_eq!(got.status, 200, "the exported download URL works");
    assert_eq!(got.body, s3::png());
    let pending_item = uploads.iter().find(|u| u["id"] == json!(pending)).unwrap();
    assert_eq!(pending_item["status"], json!("pending"));
    assert!(pending_item.get("download").is_none());

    let res = export(&me, "audit").send(&routes::EXPORT_MY_DATA).await;
    let audit = items(&res, "audit");
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0]["ip"], json!("192.0.2.31"));
    assert_eq!(audit[0]["userAgent"], json!("my browser"));
    assert_eq!(audit[0]["actorId"], json!(me.id));
}

#[tokio::test]
async fn a_part_comes_a_page_at_a_time() {
    let me = user_with_role("editor").await;
    let mut ids = Vec::new();
    for n in 0..3_i32 {
        let id = post(&me, &format!("Post {n}"), true).await;
        db().await
            .execute(
                "update public.posts set created_at = now() - make_interval(hours => 10 - $2) where id = $1",
                &[&id, &n],
            )
            .await
            .unwrap();
        ids.push(json!(id));
    }
    let page = |n: u32| export(&me, "posts").query("page", n).query("pageSize", 2);
    let res = page(1).send(&routes::EXPORT_MY_DATA).await;
    let first: Vec<Value> = items(&res, "posts")
        .iter()
        .map(|p| p["id"].clone())
        .collect();
    assert_eq!(first, ids[..2]);
    assert_eq!(
        res.body["pagination"],
        json!({ "page": 1, "pageSize": 2, "total": 3, "totalPages": 2 })
    );
    let res = page(2).send(&routes::EXPORT_MY_DATA).await;
    let second: Vec<Value> = items(&res, "posts")
        .iter()
        .map(|p| p["id"].clone())
        .collect();
    assert_eq!(second, ids[2..]);
    let res = page(3).send(&routes::EXPORT_MY_DATA).await;
    assert!(items(&res, "posts").is_empty());
}

#[tokio::test]
async fn the_largest_page_of_the_largest_posts_stays_under_lambdas_response_limit() {
    let me = user_with_role("editor").await;
    // 50 posts of the longest title and body, in the widest characters (4 bytes each).
    let title = "😀".repeat(200);
    let body = "😀".repeat(20_000);
    db().await
        .execute(
            "insert into public.posts (author_id, title, body, published) \
             select $1, $2::text, $3::text, true from generate_series(1, 50)",
            &[&me.id, &title, &body],
        )
        .await
        .unwrap();
    let res = send_raw_export(&me, "part=posts&pageSize=50").await;
    assert_eq!(res.0, 200);
    let bytes = res.1;
    assert!(
        bytes < 6 * 1024 * 1024 - 16 * 1024,
        "{bytes} bytes of JSON: over Lambda's 6 MB response limit"
    );
    assert!(bytes > 4_000_000, "{bytes}: the page is not the largest");
}

/// The status and body length of an export answer, as the function would send it.
async fn send_raw_export(u: &TestUser, query: &str) -> (u16, usize) {
    let mut req = Req::get("/me/export").as_user(u);
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap();
        req = req.query(k, v);
    }
    let response = shared::pipeline::dispatch(&app(), &routes::EXPORT_MY_DATA, req.build()).await;
    let len = match response.body() {
        lambda_http::Body::Text(text) => text.len(),
        lambda_http::Body::Binary(bytes) => bytes.len(),
        _ => 0,
    };
    (response.status().as_u16(), len)
}

#[tokio::test]
async fn a_bad_export_query_names_the_parameter() {
    let me = user().await;
    for (query, field) in [
        (vec![("part", "secrets")], "part"),
        (vec![("pageSize", "51")], "pageSize"),
        (vec![("pageSize", "0")], "pageSize"),
        (vec![("page", "0")], "page"),
        (vec![("page", "x")], "page"),
        (
            vec![("userId", "00000000-0000-4000-8000-000000000001")],
            "userId",
        ),
    ] {
        let mut req = Req::get("/me/export").as_user(&me);
        for (k, v) in &query {
            req = req.query(k, v);
        }
        let res = req.send(&routes::EXPORT_MY_DATA).await;
        res.assert_error(422, "VALIDATION_ERROR");
        res.assert_invalid(field);
    }
}

#[tokio::test]
async fn straight_to_postgrest_an_export_is_the_callers_own_and_bounded() {
    let me = user_with_role("editor").await;
    let other = user_with_role("editor").await;
    post(&me, "mine", true).await;
    post(&other, "theirs", true).await;
    let call = |token: Option<String>, body: Value| async move {
        postgrest_direct(
            reqwest::Method::POST,
            "rpc/export_my_data",
            token.as_deref(),
            Some(body),
        )
        .await
    };
    let res = call(Some(me.token.clone()), json!({ "p_part": "posts" })).await;
    assert_eq!(res.status, 200, "{res:?}");
    let titles: Vec<&Value> = res.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["title"])
        .collect();
    assert_eq!(titles, [&json!("mine")]);
    // No way to name another user, a bigger page, or anything but a part.
    let res = call(
        Some(me.token.clone()),
        json!({ "p_part": "posts", "p_user": other.id }),
    )
    .await;
    assert!(matches!(res.status, 300..=499), "{res:?}");
    let res = call(
        Some(me.token.clone()),
        json!({ "p_part": "posts", "p_limit": 10000 }),
    )
    .await;
    assert_eq!(res.status, 400, "{res:?}");
    let res = call(Some(me.token.clone()), json!({ "p_part": "auth.users" })).await;
    assert_eq!(res.status, 400, "{res:?}");
    let res = call(None, json!({ "p_part": "posts" })).await;
    assert!(matches!(res.status, 401 | 403), "{res:?}");
}
