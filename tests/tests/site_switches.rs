//! The site's switches in `/settings`, which are global: `maintenanceMode` and
//! `signupsEnabled` (issue 14).
//! In a binary of its own, which cargo runs after `api` (no other test sees the site in
//! maintenance), its tests one at a time (`SWITCHES`), each switching back when done.

use functions::routes;
use integration_tests::*;
use reqwest::Method;
use serde_json::json;
use tokio::sync::{Mutex, MutexGuard};

static SWITCHES: Mutex<()> = Mutex::const_new(());

/// Holds the switches for one test; puts them back as they were when dropped.
struct Maintenance {
    _guard: MutexGuard<'static, ()>,
}

impl Maintenance {
    async fn on() -> Self {
        let guard = SWITCHES.lock().await;
        set("maintenance_mode", true).await;
        Maintenance { _guard: guard }
    }
}

impl Drop for Maintenance {
    fn drop(&mut self) {
        reset_in_thread("maintenance_mode", false);
    }
}

async fn set(key: &str, value: bool) {
    db().await
        .execute(
            "update public.app_settings set value = to_jsonb($2::boolean) where key = $1",
            &[&key, &value],
        )
        .await
        .unwrap();
}

async fn workspaces_named(name: &str) -> i64 {
    db().await
        .query_one(
            "select count(*) from public.workspaces where name = $1",
            &[&name],
        )
        .await
        .unwrap()
        .get(0)
}

#[track_caller]
fn assert_maintenance(res: &Res) {
    res.assert_error(503, "MAINTENANCE");
    assert_eq!(res.header("retry-after"), Some("300"), "{res:?}");
    assert_security_headers(&res.headers);
    assert_no_leak(res);
}

