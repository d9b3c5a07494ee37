//! GoTrue's Postgres hooks. The before-user-created hook (AUTH_HOOK_BEFORE_USER_CREATED_URI,
//! the project's public.before_user_created_hook) runs before sign-up, OTP sign-up, invite
//! and an OAuth first sign-in, not before POST /admin/users, in a transaction of its own
//! as supabase_auth_admin with a 2 s statement timeout; its `{"error": {"http_code",
//! "message"}}` stops the creation. The custom access token hook
//! (public.custom_access_token_hook, when it exists) shapes every access token, and its
//! error stops the sign-in. Every test here changes what all users meet: each has a
//! database of its own.

use std::sync::Arc;

use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::{
    params, tests, unique_email, Answer, TestApp, World, APP_AUTH, PASSWORD, PEER, SERVICE_KEY,
};

tests![
    closed_sign_ups_stop_every_new_user_but_the_admins,
    maintenance_mode_stops_new_users_with_503,
    the_hook_sees_the_user_gotrue_would_create,
    a_hooks_refusal_or_failure_is_the_answer,
    the_access_token_hook_shapes_every_token,
    the_access_token_hooks_refusal_stops_the_sign_in,
];

const REFUSED: &str = "Sign-ups are closed";

async fn set_switch(app: &TestApp, key: &str, on: bool) {
    app.db
        .execute(
            "update public.app_settings set value = to_jsonb($2::boolean) where key = $1",
            &[&key, &on],
        )
        .await
        .unwrap();
}

async fn users_with_email(app: &TestApp, email: &str) -> i64 {
    app.db
        .query_one(
            "select count(*) from auth.users where email = lower($1)",
            &[&email],
        )
        .await
        .unwrap()
        .get(0)
}

/// The fake provider's answer for `email` at the end of an implicit (no PKCE) flow that
/// goes back to {APP_AUTH}cb.
async fn oauth_sign_in(app: &TestApp, provider: &str, email: &str) -> Answer {
    let answer = app
        .get(&format!(
            "/auth/v1/authorize?provider={provider}&redirect_to={APP_AUTH}cb"
        ))
        .no_apikey()
        .send()
        .await;
    assert_eq!(answer.status, 302, "{}", answer.text());
    let page = answer
        .location()
        .strip_prefix("http://auth.test")
        .unwrap()
        .to_string();
    app.get(&format!("{page}&email={email}"))
        .no_apikey()
        .send()
        .await
}

/// The `sub` of the access token in an OAuth redirect's fragment.
async fn oauth_subject(app: &TestApp, answer: &Answer) -> Uuid {
    assert_eq!(answer.status, 302);
    let (_, fragment) = answer
        .location()
        .split_once('#')
        .unwrap_or_else(|| panic!("{}", answer.location()));
    let tokens = params(fragment);
    let token = tokens
        .get("access_token")
        .unwrap_or_else(|| panic!("no tokens: {}", answer.location()));
    let claims = app.verify_token(token).await;
    claims["sub"].as_str().unwrap().parse().unwrap()
}

