//! The functions with today's Supabase API keys and nothing else: `sb_publishable_...` and
//! `sb_secret_...`, through a gateway that maps them as Supabase's does, in front of
//! PostgREST and the Auth stand-in (scripts/stack.sh's `start_key_gateway`, nginx). It is
//! a project whose legacy keys are off: any other apikey is 401, the secret key from a
//! browser is 401, a `Bearer sb_...` that is not the apikey is 401. So every call of the
//! functions below that reached PostgREST or Supabase Auth carried the right new key, the
//! way supabase-js sends it (apikey always; the bearer the user's token, else the key).
//! Depends on the Auth stand-in (tools/devstack) for Supabase Auth.

use functions::routes;
use integration_tests::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use shared::App;
use uuid::Uuid;

/// A browser's User-Agent, which the gateway refuses with the secret key.
const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36";

/// An origin the stack allows (a cookie's unsafe request must come from one).
const ORIGIN: &str = "http://localhost:3000";

struct Gateway {
    url: String,
    publishable: String,
    secret: String,
}

fn gateway() -> Gateway {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!("{name}: the gateway for today's keys (make test starts it)")
        })
    };
    Gateway {
        url: var("TEST_GATEWAY_URL"),
        publishable: var("TEST_PUBLISHABLE_KEY"),
        secret: var("TEST_SECRET_KEY"),
    }
}

/// The app as a cold start builds it from a deployment with today's keys: the project
/// URL is the gateway (PostgREST at /rest/v1, Auth at /auth/v1), no legacy key is set.
fn app_with_todays_keys() -> App {
    let gw = gateway();
    // The stand-in signs tokens as itself; a real project's issuer is its own URL.
    let issuer = format!("{}/auth/v1", stack().supabase_url.trim_end_matches('/'));
    let overrides: Vec<(&str, Option<String>)> = vec![
        ("SUPABASE_URL", Some(gw.url.clone())),
        ("SUPABASE_REST_URL", None),
        ("SUPABASE_JWKS_URL", None),
        ("SUPABASE_JWT_ISSUER", Some(issuer)),
        ("SUPABASE_PUBLISHABLE_KEY", Some(gw.publishable.clone())),
        ("SUPABASE_SECRET_KEY", Some(gw.secret.clone())),
        ("SUPABASE_ANON_KEY", None),
        ("SUPABASE_SERVICE_ROLE_KEY", None),
        ("SUPABASE_SERVICE_ROLE_KEY_SECRET_ARN", None),
        ("SUPABASE_SECRET_KEY_SECRET_ARN", None),
    ];
    let app = App::new(
        shared::Config::from_lookup(|name| match overrides.iter().find(|(k, _)| *k == name) {
            Some((_, v)) => v.clone(),
            None => std::env::var(name).ok(),
        })
        .expect("a configuration with today's keys"),
    )
    .expect("the app");
    assert_eq!(app.config.anon_key, gw.publishable);
    assert_eq!(
        app.config.service_role_key.as_deref(),
        Some(gw.secret.as_str())
    );
    app
}

/// `Cookie:` for the session cookies a response set.
fn session_cookie(res: &Res) -> String {
    let name = cookie_name();
    res.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next())
        .filter(|pair| pair.starts_with(&name) && !pair.ends_with('='))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A POST from the app's page in a browser, with the session cookie.
fn from_the_browser(path: &str, ip: &str, cookie: &str) -> lambda_http::Request {
    Req::post(path)
        .ip(ip)
        .header("user-agent", BROWSER)
        .header("origin", ORIGIN)
        .cookie(cookie)
        .build()
}

#[tokio::test]
async fn a_users_reads_and_writes_go_out_with_the_publishable_key_and_their_token() {
    let app = app_with_todays_keys();
    let user = user().await;
    let me = send_with(&app, &routes::ME, Req::get("/me").as_user(&user).build()).await;
    assert_eq!(me.assert_ok(200)["email"], json!(user.email));

    let res = send_with(
        &app,
        &routes::CREATE_WORKSPACE,
        Req::post("/workspaces")
            .as_user(&user)
            .header("user-agent", BROWSER)
            .json(json!({ "name": "Today's keys" }))
            .build(),
    )
    .await;
    let workspace = res.assert_ok(201)["id"].as_str().unwrap().to_owned();
    let res = send_with(
        &app,
        &routes::CREATE_PROJECT,
        Req::post("/projects")
            .as_user(&user)
            .header("idempotency-key", &Uuid::new_v4().to_string())
            .json(json!({ "name": "Keys", "workspaceId": workspace }))
            .build(),
    )
    .await;
    let project: Uuid = res.assert_ok(201)["id"].as_str().unwrap().parse().unwrap();
    let res = send_with(
        &app,
        &routes::LIST_PROJECTS,
        Req::get("/projects")
            .as_user(&user)
            .query("workspaceId", &workspace)
            .build(),
    )
    .await;
    assert_eq!(
        res.assert_ok(200).as_array().map(Vec::len),
        Some(1),
        "{}",
        res.body
    );
    let creator: Uuid = db()
        .await
        .query_one(
            "select created_by from public.projects where id = $1",
            &[&project],
        )
        .await
        .expect("the project is stored")
        .get(0);
    assert_eq!(
        creator, user.id,
        "written as the user (row-level security applied)"
    );
}

