//! GET /authorize and the fake provider's page (GoTrue's callback): the implicit flow
//! (tokens in the fragment), PKCE (a code for POST /token?grant_type=pkce), account
//! linking by verified email, and every error redirect.

use std::sync::Arc;

use serde_json::json;
use uuid::Uuid;

use crate::support::{
    params, tests, unique_email, Answer, TestApp, World, APP_AUTH, ISSUER, SITE_URL,
};

tests![
    authorize_starts_a_flow_and_redirects_to_the_provider,
    authorize_refusals,
    implicit_flow_answers_tokens_in_the_fragment,
    pkce_flow_answers_a_code_for_the_token_endpoint,
    a_verified_provider_email_links_to_the_existing_account,
    the_providers_refusal_and_gotrues_errors_go_back_to_the_app,
    bad_states_go_back_to_the_site_url,
];

const VERIFIER: &str = "a-code-verifier-of-at-least-forty-three-characters";

/// S256 of VERIFIER, as a client computes its code_challenge.
async fn challenge(app: &TestApp) -> String {
    app.db
        .query_one(
            "select translate(rtrim(encode(sha256($1::text::bytea), 'base64'), '='), '+/', '-_')",
            &[&VERIFIER],
        )
        .await
        .unwrap()
        .get(0)
}

/// GET /authorize, and the fake provider's page path it redirects to.
async fn authorize(app: &TestApp, query: &str) -> String {
    let answer = app
        .get(&format!("/auth/v1/authorize?{query}"))
        .no_apikey()
        .send()
        .await;
    assert_eq!(answer.status, 302, "{}", answer.text());
    let location = answer.location();
    let path = location.strip_prefix("http://auth.test").expect(location);
    path.to_string()
}

async fn consent(app: &TestApp, page: &str, answer: &str) -> Answer {
    app.get(&format!("{page}{answer}")).no_apikey().send().await
}

async fn authorize_starts_a_flow_and_redirects_to_the_provider(world: Arc<World>) {
    let app = world.app().await;
    let redirect = format!("{APP_AUTH}callback");
    let page = authorize(&app, &format!("provider=GitHub&redirect_to={redirect}")).await;
    let state = page
        .strip_prefix("/auth/v1/_fake-provider/github/authorize?state=")
        .unwrap_or_else(|| panic!("{page}"));
    let state: Uuid = state.parse().unwrap();
    let row = app
        .db
        .query_one(
            "select provider_type, referrer, auth_code is null, authentication_method
             from auth.flow_state where id = $1",
            &[&state],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "github");
    assert_eq!(row.get::<_, String>(1), redirect);
    assert!(row.get::<_, bool>(2));
    assert_eq!(row.get::<_, String>(3), "oauth");
    assert!(ISSUER.starts_with("http://auth.test"));
}

async fn authorize_refusals(world: Arc<World>) {
    let app = world.app().await;
    let long = "c".repeat(43);
    let cases = [
        (
            "provider=myspace".to_string(),
            "Unsupported provider: Provider myspace could not be found",
        ),
        (
            "provider=apple".to_string(),
            "Unsupported provider: provider is not enabled",
        ),
        (
            "".to_string(),
            "Unsupported provider: Provider  could not be found",
        ),
        (
            format!("provider=github&code_challenge={long}"),
            "PKCE flow requires code_challenge_method and code_challenge",
        ),
        (
            "provider=github&code_challenge=short&code_challenge_method=s256".to_string(),
            "code challenge has to be between 43 and 128 characters",
        ),
        (
            format!("provider=github&code_challenge={long}&code_challenge_method=md5"),
            "Invalid code_challenge_method",
        ),
    ];
    for (query, msg) in cases {
        let answer = app
            .get(&format!("/auth/v1/authorize?{query}"))
            .no_apikey()
            .send()
            .await;
        answer.assert_error(400, "validation_failed", msg);
    }
    // apple, once enabled, is served.
    let app = world
        .app_with(&[("AUTH_EXTERNAL_PROVIDERS", "apple")])
        .await;
    let page = authorize(&app, "provider=apple").await;
    assert!(
        page.starts_with("/auth/v1/_fake-provider/apple/authorize?state="),
        "{page}"
    );
}

