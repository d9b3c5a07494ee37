//! The site's switches in `/settings`, which are global: `maintenanceMode` (issue 14).
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
        // Drop cannot await: a blocking client of its own, on a thread of its own.
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
                        "update public.app_settings set value = 'false' where key = 'maintenance_mode'",
                        &[],
                    )
                    .await
                    .unwrap();
            });
        })
        .join()
        .unwrap();
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
