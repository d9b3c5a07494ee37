//! The published contract (issue 12): `openapi.json`, written by `make routes` from the
//! route table and the handlers' own types (tests/tests/api/routes.rs fails when the
//! committed file is stale), served by `GET /openapi.json` without credentials. Here:
//! that it is served as committed, that it describes every route with what every route
//! of its kind answers, and that its bounds are the validators' bounds.
//! `make test` also runs schemathesis against it (scripts/contract.sh).

use functions::openapi;
use functions::routes::{self, ALL, STREAMING};
use functions::validate;
use integration_tests::*;
use serde_json::{json, Value};
use shared::pipeline::route::Access;
use shared::pipeline::SECURITY_HEADERS;

fn committed() -> Value {
    serde_json::from_str(openapi::DOCUMENT).expect("openapi.json is JSON")
}

#[tokio::test]
async fn the_document_is_served_as_committed_without_credentials() {
    let res = Req::get("/openapi.json").send(&routes::OPENAPI).await;
    assert_eq!(res.status, 200);
    assert_security_headers(&res.headers);
    assert_eq!(res.header("content-type"), Some("application/json"));
    assert_eq!(res.body, committed());
    assert_eq!(res.body["openapi"], "3.1.0");

    // Even with a bad token and no database: it reads neither.
    let app = app_with_unreachable_postgrest();
    let req = Req::get("/openapi.json").bearer("not-a-token").build();
    let res = send_with(&app, &routes::OPENAPI, req).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body, committed());
}

#[tokio::test]
async fn the_document_is_served_over_http() {
    let res = reqwest::get(format!("{}/openapi.json", stack().api_url))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    for (name, value) in SECURITY_HEADERS {
        assert_eq!(res.headers()[*name], *value, "{name}");
    }
    let body: Value = res.json().await.unwrap();
    assert_eq!(body, committed());
}

#[test]
fn the_committed_document_is_the_generated_one() {
    // (routes.rs checks every generated file; this names the failure plainly.)
    assert!(
        openapi::json() == openapi::DOCUMENT,
        "openapi.json is stale: run `make routes`"
    );
}

fn operation<'a>(doc: &'a Value, route: &shared::Route) -> &'a Value {
    let op = &doc["paths"][route.path][route.method.as_str().to_ascii_lowercase()];
    assert!(
        op.is_object(),
        "{} {} is not in the document",
        route.method,
        route.path
    );
    op
}