async fn implicit_flow_answers_tokens_in_the_fragment(world: Arc<World>) {
    let app = world.app().await;
    let email = unique_email("gh");
    // The redirect URL is kept as given, the tokens in its fragment.
    let page = authorize(
        &app,
        &format!("provider=github&redirect_to={APP_AUTH}cb%3Fb%3D1%2B2%26a%3D~"),
    )
    .await;
    let answer = consent(&app, &page, &format!("&email={email}&name=Ann+Lee")).await;
    assert_eq!(answer.status, 302);
    let (to, fragment) = answer.location().split_once('#').unwrap();
    assert_eq!(to, format!("{APP_AUTH}cb?b=1+2&a=~"));
    let tokens = params(fragment);
    let keys: Vec<&str> = tokens.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "access_token",
            "expires_at",
            "expires_in",
            "provider_token",
            "refresh_token",
            "sb",
            "token_type"
        ]
    );
    assert_eq!(
        (tokens["token_type"].as_str(), tokens["expires_in"].as_str()),
        ("bearer", "3600")
    );
    assert!(tokens["provider_token"].starts_with("fake-github-"));
    let claims = app.verify_token(&tokens["access_token"]).await;
    assert_eq!(claims["amr"][0]["method"], "oauth");
    assert_eq!(claims["app_metadata"]["provider"], "github");
    assert_eq!(claims["user_metadata"]["full_name"], "Ann Lee");
    let user_id: Uuid = claims["sub"].as_str().unwrap().parse().unwrap();
    let row = app
        .db
        .query_one(
            "select u.email_confirmed_at is not null, i.identity_data ->> 'iss'
             from auth.users u join auth.identities i on i.user_id = u.id where u.id = $1",
            &[&user_id],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0));
    assert_eq!(row.get::<_, String>(1), "https://api.github.com");
    // The flow is spent: its state is unknown now.
    let again = consent(&app, &page, &format!("&email={email}")).await;
    assert_eq!(again.status, 303);
    assert_eq!(
        params(again.location().split_once('?').unwrap().1)["error_code"],
        "bad_oauth_state"
    );
    // The same provider account signs in to the same user next time.
    let page = authorize(&app, "provider=github").await;
    let answer = consent(&app, &page, &format!("&email={email}")).await;
    let fragment = params(answer.location().split_once('#').unwrap().1);
    let claims = app.verify_token(&fragment["access_token"]).await;
    assert_eq!(claims["sub"], json!(user_id));
}

async fn pkce_flow_answers_a_code_for_the_token_endpoint(world: Arc<World>) {
    let app = world.app().await;
    let challenge = challenge(&app).await;
    let query = format!(
        "provider=google&redirect_to={APP_AUTH}cb%3Fz%3D1%26a%3D%7E%2A%2B&code_challenge={challenge}&code_challenge_method=S256"
    );
    let page = authorize(&app, &query).await;
    let email = unique_email("google");
    let answer = consent(&app, &page, &format!("&email={email}")).await;
    assert_eq!(answer.status, 302);
    // The code joins the redirect's query, re-encoded and sorted as Go's url.Values
    // (its `+` read as a space and written back as `+`, `*` escaped, `~` kept).
    let location = answer.location();
    let (code, rest) = location
        .strip_prefix(&format!("{APP_AUTH}cb?a=~%2A+&code="))
        .and_then(|tail| tail.split_once('&'))
        .unwrap_or_else(|| panic!("{location}"));
    assert_eq!(rest, "z=1");
    let code = code.to_string();
    // The consent page once more: the state is used.
    let again = consent(&app, &page, &format!("&email={email}")).await;
    assert_eq!(again.status, 303);
    let error = params(again.location().split_once('?').unwrap().1);
    assert_eq!(
        (
            error["error_code"].as_str(),
            error["error_description"].as_str()
        ),
        ("flow_state_already_used", "State has already been used")
    );

    let exchange = |verifier: &str| {
        app.post("/auth/v1/token?grant_type=pkce")
            .json(json!({ "auth_code": code, "code_verifier": verifier }))
            .send()
    };
    exchange("a-wrong-verifier-of-at-least-forty-three-characters")
        .await
        .assert_error(
            400,
            "bad_code_verifier",
            "code challenge does not match previously saved code verifier",
        );
    let answer = exchange(VERIFIER).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = answer.json();
    assert!(body["provider_token"]
        .as_str()
        .unwrap()
        .starts_with("fake-google-"));
    let claims = app
        .verify_token(body["access_token"].as_str().unwrap())
        .await;
    assert_eq!(
        (&claims["email"], &claims["amr"][0]["method"]),
        (&json!(email), &json!("oauth"))
    );
    // Single use.
    exchange(VERIFIER).await.assert_error(
        404,
        "flow_state_not_found",
        "invalid flow state, no valid flow state found",
    );

    // A code not exchanged within 5 minutes has expired.
    let page = authorize(&app, &query).await;
    let answer = consent(&app, &page, &format!("&email={email}")).await;
    let code = params(answer.location().split_once('?').unwrap().1)["code"].clone();
    app.db
        .execute("update auth.flow_state set created_at = now() - interval '301 seconds' where auth_code = $1", &[&code])
        .await
        .unwrap();
    app.post("/auth/v1/token?grant_type=pkce")
        .json(json!({ "auth_code": code, "code_verifier": VERIFIER }))
        .send()
        .await
        .assert_error(
            422,
            "flow_state_expired",
            "invalid flow state, flow state has expired",
        );
}