async fn closed_sign_ups_stop_every_new_user_but_the_admins(world: Arc<World>) {
    let app = world.app_on_own_database().await;
    // Made before the switch: a confirmed user and a pending (unconfirmed) one.
    let member = app.user("member").await;
    let pending = unique_email("pending");
    let answer = app
        .post("/auth/v1/signup")
        .json(json!({ "email": pending, "password": PASSWORD }))
        .send()
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    set_switch(&app, "signups_enabled", false).await;

    // Every way a new user would be created answers the hook's status and message, with
    // GoTrue's fallback code (the hook gives none), and creates nothing.
    let email = unique_email("newcomer");
    let calls = [
        app.post("/auth/v1/signup")
            .json(json!({ "email": email, "password": PASSWORD })),
        app.post("/auth/v1/otp").json(json!({ "email": email })),
        app.post("/auth/v1/invite")
            .bearer(SERVICE_KEY)
            .json(json!({ "email": email })),
    ];
    for call in calls {
        call.send().await.assert_error(403, "unknown", REFUSED);
    }
    // An OAuth first sign-in goes back to the app with the error (403: access_denied),
    // an empty error_code in the query and none in the fragment.
    let answer = oauth_sign_in(&app, "github", &email).await;
    assert_eq!(answer.status, 302);
    let description = REFUSED.replace(' ', "+");
    assert_eq!(
        answer.location(),
        format!(
            "{APP_AUTH}cb?error=access_denied&error_code=&error_description={description}\
             #error=access_denied&error_description={description}&sb="
        )
    );
    assert_eq!(users_with_email(&app, &email).await, 0);
    assert!(app.mailbox(&email).await.is_empty());

    // No hook before POST /admin/users.
    let answer = app
        .post("/auth/v1/admin/users")
        .bearer(SERVICE_KEY)
        .json(json!({ "email": email, "password": PASSWORD, "email_confirm": true }))
        .send()
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(users_with_email(&app, &email).await, 1);

    // Users who exist go on: no hook when nobody is created.
    assert_eq!(app.sign_in(&member).await["token_type"], "bearer");
    let answer = app
        .post("/auth/v1/otp")
        .json(json!({ "email": member.email }))
        .send()
        .await;
    assert_eq!((answer.status, answer.json()), (200, json!({})));
    assert_eq!(app.mailbox(&member.email).await[0]["type"], "magiclink");
    // A pending address signs up again (the same user, its confirmation mailed again).
    let answer = app
        .post("/auth/v1/signup")
        .json(json!({ "email": pending, "password": PASSWORD }))
        .send()
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(app.mailbox(&pending).await.len(), 2);
    // A confirmed address answers the obfuscated user, as always.
    let answer = app
        .post("/auth/v1/signup")
        .json(json!({ "email": member.email, "password": PASSWORD }))
        .send()
        .await;
    assert_eq!(answer.status, 200);
    assert_ne!(answer.json()["id"], json!(member.id));
    // An OAuth account with a known verified email links to that user.
    let answer = oauth_sign_in(&app, "github", &member.email).await;
    assert_eq!(oauth_subject(&app, &answer).await, member.id);

    // Open again: the same sign-up goes through.
    set_switch(&app, "signups_enabled", true).await;
    let again = unique_email("later");
    let answer = app
        .post("/auth/v1/signup")
        .json(json!({ "email": again, "password": PASSWORD }))
        .send()
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(users_with_email(&app, &again).await, 1);
}

async fn maintenance_mode_stops_new_users_with_503(world: Arc<World>) {
    let app = world.app_on_own_database().await;
    set_switch(&app, "maintenance_mode", true).await;
    let email = unique_email("maintenance");
    let message = "The service is down for maintenance; try again later";
    app.post("/auth/v1/signup")
        .json(json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .assert_error(503, "unknown", message);
    // OAuth: 503 is temporarily_unavailable.
    let answer = oauth_sign_in(&app, "google", &email).await;
    let query = params(
        answer
            .location()
            .split_once('?')
            .unwrap()
            .1
            .split_once('#')
            .unwrap()
            .0,
    );
    assert_eq!(query["error"], "temporarily_unavailable");
    assert_eq!(query["error_description"], message);
    assert_eq!(query["error_code"], "");
    assert_eq!(users_with_email(&app, &email).await, 0);
}

/// Installs public.<name>(jsonb), run by supabase_auth_admin, with this body (plpgsql;
/// `event` is the input), and public.hook_calls, where it may write.
async fn install_hook(app: &TestApp, name: &str, body: &str) {
    let sql = format!(
        "create table if not exists public.hook_calls (
           id bigserial primary key, who text, timeout text, event jsonb);
         grant insert, select on public.hook_calls to supabase_auth_admin;
         grant usage on sequence public.hook_calls_id_seq to supabase_auth_admin;
         create or replace function public.{name}(event jsonb) returns jsonb
         language plpgsql set search_path = '' as $hook$
         begin
           {body}
         end;
         $hook$;
         grant execute on function public.{name}(jsonb) to supabase_auth_admin;"
    );
    app.db.batch_execute(&sql).await.unwrap();
}

