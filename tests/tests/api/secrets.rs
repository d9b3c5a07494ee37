//! Secrets read at cold start from Secrets Manager (shared/src/clients/secrets.rs), and a
//! template that puts no secret in any function's configuration.
//!
//! The Secrets Manager here is moto's server (`make test` starts it; AWS's service
//! cannot run here). It speaks the real JSON 1.1 protocol but does not check SigV4
//! signatures, so these tests show the call, the parsing and the failures, not the
//! signature.

use functions::routes;
use integration_tests::*;
use serde_json::{json, Value};
use shared::App;
use uuid::Uuid;
use yaml_rust2::{Yaml, YamlLoader};

fn secrets_manager() -> String {
    std::env::var("TEST_SECRETS_MANAGER_URL")
        .expect("TEST_SECRETS_MANAGER_URL: the test stack's Secrets Manager (make test)")
}

/// A new secret holding `value`; its ARN.
async fn create_secret(value: &str) -> String {
    let res: Value = reqwest::Client::new()
        .post(format!("{}/", secrets_manager()))
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", "secretsmanager.CreateSecret")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0",
        )
        .body(json!({ "Name": format!("supa-lambda/test-{}", Uuid::new_v4()), "SecretString": value }).to_string())
        .send()
        .await
        .expect("Secrets Manager answers")
        .json()
        .await
        .expect("CreateSecret JSON");
    res["ARN"].as_str().expect("an ARN").to_owned()
}

/// The stack's environment as a cold start sees it, with `overrides` (None removes).
fn lookup(overrides: Vec<(&'static str, Option<String>)>) -> impl Fn(&str) -> Option<String> {
    move |name: &str| match overrides.iter().find(|(k, _)| *k == name) {
        Some((_, v)) => v.clone(),
        None => std::env::var(name).ok(),
    }
}

#[tokio::test]
async fn the_service_role_key_and_the_jwt_secret_come_from_secrets_manager() {
    let service_key = std::env::var("SUPABASE_SERVICE_ROLE_KEY").unwrap();
    let jwt_secret = stack().jwt_secret.clone();
    let service_arn = create_secret(&service_key).await;
    let jwt_arn = create_secret(&jwt_secret).await;

    let app = App::from_lookup_and_secrets(
        lookup(vec![
            ("SUPABASE_SERVICE_ROLE_KEY", None),
            ("SUPABASE_JWT_SECRET", None),
            ("SUPABASE_SERVICE_ROLE_KEY_SECRET_ARN", Some(service_arn)),
            ("SUPABASE_JWT_SECRET_ARN", Some(jwt_arn)),
            ("SECRETS_MANAGER_ENDPOINT", Some(secrets_manager())),
        ]),
        shared::clients::KeysAtStart::Fetch,
    )
    .await
    .expect("a cold start with secrets from Secrets Manager");
    assert_eq!(
        app.config.service_role_key.as_deref(),
        Some(service_key.as_str())
    );

    // The JWT secret verifies an HS256 token...
    let user = user().await;
    let hs256 = token(json!({ "sub": user.id, "email": user.email }));
    let res = send_with(&app, &routes::ME, Req::get("/me").bearer(&hs256).build()).await;
    res.assert_ok(200);
    // ...and the service role key counts sign-in attempts (503 without it).
    let res = send_with(
        &app,
        &routes::SIGN_IN,
        Req::post("/auth/sign-in")
            .ip("198.18.7.7")
            .json(json!({ "email": format!("nobody-{}@example.test", Uuid::new_v4()), "password": "x" }))
            .build(),
    )
    .await;
    res.assert_error(401, "UNAUTHORIZED");
}

/// Today's name for the secret's ARN (`SUPABASE_SECRET_KEY_SECRET_ARN`, template.yaml's)
/// is read, and wins over the legacy one when both are set.
#[tokio::test]
async fn the_secret_key_arn_is_read_and_wins_over_the_legacy_one() {
    let service_key = std::env::var("SUPABASE_SERVICE_ROLE_KEY").unwrap();
    let secret_arn = create_secret(&service_key).await;
    let legacy_arn = create_secret("legacy-service-role-key-not-used").await;
    let app = App::from_lookup_and_secrets(
        lookup(vec![
            ("SUPABASE_SERVICE_ROLE_KEY", None),
            ("SUPABASE_SECRET_KEY_SECRET_ARN", Some(secret_arn)),
            ("SUPABASE_SERVICE_ROLE_KEY_SECRET_ARN", Some(legacy_arn)),
            ("SECRETS_MANAGER_ENDPOINT", Some(secrets_manager())),
        ]),
        shared::clients::KeysAtStart::Fetch,
    )
    .await
    .expect("a cold start with the secret key from Secrets Manager");
    assert_eq!(
        app.config.service_role_key.as_deref(),
        Some(service_key.as_str())
    );
}

#[tokio::test]
async fn a_secret_that_cannot_be_read_stops_the_cold_start_and_names_the_variable() {
    let service_key = std::env::var("SUPABASE_SERVICE_ROLE_KEY").unwrap();
    let missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:supa-lambda/missing-AbCdEf";
    let empty = create_secret(" ").await;
    for (arn, what) in [
        (missing.to_owned(), "a missing secret"),
        (
            "supa-lambda/service-role-key".to_owned(),
            "a name, not an ARN",
        ),
        (empty, "an empty secret"),
    ] {
        let err = match App::from_lookup_and_secrets(
            lookup(vec![
                ("SUPABASE_SERVICE_ROLE_KEY_SECRET_ARN", Some(arn)),
                ("SECRETS_MANAGER_ENDPOINT", Some(secrets_manager())),
            ]),
            shared::clients::KeysAtStart::Fetch,
        )
        .await
        {
            Ok(_) => panic!("{what}: the cold start went on"),
            Err(e) => e,
        };
        assert_eq!(err.var, "SUPABASE_SERVICE_ROLE_KEY_SECRET_ARN", "{what}");
        let text = err.to_string();
        assert!(!text.contains(&service_key), "{what}: {text}");
    }

    // Secrets Manager down: the same clean stop.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let arn = create_secret(&service_key).await;
    let err = match App::from_lookup_and_secrets(
        lookup(vec![
            ("SUPABASE_SERVICE_ROLE_KEY_SECRET_ARN", Some(arn)),
            (
                "SECRETS_MANAGER_ENDPOINT",
                Some(format!("http://127.0.0.1:{port}")),
            ),
        ]),
        shared::clients::KeysAtStart::Fetch,
    )
    .await
    {
        Ok(_) => panic!("Secrets Manager down: the cold start went on"),
        Err(e) => e,
    };
    assert_eq!(err.var, "SUPABASE_SERVICE_ROLE_KEY_SECRET_ARN");
}

fn template() -> Yaml {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join("template.yaml")).unwrap();
    assert!(
        !text.contains("resolve:secretsmanager"),
        "a dynamic reference would put the secret's value into the function configuration"
    );
    YamlLoader::load_from_str(&text).unwrap().remove(0)
}