#[test]
fn every_route_is_an_operation_with_its_credentials_and_refusals() {
    let doc = openapi::document();
    let mut operations = 0;
    for route in ALL.iter().chain(STREAMING) {
        let op = operation(&doc, route);
        operations += 1;
        let name = route.function;
        assert_eq!(op["operationId"], name);
        let responses = op["responses"].as_object().unwrap();
        let security = op["security"].to_string();
        if route.access() == Access::User {
            assert_eq!(
                security, r#"[{"bearer":[]},{"sessionCookie":[]}]"#,
                "{name}"
            );
            assert!(responses.contains_key("401"), "{name}");
            assert!(responses.contains_key("503"), "{name}");
        }
        if op.get("requestBody").is_some() {
            for status in ["400", "413", "415", "422"] {
                assert!(responses.contains_key(status), "{name} {status}");
            }
        }
        if route.path.contains('{') {
            assert!(responses.contains_key("404"), "{name}");
        }
        for (status, response) in responses {
            // Every answer carries the security headers and its request id.
            for (header, _) in SECURITY_HEADERS {
                let documented = response["headers"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .any(|k| k.eq_ignore_ascii_case(header));
                assert!(documented, "{name} {status} lacks {header}");
            }
            if status.starts_with('4') || status.starts_with('5') {
                let schema = &response["content"]["application/json"]["schema"];
                assert_eq!(schema["allOf"][0]["$ref"], "#/components/schemas/Error");
            }
        }
        if name == "stream" {
            assert!(responses["200"]["content"]["text/event-stream"].is_object());
        }
    }
    let documented: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(documented, operations, "an operation no route serves");
    // The security headers are required, with their exact values.
    for (header, value) in SECURITY_HEADERS {
        let found = doc["components"]["headers"]
            .as_object()
            .unwrap()
            .values()
            .find(|h| h["schema"]["const"] == *value)
            .unwrap_or_else(|| panic!("{header}"));
        assert_eq!(found["required"], true);
    }
}

#[test]
fn session_routes_document_their_cookie_and_writes_their_rate_limit() {
    let doc = openapi::document();
    for route in [routes::SIGN_IN, routes::REFRESH_SESSION] {
        let ok = &operation(&doc, &route)["responses"]["200"];
        assert_eq!(
            ok["headers"]["Set-Cookie"]["required"], true,
            "{}",
            route.function
        );
    }
    // Sign-out clears the cookie, but with scope=others (this browser stays signed in).
    let signed_out = &operation(&doc, &routes::SIGN_OUT)["responses"]["204"];
    assert_eq!(signed_out["headers"]["Set-Cookie"]["required"], false);
    let scope = operation(&doc, &routes::SIGN_OUT)["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "scope")
        .cloned()
        .expect("a scope parameter");
    assert_eq!(
        scope["schema"]["enum"],
        json!(["local", "global", "others"]),
        "{scope}"
    );
    let create = &operation(&doc, &routes::CREATE_PROJECT)["responses"];
    assert!(create["201"]["headers"]["RateLimit"].is_object());
    assert_eq!(
        create["429"]["headers"]["Retry-After"]["$ref"],
        "#/components/headers/RetryAfter"
    );
    // Creates link to what can be done with the new id (schemathesis follows them).
    assert_eq!(
        create["201"]["links"]["GetProject"]["parameters"]["id"],
        "$response.body#/data/id"
    );
}

type Check = fn(&str) -> Result<(), validator::ValidationError>;

/// The string bounds in the document are read from the validators' own kinds: a value
/// at the documented maximum passes the validator, one character more does not.
#[test]
fn documented_string_bounds_are_the_validators_bounds() {
    let doc = openapi::document();
    let schemas = &doc["components"]["schemas"];
    let cases: &[(&str, &str, Check, &str)] = &[
        ("NewWorkspace", "name", validate::short_name, "a"),
        ("NewProject", "name", validate::short_name, "a"),
        ("NewProject", "description", validate::description, "a"),
        ("NewPost", "title", validate::title, "a"),
        ("NewPost", "body", validate::post_body, "a"),
        ("ProfileChanges", "name", validate::full_name, "a"),
        ("ProfileChanges", "bio", validate::bio, "a"),
        ("NewUpload", "filename", validate::upload_name, "a"),
        ("Settings", "siteName", validate::short_name, "a"),
    ];
    for (schema, field, check, unit) in cases {
        let property = &schemas[schema]["properties"][field];
        let max = property["maxLength"]
            .as_u64()
            .unwrap_or_else(|| panic!("{schema}.{field}: {property}")) as usize;
        assert!(
            check(&unit.repeat(max)).is_ok(),
            "{schema}.{field} at {max}"
        );
        assert!(
            check(&unit.repeat(max + 1)).is_err(),
            "{schema}.{field} over {max}"
        );
        let min = property["minLength"].as_u64().unwrap_or(0) as usize;
        if min > 0 {
            assert!(
                check(&unit.repeat(min - 1)).is_err(),
                "{schema}.{field} under {min}"
            );
        }
        assert_eq!(
            schemas[schema]["additionalProperties"], false,
            "{schema} refuses unknown fields"
        );
    }
}

/// A PATCH field that cannot be cleared refuses `null` (422 naming it) instead of
/// leaving it unchanged, as the document says (`string`, not `string | null`).
#[tokio::test]
async fn a_null_for_a_field_that_cannot_be_cleared_is_422() {
    let admin = user().await;
    let ws = workspace(&admin).await;
    let id = project(ws, &admin, "Kept").await;
    let res = Req::patch(&format!("/projects/{id}"))
        .param("id", id)
        .json(serde_json::json!({ "name": null, "description": "x" }))
        .as_user(&admin)
        .send(&routes::UPDATE_PROJECT)
        .await;
    res.assert_invalid("name");
    let doc = openapi::document();
    assert_eq!(
        doc["components"]["schemas"]["ProjectChanges"]["properties"]["name"]["type"],
        "string"
    );
}