/// What the test hooks recorded, oldest first: (role, statement_timeout, event).
async fn hook_calls(app: &TestApp) -> Vec<(String, String, Value)> {
    app.db
        .query(
            "select who, timeout, event from public.hook_calls order by id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

const RECORD: &str = "insert into public.hook_calls (who, timeout, event)
    values (current_user, current_setting('statement_timeout'), event);";

async fn the_hook_sees_the_user_gotrue_would_create(world: Arc<World>) {
    let hook = "pg-functions://postgres/public/recording_hook";
    let app = world
        .app_on_own_database_with(&[("AUTH_HOOK_BEFORE_USER_CREATED_URI", hook)])
        .await;
    install_hook(
        &app,
        "recording_hook",
        &format!("{RECORD} return '{{}}'::jsonb;"),
    )
    .await;

    // Sign-up: the user as GoTrue builds it before the insert, and who is asking.
    let email = unique_email("Hooked");
    let answer = app
        .post("/auth/v1/signup")
        .header("x-forwarded-for", "198.51.100.4, 10.0.0.1")
        .json(json!({ "email": email, "password": PASSWORD, "data": { "name": "Ann" } }))
        .send()
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let created = answer.json()["id"].clone();
    let calls = hook_calls(&app).await;
    assert_eq!(calls.len(), 1);
    let (who, timeout, event) = &calls[0];
    // Its own transaction, as supabase_auth_admin, with GoTrue's 2 s timeout.
    assert_eq!(
        (who.as_str(), timeout.as_str()),
        ("supabase_auth_admin", "2s")
    );
    let metadata = &event["metadata"];
    assert_eq!(metadata["name"], "before-user-created");
    assert_eq!(metadata["ip_address"], "198.51.100.4");
    assert!(metadata["uuid"].as_str().unwrap().parse::<Uuid>().is_ok());
    let time = metadata["time"].as_str().unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok(), "{time}");
    assert_eq!(
        event["user"],
        json!({
            "id": created,
            "aud": "authenticated",
            "role": "",
            "email": email.to_lowercase(),
            "phone": "",
            "app_metadata": { "provider": "email", "providers": ["email"] },
            "user_metadata": { "name": "Ann" },
            "identities": [],
            "created_at": "0001-01-01T00:00:00Z",
            "updated_at": "0001-01-01T00:00:00Z",
            "is_anonymous": false,
        })
    );
    // Signing up a pending address again creates nobody: no call.
    let answer = app
        .post("/auth/v1/signup")
        .json(json!({ "email": email, "password": PASSWORD }))
        .send()
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(hook_calls(&app).await.len(), 1);

    // OTP sign-up and invite: the peer's address without X-Forwarded-For.
    let otp_email = unique_email("otp");
    let answer = app
        .post("/auth/v1/otp")
        .json(json!({ "email": otp_email, "data": { "via": "otp" } }))
        .send()
        .await;
    assert_eq!(answer.status, 200);
    let invited = unique_email("invited");
    let answer = app
        .post("/auth/v1/invite")
        .bearer(SERVICE_KEY)
        .json(json!({ "email": invited, "data": { "team": "a" } }))
        .send()
        .await;
    assert_eq!(answer.status, 200);
    let invited_id = answer.json()["id"].clone();
    // No hook before POST /admin/users.
    app.user("admin-made").await;
    // An OAuth first sign-in (the provider's identity data as the metadata); the next
    // sign-in of that account creates nobody.
    let oauth_email = unique_email("oauth");
    let answer = oauth_sign_in(&app, "github", &oauth_email).await;
    let oauth_user = oauth_subject(&app, &answer).await;
    let answer = oauth_sign_in(&app, "github", &oauth_email).await;
    assert_eq!(oauth_subject(&app, &answer).await, oauth_user);

    let calls = hook_calls(&app).await;
    let users: Vec<&Value> = calls.iter().map(|(_, _, event)| &event["user"]).collect();
    assert_eq!(users.len(), 4, "{users:?}");
    assert_eq!(
        (&users[1]["email"], &users[1]["user_metadata"]),
        (&json!(otp_email), &json!({ "via": "otp" }))
    );
    assert_eq!(calls[1].2["metadata"]["ip_address"], PEER);
    assert_eq!(
        (&users[2]["id"], &users[2]["user_metadata"]),
        (&invited_id, &json!({ "team": "a" }))
    );
    assert_eq!(users[3]["id"], json!(oauth_user));
    assert_eq!(
        users[3]["app_metadata"],
        json!({ "provider": "github", "providers": ["github"] })
    );
    let identity = &users[3]["user_metadata"];
    assert_eq!(
        (&identity["email"], &identity["iss"]),
        (&json!(oauth_email), &json!("https://api.github.com"))
    );
    assert_eq!(identity["email_verified"], true);
}

async fn a_hooks_refusal_or_failure_is_the_answer(world: Arc<World>) {
    let uri = "pg-functions://postgres/public/picky_hook";
    let app = world
        .app_on_own_database_with(&[("AUTH_HOOK_BEFORE_USER_CREATED_URI", uri)])
        .await;
    let body = format!(
        "{RECORD}
         case split_part(event #>> '{{user,email}}', '-', 1)
           when 'refused' then
             return '{{\"error\": {{\"http_code\": 409, \"message\": \"Not you\"}}}}';
           when 'nocode' then return '{{\"error\": {{\"message\": \"No code\"}}}}';
           when 'okcode' then
             return '{{\"error\": {{\"http_code\": 200, \"message\": \"Not an error status\"}}}}';
           when 'nomessage' then return '{{\"error\": {{\"http_code\": 409, \"message\": \"\"}}}}';
           when 'slow' then perform pg_sleep(3);
           when 'broken' then raise exception 'broken hook';
           else null;
         end case;
         return '{{}}'::jsonb;"
    );
    install_hook(&app, "picky_hook", &body).await;
    let signup = |tag: &str| {
        let email = unique_email(tag);
        let call = app
            .post("/auth/v1/signup")
            .json(json!({ "email": email, "password": PASSWORD }));
        (email, call.send())
    };

    let (email, answer) = signup("refused");
    answer.await.assert_error(409, "unknown", "Not you");
    assert_eq!(users_with_email(&app, &email).await, 0);
    // The hook's own transaction was committed: its write stays.
    let calls = hook_calls(&app).await;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].2["user"]["email"], json!(email));

    // No status, or one that is not an error's: 500 with the hook's message.
    let (_, answer) = signup("nocode");
    answer
        .await
        .assert_error(500, "unexpected_failure", "No code");
    let (_, answer) = signup("okcode");
    answer
        .await
        .assert_error(500, "unexpected_failure", "Not an error status");
    // An error without a message is no error.
    let (email, answer) = signup("nomessage");
    assert_eq!(answer.await.status, 200);
    assert_eq!(users_with_email(&app, &email).await, 1);

    // A hook that fails or outlasts its 2 s: GoTrue's 500, naming the hook; nothing made.
    let failed = format!("Error running hook URI: {uri}");
    for tag in ["broken", "slow"] {
        let (email, answer) = signup(tag);
        answer
            .await
            .assert_error(500, "unexpected_failure", &failed);
        assert_eq!(users_with_email(&app, &email).await, 0);
    }

    // A hook URI naming no function fails the same way.
    let missing = "pg-functions://postgres/public/no_such_hook";
    let app = world
        .app_with(&[("AUTH_HOOK_BEFORE_USER_CREATED_URI", missing)])
        .await;
    let email = unique_email("missing");
    app.post("/auth/v1/signup")
        .json(json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .assert_error(
            500,
            "unexpected_failure",
            &format!("Error running hook URI: {missing}"),
        );
    assert_eq!(users_with_email(&app, &email).await, 0);
}

async fn sessions_of(app: &TestApp, user_id: Uuid) -> i64 {
    app.db
        .query_one(
            "select count(*) from auth.sessions where user_id = $1",
            &[&user_id],
        )
        .await
        .unwrap()
        .get(0)
}

/// Replaces the project's public.custom_access_token_hook with this body.
async fn replace_access_token_hook(app: &TestApp, body: &str) {
    install_hook(app, "custom_access_token_hook", body).await;
}

async fn the_access_token_hook_shapes_every_token(world: Arc<World>) {
    let app = world.app_on_own_database().await;
    let user = app.user("shaped").await;
    replace_access_token_hook(
        &app,
        &format!(
            "{RECORD}
             return jsonb_set(event, '{{claims,extra}}',
                              to_jsonb(event ->> 'authentication_method'));"
        ),
    )
    .await;
    let session = app.sign_in(&user).await;
    let claims = app
        .verify_token(session["access_token"].as_str().unwrap())
        .await;
    assert_eq!(claims["extra"], "password");
    // The role of GoTrue's connection, in the sign-in's transaction (no timeout of its own).
    let calls = hook_calls(&app).await;
    let (who, _, event) = &calls[0];
    assert_eq!(who, "supabase_auth_admin");
    assert_eq!(event["user_id"], json!(user.id));
    assert_eq!(event["claims"]["sub"], json!(user.id));
    assert_eq!(event["claims"]["session_id"], claims["session_id"]);
    assert!(event["claims"].get("extra").is_none());

    let refreshed = app
        .post("/auth/v1/token?grant_type=refresh_token")
        .json(json!({ "refresh_token": session["refresh_token"] }))
        .send()
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text());
    let claims = app
        .verify_token(refreshed.json()["access_token"].as_str().unwrap())
        .await;
    assert_eq!(claims["extra"], "token_refresh");

    // Claims without one GoTrue requires: 500.
    replace_access_token_hook(
        &app,
        "return jsonb_set(event, '{claims}', (event -> 'claims') - 'session_id');",
    )
    .await;
    let answer = app
        .post("/auth/v1/token?grant_type=password")
        .json(json!({ "email": user.email, "password": PASSWORD }))
        .send()
        .await;
    answer.assert_error(
        500,
        "unexpected_failure",
        "output claims do not conform to the expected schema",
    );

    // Without the function, tokens are signed as built (no user_role).
    app.db
        .batch_execute("drop function public.custom_access_token_hook(jsonb)")
        .await
        .unwrap();
    let claims = app
        .verify_token(app.sign_in(&user).await["access_token"].as_str().unwrap())
        .await;
    assert!(
        claims.get("user_role").is_none() && claims.get("extra").is_none(),
        "{claims}"
    );
    assert_eq!(claims["sub"], json!(user.id));
}

