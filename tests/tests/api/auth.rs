//! Every user route refuses a request without a valid Supabase user access token: 401,
//! `WWW-Authenticate: Bearer`, the contract's error body, the security headers, and the
//! handler never runs (nothing is written).

use integration_tests::*;
use serde_json::json;

async fn assert_refused_everywhere(token: Option<String>, what: &str) {
    for route in user_routes() {
        let mut req = sample_request(route);
        if let Some(token) = &token {
            req = req.bearer(token);
        }
        let res = req.send(route).await;
        assert_eq!(
            res.status, 401,
            "{what} on {}: {}",
            route.function, res.body
        );
        res.assert_error(401, "UNAUTHORIZED");
        let challenge = res.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with("Bearer"),
            "{what} on {}",
            route.function
        );
        if let Some(token) = &token {
            assert!(
                !res.body.to_string().contains(token.as_str()),
                "token echoed"
            );
        }
    }
}

#[tokio::test]
async fn no_token_is_401_on_every_user_route() {
    assert_refused_everywhere(None, "no token").await;
}

#[tokio::test]
async fn expired_token_is_401_on_every_user_route() {
    let user = user().await;
    assert_refused_everywhere(Some(expired_token(&user)), "expired").await;
}

#[tokio::test]
async fn tampered_token_is_401_on_every_user_route() {
    let user = user().await;
    assert_refused_everywhere(Some(tampered_token(&user)), "tampered").await;
}

#[tokio::test]
async fn token_signed_with_another_secret_is_401() {
    let user = user().await;
    let now = chrono::Utc::now().timestamp();
    let forged = sign(
        &json!({
            "iss": format!("{}/auth/v1", stack().supabase_url),
            "aud": "authenticated", "role": "authenticated", "sub": user.id,
            "iat": now, "exp": now + 600,
        }),
        "another-secret-that-is-long-enough-0123456789",
    );
    assert_refused_everywhere(Some(forged), "foreign secret").await;
}

#[tokio::test]
async fn claims_that_are_not_a_signed_in_user_are_401() {
    let user = user().await;
    let now = chrono::Utc::now().timestamp();
    let cases = [
        ("role anon", json!({ "sub": user.id, "role": "anon" })),
        (
            "role service_role",
            json!({ "sub": user.id, "role": "service_role" }),
        ),
        (
            "wrong audience",
            json!({ "sub": user.id, "aud": "someone-else" }),
        ),
        (
            "wrong issuer",
            json!({ "sub": user.id, "iss": "https://evil.example/auth/v1" }),
        ),
        ("no sub", json!({ "sub": null })),
        ("sub not a uuid", json!({ "sub": "42" })),
        ("no exp", json!({ "sub": user.id, "exp": null })),
        (
            "not yet valid",
            json!({ "sub": user.id, "nbf": now + 3600 }),
        ),
    ];
    for (what, claims) in cases {
        let res = Req::get("/workspaces")
            .bearer(&token(claims))
            .send(&functions::routes::LIST_WORKSPACES)
            .await;
        assert_eq!(res.status, 401, "{what}: {}", res.body);
    }
}

#[tokio::test]
async fn malformed_credentials_are_401() {
    let route = &functions::routes::LIST_WORKSPACES;
    let user = user().await;
    let cases = [
        ("Basic", format!("Basic {}", user.token)),
        ("empty bearer", "Bearer ".to_owned()),
        ("not a jwt", "Bearer not-a-jwt".to_owned()),
        ("oversized", format!("Bearer {}", "a".repeat(64 * 1024))),
        ("alg none", {
            let parts: Vec<&str> = user.token.split('.').collect();
            format!("Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.", parts[1])
        }),
    ];
    for (what, header) in cases {
        let res = Req::get("/workspaces")
            .header("authorization", &header)
            .send(route)
            .await;
        assert_eq!(res.status, 401, "{what}: {}", res.body);
        res.assert_error(401, "UNAUTHORIZED");
    }
}

#[tokio::test]
async fn a_refused_write_writes_nothing() {
    let admin = user().await;
    let ws = workspace(&admin).await;
    let res = Req::post("/projects")
        .bearer(&expired_token(&admin))
        .json(json!({ "name": "Ghost", "workspaceId": ws }))
        .send(&functions::routes::CREATE_PROJECT)
        .await;
    res.assert_error(401, "UNAUTHORIZED");
    let rows = db()
        .await
        .query(
            "select 1 from public.projects where workspace_id = $1",
            &[&ws],
        )
        .await
        .unwrap();
    assert!(rows.is_empty());
}

#[tokio::test]
async fn a_valid_token_of_a_new_user_is_accepted() {
    // The positive control for the refusals above.
    let user = user().await;
    let res = Req::get("/workspaces")
        .as_user(&user)
        .send(&functions::routes::LIST_WORKSPACES)
        .await;
    let data = res.assert_ok(200);
    assert_eq!(data.as_array().map(Vec::len), Some(0));
}

/// Through CloudFront's origin access control (the stream on AWS, template.yaml), the
/// Authorization header is CloudFront's SigV4 signature, which Lambda verified and noted
/// in the request context (`authorizer.iam`): the session cookie is the credential then.
/// Without that note, the same header is a non-Bearer Authorization: 401.
#[tokio::test]
async fn a_request_lambda_verified_as_signed_by_aws_reads_the_session_cookie() {
    use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
    use lambda_http::RequestExt;
    let u = user().await;
    let cookie = format!("{}={}", cookie_name(), session_cookie_value(&u.token));
    let sigv4 = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261202/us-east-1/lambda/aws4_request, \
                 SignedHeaders=host;x-amz-date, Signature=00";
    let req = || {
        Req::get("/me")
            .header("authorization", sigv4)
            .cookie(&cookie)
            .build()
    };
    let ctx: ApiGatewayV2httpRequestContext = serde_json::from_value(json!({
        "routeKey": "$default",
        "accountId": "123456789012",
        "stage": "$default",
        "requestId": "r",
        "apiId": "fnurl",
        "domainName": "abc.lambda-url.us-east-1.on.aws",
        "time": "02/Dec/2026:18:00:00 +0000",
        "timeEpoch": 0,
        "http": { "method": "GET", "path": "/me", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9", "userAgent": "Amazon CloudFront" },
        "authorizer": { "iam": {
            "accessKey": "AKIDEXAMPLE", "accountId": "123456789012",
            "callerId": "AROAEXAMPLE:cloudfront", "principalOrgId": null,
            "userArn": "arn:aws:sts::123456789012:assumed-role/cloudfront/x", "userId": "AROAEXAMPLE:x"
        } }
    }))
    .unwrap();
    let context = lambda_http::request::RequestContext::ApiGatewayV2(ctx);
    let signed = req().with_request_context(context.clone());
    let res = send_with(&app(), &functions::routes::ME, signed).await;
    assert_eq!(res.assert_ok(200)["id"], json!(u.id.to_string()));
    // Signed by CloudFront but without a session cookie: nobody.
    let no_cookie = Req::get("/me")
        .header("authorization", sigv4)
        .build()
        .with_request_context(context);
    send_with(&app(), &functions::routes::ME, no_cookie)
        .await
        .assert_error(401, "UNAUTHORIZED");

    let unsigned = send_with(&app(), &functions::routes::ME, req()).await;
    unsigned.assert_error(401, "UNAUTHORIZED");
}