#[tokio::test]
async fn in_maintenance_users_cannot_write_through_the_api_or_postgrest() {
    let user = user().await;
    let ws = workspace(&user).await;
    let _switch = Maintenance::on().await;

    // A write counted in the database (the request gate refuses it).
    let name = format!("maintenance {}", uuid::Uuid::new_v4());
    let res = Req::post("/workspaces")
        .as_user(&user)
        .json(json!({ "name": name }))
        .send(&routes::CREATE_WORKSPACE)
        .await;
    assert_maintenance(&res);
    let res = Req::post("/projects")
        .as_user(&user)
        .json(json!({ "name": "x", "workspaceId": ws }))
        .send(&routes::CREATE_PROJECT)
        .await;
    assert_maintenance(&res);
    // A write counted before its handler (hit_route_limit refuses it): nothing starts.
    let res = Req::post("/uploads/{id}/complete")
        .param("id", uuid::Uuid::new_v4())
        .as_user(&user)
        .send(&routes::COMPLETE_UPLOAD)
        .await;
    assert_maintenance(&res);

    // The same writes straight to PostgREST, table and function alike.
    let direct = postgrest_direct(
        Method::POST,
        "workspaces",
        Some(&user.token),
        Some(json!({ "name": name, "created_by": user.id })),
    )
    .await;
    direct.assert_refused(503, "MAINTENANCE");
    // PostgREST puts its own `Retry-After: 0` on every 503, before the database's.
    let retry: Vec<_> = direct.headers.get_all("retry-after").iter().collect();
    assert!(retry.iter().any(|v| *v == "300"), "{direct:?}");
    assert_eq!(direct.body["details"], "Retry after 300 seconds");
    let direct = postgrest_direct(
        Method::POST,
        "rpc/create_workspace",
        Some(&user.token),
        Some(json!({ "name": name })),
    )
    .await;
    direct.assert_refused(503, "MAINTENANCE");
    let direct = postgrest_direct(
        Method::PATCH,
        &format!("profiles?id=eq.{}", user.id),
        Some(&user.token),
        Some(json!({ "bio": "written in maintenance" })),
    )
    .await;
    direct.assert_refused(503, "MAINTENANCE");
    assert_eq!(workspaces_named(&name).await, 0, "nothing was written");
    let bio: Option<String> = db()
        .await
        .query_one("select bio from public.profiles where id = $1", &[&user.id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(bio, None);

    // Reads go on.
    let res = Req::get("/workspaces")
        .as_user(&user)
        .send(&routes::LIST_WORKSPACES)
        .await;
    res.assert_ok(200);
    let direct =
        postgrest_direct(Method::GET, "workspaces?select=id", Some(&user.token), None).await;
    assert_eq!(direct.status, 200, "{direct:?}");
}

#[tokio::test]
async fn in_maintenance_admins_write_and_switch_it_off() {
    let admin = user_with_role("admin").await;
    let _switch = Maintenance::on().await;

    let name = format!("admin in maintenance {}", uuid::Uuid::new_v4());
    let res = Req::post("/workspaces")
        .as_user(&admin)
        .json(json!({ "name": name }))
        .send(&routes::CREATE_WORKSPACE)
        .await;
    res.assert_ok(201);
    assert_eq!(workspaces_named(&name).await, 1);

    // The switch itself, through the API.
    let user = user().await;
    let settings = |maintenance: bool| {
        json!({
            "siteName": "supa-lambda",
            "supportEmail": "support@example.com",
            "maintenanceMode": maintenance,
            "signupsEnabled": true
        })
    };
    let res = Req::new(http::Method::PUT, "/settings")
        .as_user(&admin)
        .json(settings(false))
        .send(&routes::UPDATE_SETTINGS)
        .await;
    assert_eq!(res.assert_ok(200)["maintenanceMode"], json!(false));
    // Switching is audited like any setting change, the admin as actor.
    let switched: i64 = db()
        .await
        .query_one(
            "select count(*) from public.audit_log where action = 'SETTINGS_CHANGED' \
             and actor_id = $1 and target = 'setting:maintenance_mode'",
            &[&admin.id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(switched, 1);
    let res = Req::post("/workspaces")
        .as_user(&user)
        .json(json!({ "name": format!("{name} after") }))
        .send(&routes::CREATE_WORKSPACE)
        .await;
    res.assert_ok(201);

    let res = Req::new(http::Method::PUT, "/settings")
        .as_user(&admin)
        .json(settings(true))
        .send(&routes::UPDATE_SETTINGS)
        .await;
    assert_eq!(res.assert_ok(200)["maintenanceMode"], json!(true));
    let res = Req::post("/workspaces")
        .as_user(&user)
        .json(json!({ "name": format!("{name} again") }))
        .send(&routes::CREATE_WORKSPACE)
        .await;
    assert_maintenance(&res);
}

#[tokio::test]
async fn in_maintenance_the_role_is_the_databases_not_the_tokens() {
    // A demoted admin whose token still says admin.
    let demoted = user_with_role("admin").await;
    db().await
        .execute(
            "update public.user_roles set role = 'user' where user_id = $1",
            &[&demoted.id],
        )
        .await
        .unwrap();
    let _switch = Maintenance::on().await;
    let res = Req::post("/workspaces")
        .as_user(&demoted)
        .json(json!({ "name": "demoted" }))
        .send(&routes::CREATE_WORKSPACE)
        .await;
    assert_maintenance(&res);
    let direct = postgrest_direct(
        Method::POST,
        "rpc/create_workspace",
        Some(&demoted.token),
        Some(json!({ "name": "demoted" })),
    )
    .await;
    direct.assert_refused(503, "MAINTENANCE");
}

#[tokio::test]
async fn in_maintenance_users_still_sign_in() {
    let user = user_with_password("a long enough password").await;
    let _switch = Maintenance::on().await;
    let res = Req::post("/auth/sign-in")
        .json(json!({ "email": user.email, "password": "a long enough password" }))
        .send(&routes::SIGN_IN)
        .await;
    res.assert_ok(200);
}

// ---------------------------------------------------------------------------------------
// signupsEnabled
// ---------------------------------------------------------------------------------------

/// Holds the switches with sign-ups closed; opens them again when dropped.
struct SignupsClosed {
    _guard: MutexGuard<'static, ()>,
}

impl SignupsClosed {
    async fn now() -> Self {
        let guard = SWITCHES.lock().await;
        set("signups_enabled", false).await;
        SignupsClosed { _guard: guard }
    }
}

impl Drop for SignupsClosed {
    fn drop(&mut self) {
        reset_in_thread("signups_enabled", true);
    }
}

/// Sets a switch from a thread of its own (Drop cannot await).
fn reset_in_thread(key: &'static str, value: bool) {
    let url = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            client
                .execute(
                    "update public.app_settings set value = to_jsonb($2::boolean) where key = $1",
                    &[&key, &value],
                )
                .await
                .unwrap();
        });
    })
    .join()
    .unwrap();
}

fn new_account() -> (String, serde_json::Value) {
    let email = format!("closed-{}@example.test", uuid::Uuid::new_v4());
    let body = json!({ "email": email, "password": "a fine new password", "name": "Cleo Closed" });
    (email, body)
}