async fn the_access_token_hooks_refusal_stops_the_sign_in(world: Arc<World>) {
    let app = world.app_on_own_database().await;
    let user = app.user("stopped").await;
    let session = app.sign_in(&user).await;
    let refresh_token = session["refresh_token"].as_str().unwrap().to_string();
    replace_access_token_hook(
        &app,
        "return '{\"error\": {\"http_code\": 403, \"message\": \"No tokens today\"}}'::jsonb;",
    )
    .await;
    let answer = app
        .post("/auth/v1/token?grant_type=password")
        .json(json!({ "email": user.email, "password": PASSWORD }))
        .send()
        .await;
    answer.assert_error(403, "unknown", "No tokens today");
    assert_eq!(sessions_of(&app, user.id).await, 1);
    // A refresh is refused too, and its token is not spent.
    let refresh = || {
        app.post("/auth/v1/token?grant_type=refresh_token")
            .json(json!({ "refresh_token": refresh_token }))
            .send()
    };
    refresh()
        .await
        .assert_error(403, "unknown", "No tokens today");
    let revoked: bool = app
        .db
        .query_one(
            "select revoked from auth.refresh_tokens where token = $1",
            &[&refresh_token],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!revoked);

    // A hook that fails: GoTrue's 500, naming it.
    replace_access_token_hook(&app, "raise exception 'broken hook';").await;
    refresh().await.assert_error(
        500,
        "unexpected_failure",
        "Error running hook URI: pg-functions://postgres/public/custom_access_token_hook",
    );
    // Working again: the same refresh token still refreshes.
    replace_access_token_hook(&app, "return event;").await;
    assert_eq!(refresh().await.status, 200);
}
