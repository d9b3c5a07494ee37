//! Unknown paths and methods (issue 12): API Gateway's `$default` route, and locally the
//! catch-all of the `cargo lambda watch` router, answer 404 with the error envelope and
//! every security header, whatever the method and whatever credentials come with it.

use std::time::Duration;

use functions::routes::NOT_FOUND;
use http::Method;
use integration_tests::*;
use serde_json::Value;

const ALLOWED: &str = "http://localhost:3000";

#[tokio::test]
async fn every_method_gets_the_error_envelope_without_reading_credentials() {
    for method in [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
        Method::HEAD,
    ] {
        let res = Req::new(method.clone(), "/no-such-route")
            // A token that would be a 401 on any user route: never read here.
            .bearer("not-a-token")
            .send(&NOT_FOUND)
            .await;
        assert_err(&res, 404, "NOT_FOUND");
        assert_eq!(res.header("www-authenticate"), None, "{method}");
        assert_eq!(
            res.header("content-type"),
            Some("application/json; charset=utf-8"),
            "{method}"
        );
    }
}

#[tokio::test]
async fn a_browser_on_an_allowed_origin_can_read_the_404() {
    let res = Req::get("/nope")
        .header("origin", ALLOWED)
        .send(&NOT_FOUND)
        .await;
    assert_err(&res, 404, "NOT_FOUND");
    assert_eq!(res.header("access-control-allow-origin"), Some(ALLOWED));
    let res = Req::get("/nope")
        .header("origin", "https://evil.example")
        .send(&NOT_FOUND)
        .await;
    assert_err(&res, 404, "NOT_FOUND");
    assert_eq!(res.header("access-control-allow-origin"), None);
}

/// Through the compiled `not-found` binary under `cargo lambda watch`: paths no entry of
/// the router matches, at any depth and with any method.
#[tokio::test]
async fn unknown_paths_over_http_are_the_apis_own_404() {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(180))
        .build()
        .unwrap();
    for (method, path) in [
        (reqwest::Method::GET, "/no-such-route"),
        (reqwest::Method::POST, "/nope/deeper/still"),
        (reqwest::Method::DELETE, "/health/extra"),
        // A known path with a method none of its routes serves.
        (reqwest::Method::PUT, "/projects"),
        (reqwest::Method::DELETE, "/health"),
    ] {
        let res = http
            .request(method.clone(), format!("{}{path}", stack().api_url))
            .send()
            .await
            .unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 404, "{method} {path}: {body}");
        assert_eq!(
            body["error"]["code"], "NOT_FOUND",
            "{method} {path}: {body}"
        );
        assert!(body["error"]["requestId"].is_string(), "{body}");
        assert_eq!(headers["content-type"], "application/json; charset=utf-8");
        for (name, value) in shared::pipeline::SECURITY_HEADERS {
            assert_eq!(
                headers.get(*name).and_then(|v| v.to_str().ok()),
                Some(*value),
                "{method} {path}: header {name}"
            );
        }
    }
}