async fn a_verified_provider_email_links_to_the_existing_account(world: Arc<World>) {
    let app = world.app().await;
    let user = app.user("linked").await;
    let page = authorize(&app, "provider=github").await;
    let answer = consent(&app, &page, &format!("&email={}", user.email)).await;
    let fragment = params(answer.location().split_once('#').unwrap().1);
    let claims = app.verify_token(&fragment["access_token"]).await;
    assert_eq!(claims["sub"], json!(user.id));
    assert_eq!(
        claims["app_metadata"]["providers"],
        json!(["email", "github"])
    );
    assert_eq!(
        claims["user_metadata"]["user_name"],
        json!(user.email.split('@').next().unwrap())
    );
}

async fn the_providers_refusal_and_gotrues_errors_go_back_to_the_app(world: Arc<World>) {
    let app = world.app().await;
    let page = authorize(
        &app,
        &format!("provider=github&redirect_to={APP_AUTH}cb%23old"),
    )
    .await;
    let answer = consent(&app, &page, "&deny=1").await;
    assert_eq!(answer.status, 302);
    let description = "The+user+has+denied+your+application+access.";
    assert_eq!(
        answer.location(),
        format!("{APP_AUTH}cb?error=access_denied&error_description={description}#error=access_denied&error_description={description}&sb=")
    );

    // A banned user: GoTrue's error, its code in the query and the fragment.
    let user = app.user("banned").await;
    app.db
        .execute(
            "update auth.users set banned_until = now() + interval '1 hour' where id = $1",
            &[&user.id],
        )
        .await
        .unwrap();
    let page = authorize(&app, &format!("provider=github&redirect_to={APP_AUTH}cb")).await;
    let answer = consent(&app, &page, &format!("&email={}", user.email)).await;
    let (query, fragment) = answer
        .location()
        .split_once('?')
        .unwrap()
        .1
        .split_once('#')
        .unwrap();
    let expected = [
        ("error", "access_denied"),
        ("error_code", "user_banned"),
        ("error_description", "User is banned"),
    ];
    for part in [params(query), params(fragment)] {
        for (k, v) in expected {
            assert_eq!(part[k], v, "{}", answer.location());
        }
    }

    // An address GoTrue refuses.
    let page = authorize(&app, &format!("provider=github&redirect_to={APP_AUTH}cb")).await;
    let answer = consent(&app, &page, "&email=not-an-address").await;
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
    assert_eq!(
        (query["error"].as_str(), query["error_code"].as_str()),
        ("invalid_request", "validation_failed")
    );
}

async fn bad_states_go_back_to_the_site_url(world: Arc<World>) {
    let app = world.app().await;
    let back = |code: &str, description: &str| {
        let description = description.replace(' ', "+");
        format!(
            "{SITE_URL}?error=invalid_request&error_code={code}&error_description={description}"
        )
    };
    let page = "/auth/v1/_fake-provider/github/authorize";
    let cases = [
        (
            page.to_string(),
            back("bad_oauth_callback", "OAuth state parameter missing"),
        ),
        (
            format!("{page}?state=123"),
            back("bad_oauth_state", "OAuth state parameter is invalid"),
        ),
        (
            format!("{page}?state={}", Uuid::new_v4()),
            back("bad_oauth_state", "OAuth state not found or expired"),
        ),
    ];
    for (path, location) in cases {
        let answer = app.get(&path).no_apikey().send().await;
        assert_eq!((answer.status, answer.location()), (303, location.as_str()));
    }
    // A state of another provider, and an expired one.
    let github = authorize(&app, "provider=github").await;
    let state = github.split_once("state=").unwrap().1;
    let google = format!("/auth/v1/_fake-provider/google/authorize?state={state}");
    let answer = app.get(&google).no_apikey().send().await;
    assert_eq!(
        answer.location(),
        back("bad_oauth_state", "OAuth state not found or expired")
    );
    app.db
        .execute(
            "update auth.flow_state set created_at = now() - interval '301 seconds' where id = $1",
            &[&state.parse::<Uuid>().unwrap()],
        )
        .await
        .unwrap();
    let answer = app.get(&github).no_apikey().send().await;
    assert_eq!(
        answer.location(),
        back("bad_oauth_state", "OAuth state has expired")
    );
}