#[tokio::test]
async fn while_sign_ups_are_closed_no_one_signs_up_through_the_api_or_supabase_auth() {
    let _closed = SignupsClosed::now().await;
    let (email, body) = new_account();
    let res = Req::post("/auth/sign-up")
        .json(body)
        .send(&routes::SIGN_UP)
        .await;
    res.assert_error(403, "FORBIDDEN");
    assert_eq!(res.body["error"]["message"], "Sign-ups are closed");
    assert_eq!(users_with_email(&email).await, 0);

    // Straight to Supabase Auth (the stand-in): its before-user-created hook refuses.
    let url = format!("{}/auth/v1/signup", stack().supabase_url);
    let anon = std::env::var("SUPABASE_ANON_KEY").unwrap();
    let direct = reqwest::Client::new()
        .post(&url)
        .header("apikey", &anon)
        .json(&json!({ "email": email, "password": "a fine new password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status().as_u16(), 403);
    assert_eq!(users_with_email(&email).await, 0);

    // Existing users still sign in.
    let user = user_with_password("a long enough password").await;
    let res = Req::post("/auth/sign-in")
        .json(json!({ "email": user.email, "password": "a long enough password" }))
        .send(&routes::SIGN_IN)
        .await;
    res.assert_ok(200);
}

#[tokio::test]
async fn in_maintenance_no_one_signs_up() {
    let _switch = Maintenance::on().await;
    let (email, body) = new_account();
    let res = Req::post("/auth/sign-up")
        .json(body)
        .send(&routes::SIGN_UP)
        .await;
    assert_maintenance(&res);
    assert_eq!(users_with_email(&email).await, 0);
}

#[tokio::test]
async fn open_again_sign_ups_work() {
    {
        let _closed = SignupsClosed::now().await;
    }
    let _guard = SWITCHES.lock().await;
    let (email, body) = new_account();
    let res = Req::post("/auth/sign-up")
        .json(body)
        .send(&routes::SIGN_UP)
        .await;
    assert_eq!(res.status.as_u16(), 202, "{}", res.body);
    assert_eq!(users_with_email(&email).await, 1);
}

#[tokio::test]
async fn while_sign_ups_are_closed_a_new_oauth_user_lands_refused() {
    use reqwest::redirect::Policy;
    let _closed = SignupsClosed::now().await;
    let host = stack().api_url.trim_start_matches("http://").to_owned();
    let res = Req::get("/auth/oauth/{provider}")
        .param("provider", "github")
        .query("next", "/in")
        .header("host", &host)
        .send(&routes::OAUTH_START)
        .await;
    assert_eq!(res.status.as_u16(), 302, "{res:?}");
    let verifier = res
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| c.contains("-code-verifier="))
        .unwrap();
    let browser = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    let authorize = res.header("location").unwrap().to_owned();
    let consent = browser.get(&authorize).send().await.unwrap();
    let email = format!("closed-gh-{}@example.test", uuid::Uuid::new_v4());
    let consent = format!(
        "{}&email={}",
        consent.headers()["location"].to_str().unwrap(),
        email
    );
    let back = browser.get(&consent).send().await.unwrap();
    let back = url::Url::parse(back.headers()["location"].to_str().unwrap()).unwrap();
    let mut req = Req::get("/auth/callback")
        .header("host", &host)
        .cookie(&verifier);
    for (k, v) in back.query_pairs() {
        req = req.query(&k, v.into_owned());
    }
    let res = req.send(&routes::OAUTH_CALLBACK).await;
    assert_eq!(res.status.as_u16(), 303, "{res:?}");
    let landed = url::Url::parse(res.header("location").unwrap()).unwrap();
    assert_eq!(landed.path(), "/in");
    let error = landed
        .query_pairs()
        .find(|(k, _)| k == "error")
        .map(|(_, v)| v.into_owned());
    assert_eq!(error.as_deref(), Some("access_denied"), "{landed}");
    assert_eq!(users_with_email(&email).await, 0);
}

#[tokio::test]
async fn while_sign_ups_are_closed_a_magic_link_makes_no_new_user() {
    let _closed = SignupsClosed::now().await;
    let email = format!("closed-link-{}@example.test", uuid::Uuid::new_v4());
    let res = Req::post("/auth/magic-link")
        .header("host", stack().api_url.trim_start_matches("http://"))
        .json(json!({ "email": email }))
        .send(&routes::MAGIC_LINK)
        .await;
    // The same answer as for any address; no user, no email.
    assert_eq!(res.status.as_u16(), 202, "{}", res.body);
    assert_eq!(users_with_email(&email).await, 0);
}