#[tokio::test]
async fn sign_in_refresh_and_sign_out_reach_supabase_auth_with_the_publishable_key() {
    let app = app_with_todays_keys();
    let password = "a long enough password 42";
    let user = user_with_password(password).await;
    let ip = test_ip();
    // Sign-in also counts the attempt with the secret key (ServiceDb): a browser's request.
    let res = send_with(
        &app,
        &routes::SIGN_IN,
        Req::post("/auth/sign-in")
            .ip(&ip)
            .header("user-agent", BROWSER)
            .json(json!({ "email": user.email, "password": password }))
            .build(),
    )
    .await;
    assert_eq!(
        res.assert_ok(200)["user"]["id"],
        json!(user.id),
        "{}",
        res.body
    );
    let cookie = session_cookie(&res);
    assert!(!cookie.is_empty(), "the session cookie is set");

    let res = send_with(
        &app,
        &routes::REFRESH_SESSION,
        from_the_browser("/auth/refresh", &ip, &cookie),
    )
    .await;
    res.assert_ok(200);
    let cookie = session_cookie(&res);

    let sessions = || async {
        db().await
            .query_one(
                "select count(*) from auth.sessions where user_id = $1 and id <> $1",
                &[&user.id],
            )
            .await
            .unwrap()
            .get::<_, i64>(0)
    };
    assert_eq!(sessions().await, 1, "the sign-in's session");
    let res = send_with(
        &app,
        &routes::SIGN_OUT,
        from_the_browser("/auth/sign-out", &ip, &cookie),
    )
    .await;
    assert_eq!(res.status, 204, "{}", res.body);
    assert_eq!(sessions().await, 0, "ended at Supabase Auth");
}

#[tokio::test]
async fn the_auth_admin_api_gets_the_secret_key_and_never_the_browsers_user_agent() {
    let app = app_with_todays_keys();
    let admin = user_with_role("admin").await;
    let email = format!("todays-keys-{}@example.test", Uuid::new_v4());
    // An admin's browser asks; the functions call the Auth admin API with the secret key.
    let res = send_with(
        &app,
        &routes::CREATE_USER,
        Req::post("/users")
            .as_user(&admin)
            .header("user-agent", BROWSER)
            .header("idempotency-key", &Uuid::new_v4().to_string())
            .json(json!({ "email": email, "name": "Keys Person", "role": "editor" }))
            .build(),
    )
    .await;
    let id: Uuid = res.assert_ok(201)["id"].as_str().unwrap().parse().unwrap();
    let row = db()
        .await
        .query_one(
            "select u.email, r.role::text from auth.users u join public.user_roles r on r.user_id = u.id where u.id = $1",
            &[&id],
        )
        .await
        .expect("made through the Auth admin API, with its role");
    assert_eq!(row.get::<_, String>(0), email);
    assert_eq!(row.get::<_, String>(1), "editor");

    let res = send_with(
        &app,
        &routes::DELETE_USER,
        Req::delete(&format!("/users/{id}"))
            .as_user(&admin)
            .header("user-agent", BROWSER)
            .param("id", id)
            .build(),
    )
    .await;
    assert_eq!(res.status, 204, "{}", res.body);
    let left: i64 = db()
        .await
        .query_one("select count(*) from auth.users where id = $1", &[&id])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "deleted through the Auth admin API");
}

/// The gateway refuses what Supabase's refuses: without this, the tests above would not
/// show which keys the functions sent.
#[tokio::test]
async fn the_gateway_refuses_legacy_keys_a_secret_key_from_a_browser_and_a_mismatched_bearer() {
    let gw = gateway();
    let http = reqwest::Client::new();
    let legacy = std::env::var("SUPABASE_ANON_KEY").unwrap();
    let service_role = std::env::var("SUPABASE_SERVICE_ROLE_KEY").unwrap();
    let user = user().await;
    let admin_users = format!("{}/auth/v1/admin/users/{}", gw.url, user.id);
    let rest = format!("{}/rest/v1/workspaces?select=id&limit=1", gw.url);
    let send = |url: &str, apikey: &str, bearer: Option<&str>, agent: Option<&str>| {
        let mut req = http.get(url).header("apikey", apikey);
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        if let Some(a) = agent {
            req = req.header("user-agent", a);
        }
        req.send()
    };
    let status_and_message = |res: reqwest::Response| async move {
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        (
            status,
            body["message"].as_str().unwrap_or_default().to_owned(),
        )
    };

    // The legacy keys are off in this project, JWTs or not.
    for key in [legacy.as_str(), service_role.as_str()] {
        let (status, message) =
            status_and_message(send(&rest, key, None, None).await.unwrap()).await;
        assert_eq!(
            (status, message.as_str()),
            (StatusCode::UNAUTHORIZED, "Invalid API key")
        );
    }
    // The secret key from a browser.
    let (status, message) = status_and_message(
        send(&admin_users, &gw.secret, None, Some(BROWSER))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(message, "Forbidden use of secret API key in browser");
    // A key as the bearer that is not the apikey (the publishable key cannot borrow the
    // secret key's rights).
    let res = send(&admin_users, &gw.publishable, Some(&gw.secret), None)
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // The publishable key alone is anon: Supabase Auth refuses it the admin API.
    let (status, message) = status_and_message(
        send(&admin_users, &gw.publishable, None, None)
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{message}");
    // What the functions send: the secret key as apikey, and as the bearer or alone.
    for bearer in [Some(gw.secret.as_str()), None] {
        let res = send(&admin_users, &gw.secret, bearer, Some("supa-lambda"))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "bearer {bearer:?}");
        assert_eq!(
            res.json::<Value>().await.unwrap()["email"],
            json!(user.email)
        );
    }
    // The publishable key, alone or as the bearer too, reaches PostgREST as anon, which
    // may read no table: PostgREST's own refusal, not the gateway's.
    for bearer in [Some(gw.publishable.as_str()), None] {
        let res = send(&rest, &gw.publishable, bearer, None).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let body: Value = res.json().await.unwrap();
        assert_eq!(
            body["code"],
            json!("42501"),
            "PostgREST's answer to anon: {body}"
        );
    }
}