/// Whether a function's policies allow secretsmanager:GetSecretValue, and on what.
fn secret_grants(function: &Yaml) -> Vec<String> {
    let mut out = Vec::new();
    for policy in function["Properties"]["Policies"]
        .as_vec()
        .into_iter()
        .flatten()
    {
        for statement in policy["Statement"].as_vec().into_iter().flatten() {
            if statement["Action"].as_str() == Some("secretsmanager:GetSecretValue") {
                for resource in statement["Resource"].as_vec().into_iter().flatten() {
                    out.push(format!("{resource:?}"));
                }
            }
        }
    }
    out
}

#[test]
fn no_function_configuration_holds_a_secret_and_only_users_of_secrets_may_read_them() {
    let template = template();
    let globals = &template["Globals"]["Function"]["Environment"]["Variables"];
    for secret in [
        "SUPABASE_SECRET_KEY",
        "SUPABASE_SERVICE_ROLE_KEY",
        "SUPABASE_JWT_SECRET",
    ] {
        assert!(globals[secret].is_badvalue(), "{secret} in Globals");
    }
    let resources = template["Resources"].as_hash().unwrap();
    let mut functions = 0;
    for (name, resource) in resources {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        functions += 1;
        let name = name.as_str().unwrap();
        let vars = &resource["Properties"]["Environment"]["Variables"];
        for secret in [
            "SUPABASE_SECRET_KEY",
            "SUPABASE_SERVICE_ROLE_KEY",
            "SUPABASE_JWT_SECRET",
        ] {
            assert!(
                vars[secret].is_badvalue(),
                "{name} has {secret} in its configuration"
            );
        }
        let grants = secret_grants(resource);
        // The routes the table deploys without secrets (health, openapi, not-found).
        let without_secrets = xtask::routes()
            .filter(|r| !r.deploy.secrets)
            .any(|r| format!("{}Function", xtask::logical_id(r)) == name);
        if without_secrets {
            assert!(
                vars["SUPABASE_SECRET_KEY_SECRET_ARN"].is_badvalue(),
                "{name}"
            );
            assert!(grants.is_empty(), "{name} may read no secret: {grants:?}");
        } else {
            assert!(
                !vars["SUPABASE_SECRET_KEY_SECRET_ARN"].is_badvalue()
                    && !vars["SUPABASE_JWT_SECRET_ARN"].is_badvalue(),
                "{name} has no secret ARNs"
            );
            // Exactly the two parameters' ARNs (no wildcard).
            assert_eq!(grants.len(), 2, "{name}: {grants:?}");
            assert!(
                grants.iter().all(|g| !g.contains('*')),
                "{name}: {grants:?}"
            );
        }
    }
    assert_eq!(
        functions,
        routes::ALL.len() + routes::FALLBACKS.len() + routes::STREAMING.len() + routes::JOBS.len()
    );
}
