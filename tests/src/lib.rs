//! Test harness for the integration tests: the real local stack started by
//! `make test` (scripts/test.sh) is described by environment variables; each test makes
//! its own users and data, so tests run in parallel without seeing each other.

pub mod runtime;
pub mod s3;

use std::sync::OnceLock;

use chrono::Utc;
use functions::routes;
use http::{HeaderMap, Method, StatusCode};
use jsonwebtoken::{encode, EncodingKey, Header};
use lambda_http::{Body, Request, RequestExt};
use serde_json::{json, Value};
use shared::{App, Config, Route};
use uuid::Uuid;

/// What scripts/test.sh started, read from its environment.
/// The app pointed at a Supabase Auth that is not there (nothing listens on the port);
/// PostgREST, and the keys and issuer tokens are checked against, are the stack's.
pub fn app_with_unreachable_auth() -> App {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let auth = stack().supabase_url.clone();
    let config = Config::from_lookup(|name| match name {
        "SUPABASE_URL" => Some(format!("http://127.0.0.1:{port}")),
        "SUPABASE_JWKS_URL" => Some(format!("{auth}/auth/v1/.well-known/jwks.json")),
        "SUPABASE_JWT_ISSUER" => Some(format!("{auth}/auth/v1")),
        "UPSTREAM_TIMEOUT_MS" => Some("1000".into()),
        other => std::env::var(other).ok(),
    })
    .unwrap();
    App::new(config).unwrap()
}

pub struct Stack {
    pub supabase_url: String,
    pub rest_url: String,
    pub jwt_secret: String,
    pub database_url: String,
    /// `cargo lambda watch`, serving the compiled binaries over HTTP.
    pub api_url: String,
}

fn required(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: integration tests run against the local stack; use `make test`")
    })
}

pub fn stack() -> &'static Stack {
    static STACK: OnceLock<Stack> = OnceLock::new();
    STACK.get_or_init(|| Stack {
        supabase_url: required("SUPABASE_URL"),
        rest_url: required("SUPABASE_REST_URL"),
        jwt_secret: required("SUPABASE_JWT_SECRET"),
        database_url: required("TEST_DATABASE_URL"),
        api_url: required("LOCAL_API_URL"),
    })
}

/// The app exactly as a Lambda cold start builds it.
pub fn app() -> App {
    App::from_env().expect("the stack's environment is a valid configuration")
}

/// The app pointed at a PostgREST that is not there (nothing listens on the port).
pub fn app_with_unreachable_postgrest() -> App {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let config = Config::from_lookup(|name| match name {
        "SUPABASE_REST_URL" => Some(format!("http://127.0.0.1:{port}")),
        "UPSTREAM_TIMEOUT_MS" => Some("1000".into()),
        other => std::env::var(other).ok(),
    })
    .unwrap();
    App::new(config).unwrap()
}

/// A direct connection to the test database, as the superuser (to arrange and check).
pub async fn db() -> tokio_postgres::Client {
    let (client, connection) =
        tokio_postgres::connect(&stack().database_url, tokio_postgres::NoTls)
            .await
            .expect("connect to the test database");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: Uuid,
    pub email: String,
    pub token: String,
}

/// A new auth user (the profile trigger fires), signed in: a live session in
/// auth.sessions and an access token of it.
///
/// The harness's convention: a test user's first session has the user's own id, so
/// [`claims_for`] and [`token`] (given a `sub`) name a live session by default, and a
/// test that ends it (sign-out, revocation, deletion) ends every token minted for the
/// user. A test that needs another session makes one ([`new_session`]).
pub async fn user() -> TestUser {
    let id = Uuid::new_v4();
    let email = format!("user-{id}@example.test");
    let db = db().await;
    db.execute(
        "insert into auth.users (id, aud, role, email, raw_user_meta_data) \
         values ($1, 'authenticated', 'authenticated', $2, '{}')",
        &[&id, &email],
    )
    .await
    .expect("insert auth user");
    db.execute(
        "insert into auth.sessions (id, user_id, aal, user_agent, ip) \
         values ($1, $1, 'aal1', 'integration-tests', '127.0.0.1')",
        &[&id],
    )
    .await
    .expect("insert the user's session");
    let token = es256_token(id, json!({ "email": email }));
    TestUser { id, email, token }
}

/// A client address of the calling test alone, from 100.64.0.0/10 (shared address space,
/// never a real client's; 4 million addresses, where 198.18.0.0/15's 131,072 let two of a
/// run's several hundred draws meet), so the address-keyed rate limits and audit rows of
/// one test never meet another's. (A few tests draw from 198.18.0.0/15 themselves.)
pub fn test_ip() -> String {
    let b = *Uuid::new_v4().as_bytes();
    format!("100.{}.{}.{}", 64 + (b[0] & 63), b[1], b[2].max(1))
}

/// Another live session of `user` (a second device), and an access token of it.
pub async fn new_session(user: &TestUser) -> (Uuid, String) {
    let session = Uuid::new_v4();
    db().await
        .execute(
            "insert into auth.sessions (id, user_id, aal, user_agent, ip) \
             values ($1, $2, 'aal1', 'integration-tests (second device)', '127.0.0.2')",
            &[&session, &user.id],
        )
        .await
        .expect("insert a session");
    let token = es256_token(
        user.id,
        json!({ "email": user.email, "session_id": session }),
    );
    (session, token)
}

/// An access token shaped like Supabase's, signed with the stack's secret; `overrides`
/// replaces or adds claims (`null` removes one). Its session is the `sub`'s first (see
/// [`user`]), or a random one without a `sub`.
pub fn token(overrides: Value) -> String {
    let now = Utc::now().timestamp();
    let session = overrides
        .get("sub")
        .filter(|s| s.is_string())
        .cloned()
        .unwrap_or_else(|| json!(Uuid::new_v4()));
    let mut claims = json!({
        "iss": format!("{}/auth/v1", stack().supabase_url.trim_end_matches('/')),
        "aud": "authenticated",
        "role": "authenticated",
        "aal": "aal1",
        "session_id": session,
        "is_anonymous": false,
        "iat": now,
        "exp": now + 3600,
    });
    for (k, v) in overrides.as_object().expect("claims object") {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    sign(&claims, &stack().jwt_secret)
}

pub fn sign(claims: &Value, secret: &str) -> String {
    encode(
        &Header::default(),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// Same user, token expired an hour ago (beyond any leeway).
pub fn expired_token(user: &TestUser) -> String {
    let now = Utc::now().timestamp();
    token(json!({ "sub": user.id, "iat": now - 7200, "exp": now - 3600 }))
}

/// A valid token whose payload was edited after signing (another user's id).
pub fn tampered_token(user: &TestUser) -> String {
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = user.token.split('.').collect();
    let mut payload: Value = serde_json::from_slice(&engine.decode(parts[1]).unwrap()).unwrap();
    payload["sub"] = json!(Uuid::new_v4());
    let payload = engine.encode(serde_json::to_vec(&payload).unwrap());
    format!("{}.{}.{}", parts[0], payload, parts[2])
}

/// A workspace made directly in the database, with `admin` as its admin.
pub async fn workspace(admin: &TestUser) -> Uuid {
    let id = Uuid::new_v4();
    let db = db().await;
    db.execute(
        "insert into public.workspaces (id, name, created_by) values ($1, $2::text, $3)",
        &[&id, &format!("ws-{id}"), &admin.id],
    )
    .await
    .unwrap();
    db.execute(
        "insert into public.workspace_members (workspace_id, user_id, role) values ($1, $2, 'admin')",
        &[&id, &admin.id],
    )
    .await
    .unwrap();
    id
}

/// Adds `user` to the workspace with `role` (admin, editor or member).
pub async fn join(workspace: Uuid, user: &TestUser, role: &str) {
    db().await
        .execute(
            "insert into public.workspace_members (workspace_id, user_id, role) values ($1, $2, $3::text::public.workspace_role)",
            &[&workspace, &user.id, &role],
        )
        .await
        .unwrap();
}

/// A project made directly in the database.
pub async fn project(workspace: Uuid, creator: &TestUser, name: &str) -> Uuid {
    let id = Uuid::new_v4();
    db().await
        .execute(
            "insert into public.projects (id, workspace_id, name, created_by) values ($1, $2, $3::text, $4)",
            &[&id, &workspace, &name, &creator.id],
        )
        .await
        .unwrap();
    id
}

/// Builds a request the way lambda_http hands one to a function behind API Gateway.
pub struct Req {
    method: Method,
    path: String,
    token: Option<String>,
    headers: Vec<(String, String)>,
    body: Option<Body>,
    path_params: Vec<(String, String)>,
    query: Vec<(String, String)>,
    ip: Option<String>,
}

impl Req {
    pub fn new(method: Method, path: &str) -> Self {
        Self {
            method,
            path: path.to_owned(),
            token: None,
            headers: Vec::new(),
            body: None,
            path_params: Vec::new(),
            query: Vec::new(),
            ip: None,
        }
    }
    pub fn get(path: &str) -> Self {
        Self::new(Method::GET, path)
    }
    pub fn post(path: &str) -> Self {
        Self::new(Method::POST, path)
    }
    pub fn patch(path: &str) -> Self {
        Self::new(Method::PATCH, path)
    }
    pub fn delete(path: &str) -> Self {
        Self::new(Method::DELETE, path)
    }
    pub fn bearer(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }
    pub fn as_user(self, user: &TestUser) -> Self {
        self.bearer(&user.token)
    }
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
    /// A JSON body with Content-Type application/json.
    pub fn json(self, body: Value) -> Self {
        self.raw_body("application/json", &body.to_string())
    }
    pub fn raw_body(mut self, content_type: &str, body: &str) -> Self {
        self.headers
            .push(("content-type".to_owned(), content_type.to_owned()));
        self.body = Some(Body::Text(body.to_owned()));
        self
    }
    /// A `Cookie` header (several calls add several headers).
    pub fn cookie(self, pair: &str) -> Self {
        self.header("cookie", pair)
    }
    /// The source address API Gateway reports.
    pub fn ip(mut self, ip: &str) -> Self {
        self.ip = Some(ip.to_owned());
        self
    }
    pub fn param(mut self, name: &str, value: impl ToString) -> Self {
        self.path_params.push((name.to_owned(), value.to_string()));
        self
    }
    pub fn query(mut self, name: &str, value: impl ToString) -> Self {
        self.query.push((name.to_owned(), value.to_string()));
        self
    }

    pub fn build(self) -> Request {
        let mut builder = http::Request::builder().method(self.method).uri(&self.path);
        if let Some(token) = &self.token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        for (k, v) in &self.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let request = builder.body(self.body.unwrap_or(Body::Empty)).unwrap();
        let params: std::collections::HashMap<String, String> =
            self.path_params.into_iter().collect();
        let query: std::collections::HashMap<String, Vec<String>> =
            self.query
                .into_iter()
                .fold(std::collections::HashMap::new(), |mut map, (k, v)| {
                    map.entry(k).or_insert_with(Vec::new).push(v);
                    map
                });
        let mut request = request
            .with_path_parameters(params)
            .with_query_string_parameters(query);
        // A Lambda context with a request id made of letters only, so that the leak
        // checks of error bodies (no "23505", "42501", ...) cannot trip over it.
        let mut context = lambda_http::Context::default();
        context.request_id = format!(
            "req-{}",
            Uuid::new_v4()
                .simple()
                .to_string()
                .bytes()
                .map(|b| match b {
                    b'0'..=b'9' => (b'g' + (b - b'0')) as char,
                    other => other as char,
                })
                .collect::<String>()
        );
        request = request.with_lambda_context(context);
        if let Some(ip) = self.ip {
            use lambda_http::aws_lambda_events::apigw::{
                ApiGatewayV2httpRequestContext, ApiGatewayV2httpRequestContextHttpDescription,
            };
            let mut http = ApiGatewayV2httpRequestContextHttpDescription::default();
            http.source_ip = Some(ip);
            let mut ctx = ApiGatewayV2httpRequestContext::default();
            ctx.http = http;
            request = request
                .with_request_context(lambda_http::request::RequestContext::ApiGatewayV2(ctx));
        }
        request
    }

    /// Runs the request through the full pipeline and the route's real handler, in-process.
    pub async fn send(self, route: &Route) -> Res {
        send_with(&app(), route, self.build()).await
    }
}

/// Held by every test that writes `app_settings` (one row per key, shared by all the
/// tests of the binary) or that expects its rows unchanged while it runs.
pub static SETTINGS_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Text that must never reach a client: SQL, PostgREST, Postgres, Supabase Auth, S3,
/// network and Rust internals. Every error body is checked against it
/// ([`Res::assert_error`]).
pub const INTERNALS: &[&str] = &[
    "violates",
    "constraint",
    "policy",
    "PGRST",
    "42501",
    "23505",
    "23503",
    "23514",
    "duplicate key",
    "syntax error",
    "relation \"",
    "permission denied",
    "auth.users",
    "email_exists",
    "127.0.0.1",
    "s3:",
    "pending/",
    "files/",
    "panicked",
    "stack backtrace",
    "reqwest",
    "hyper",
];

/// Fails when the body carries any of [`INTERNALS`] (the request id aside: a random
/// UUID may well contain "23505").
#[track_caller]
pub fn assert_no_leak(res: &Res) {
    let mut body = res.body.clone();
    if let Some(error) = body.get_mut("error").and_then(Value::as_object_mut) {
        error.remove("requestId");
    }
    let text = body.to_string();
    for needle in INTERNALS {
        assert!(
            !text.contains(needle),
            "error body leaks {needle:?}: {text}"
        );
    }
}

/// An error of the contract's shape with this status and code, no `data`, and no
/// internals.
#[track_caller]
pub fn assert_err(res: &Res, status: u16, code: &str) {
    res.assert_error(status, code);
    assert!(res.body.get("data").is_none(), "body: {}", res.body);
}

/// A 422 naming exactly `field` (as the client sent it), and no internals.
#[track_caller]
pub fn assert_invalid_field(res: &Res, field: &str) {
    res.assert_invalid(field);
}

/// A response, decoded.
#[derive(Debug)]
pub struct Res {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Res {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an error response of the contract's shape and returns its `details`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) -> &Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.body["error"]["code"], code, "body: {}", self.body);
        assert!(
            self.body["error"]["message"].is_string(),
            "body: {}",
            self.body
        );
        assert!(
            self.body["error"]["requestId"].is_string(),
            "body: {}",
            self.body
        );
        assert_security_headers(&self.headers);
        // No error, anywhere, carries PostgREST's, Postgres's or Rust's internals.
        assert_no_leak(self);
        &self.body["error"]["details"]
    }

    /// Asserts a 422 whose details name `field`.
    #[track_caller]
    pub fn assert_invalid(&self, field: &str) {
        let details = self.assert_error(422, "VALIDATION_ERROR");
        assert!(
            details["fields"].get(field).is_some(),
            "expected field {field} in {}",
            self.body
        );
    }

    #[track_caller]
    pub fn assert_ok(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_security_headers(&self.headers);
        &self.body["data"]
    }
}

#[track_caller]
pub fn assert_security_headers(headers: &HeaderMap) {
    for (name, value) in shared::pipeline::SECURITY_HEADERS {
        assert_eq!(
            headers.get(*name).and_then(|v| v.to_str().ok()),
            Some(*value),
            "header {name}"
        );
    }
    assert!(headers.get("x-request-id").is_some());
}

/// Dispatches to the route's real handler through the shared pipeline.
pub async fn send_with(app: &App, route: &Route, req: Request) -> Res {
    let response = shared::pipeline::dispatch(app, route, req).await;
    let status = response.status();
    let headers = response.headers().clone();
    let body = match response.body() {
        Body::Empty => Value::Null,
        Body::Text(text) => serde_json::from_str(text).expect("JSON body"),
        Body::Binary(bytes) => serde_json::from_slice(bytes).expect("JSON body"),
        _ => Value::Null,
    };
    Res {
        status,
        headers,
        body,
    }
}

/// A valid request for any route, from its handler's types: placeholder path ids and the
/// body type's example, for tests that must hold for every route (authentication,
/// service down).
pub fn sample_request(route: &Route) -> Req {
    sample_request_with(route, &[], json!({}))
}

/// [`sample_request`] on real data: the path ids `ids` names (placeholders for the
/// others) and the example body with those of `fields` it has set over it.
pub fn sample_request_with(route: &Route, ids: &[(&str, Uuid)], fields: Value) -> Req {
    let sig = shared::pipeline::contract::Signature::of(route.describe);
    let mut req = Req::new(route.method.clone(), route.path);
    for name in route
        .path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
    {
        let id = ids
            .iter()
            .find(|(n, _)| *n == name)
            .map_or_else(Uuid::new_v4, |(_, id)| *id);
        req = req.param(name, id);
    }
    if let Some(mut body) = sig.body_example_json() {
        // Only the fields the body type has: one set of fields serves every route.
        for (k, v) in fields.as_object().expect("fields are an object") {
            if body.get(k).is_some() {
                body[k] = v.clone();
            }
        }
        req = req.json(body);
    }
    req
}

/// The routes whose path is under `prefix`.
pub fn routes_under(prefix: &str) -> Vec<&'static Route> {
    routes::ALL
        .iter()
        .filter(|r| r.path.starts_with(prefix))
        .collect()
}

/// Every route that requires a user.
pub fn user_routes() -> impl Iterator<Item = &'static Route> {
    routes::ALL
        .iter()
        .filter(|r| r.access() == shared::Access::User)
}

// ---------------------------------------------------------------------------------
// Asymmetric keys, cookies, origins and the Supabase Auth stand-in (issue 3).

/// The stand-in's keys (scripts/stack.sh generate_keys): key-a ES256 signs and is
/// published, key-b ES256 is published as a rotation standby, key-c RS256 is published.
pub fn key_pem(kid: &str) -> Vec<u8> {
    let dir = required("TEST_KEYS_DIR");
    std::fs::read(format!("{dir}/{kid}.pem")).unwrap_or_else(|_| panic!("no key {kid} in {dir}"))
}

pub fn ec_key(kid: &str) -> jsonwebtoken::EncodingKey {
    jsonwebtoken::EncodingKey::from_ec_pem(&key_pem(kid)).expect("EC PKCS#8 key")
}

pub fn rsa_key(kid: &str) -> jsonwebtoken::EncodingKey {
    jsonwebtoken::EncodingKey::from_rsa_pem(&key_pem(kid)).expect("RSA key")
}

/// Claims of a Supabase user access token for `sub`, with `overrides` applied
/// (`null` removes a claim). Its session is the user's first (see [`user`]).
pub fn claims_for(sub: Uuid, overrides: Value) -> Value {
    let now = Utc::now().timestamp();
    let mut claims = json!({
        "iss": format!("{}/auth/v1", stack().supabase_url.trim_end_matches('/')),
        "aud": "authenticated",
        "role": "authenticated",
        "sub": sub,
        "aal": "aal1",
        "session_id": sub,
        "is_anonymous": false,
        "iat": now,
        "exp": now + 3600,
    });
    for (k, v) in overrides.as_object().expect("claims object") {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims
}

/// A token signed with an asymmetric key, with `kid` in the header.
pub fn signed_with(
    alg: jsonwebtoken::Algorithm,
    kid: &str,
    key: &jsonwebtoken::EncodingKey,
    claims: &Value,
) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    encode(&header, claims, key).unwrap()
}

/// An ES256 token from the project's signing key (key-a), as Supabase issues them today.
pub fn es256_token(sub: Uuid, overrides: Value) -> String {
    signed_with(
        jsonwebtoken::Algorithm::ES256,
        "key-a",
        &ec_key("key-a"),
        &claims_for(sub, overrides),
    )
}

/// A user with an email and password in auth.users (bcrypt through pgcrypto, as GoTrue
/// stores it), for the sign-in routes.
pub async fn user_with_password(password: &str) -> TestUser {
    let user = user().await;
    db().await
        .execute(
            "update auth.users set encrypted_password = extensions.crypt($2, extensions.gen_salt('bf', 4)), \
             email_confirmed_at = now() where id = $1",
            &[&user.id, &password],
        )
        .await
        .unwrap();
    user
}

/// The @supabase/ssr cookie name of the stack's project (`sb-<first host label>-auth-token`).
pub fn cookie_name() -> String {
    app().config.auth_cookie_name.clone()
}

/// A session cookie value as @supabase/ssr writes it: `base64-` + base64url(JSON).
pub fn session_cookie_value(access_token: &str) -> String {
    use base64::Engine;
    let json = json!({
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": 3600,
        "refresh_token": "unused",
        "user": {},
    });
    format!(
        "base64-{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json.to_string())
    )
}

/// audit_log rows for an actor or address, newest first: (action, target, occurrences).
pub async fn audit_rows(
    filter_sql: &str,
    param: &(dyn tokio_postgres::types::ToSql + Sync),
) -> Vec<(String, Option<String>, i32)> {
    db().await
        .query(
            &format!("select action, target, occurrences from public.audit_log where {filter_sql} order by created_at desc"),
            &[param],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

/// A JWKS endpoint under the test's control: serve any document, go down, count fetches.
pub struct JwksServer {
    pub url: String,
    state: std::sync::Arc<std::sync::Mutex<(Option<String>, usize)>>,
}

impl JwksServer {
    pub async fn start(document: Value) -> Self {
        use hyper::service::service_fn;
        use hyper_util::rt::TokioIo;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/auth/v1/.well-known/jwks.json",
            listener.local_addr().unwrap()
        );
        let state =
            std::sync::Arc::new(std::sync::Mutex::new((Some(document.to_string()), 0usize)));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |_req: hyper::Request<hyper::body::Incoming>| {
                        let shared = shared.clone();
                        async move {
                            let mut guard = shared.lock().unwrap();
                            guard.1 += 1;
                            let response = match &guard.0 {
                                Some(body) => hyper::Response::builder()
                                    .header("content-type", "application/json")
                                    .body(http_body_util::Full::new(bytes::Bytes::from(
                                        body.clone(),
                                    ))),
                                None => hyper::Response::builder().status(503).body(
                                    http_body_util::Full::new(bytes::Bytes::from_static(b"down")),
                                ),
                            };
                            Ok::<_, std::convert::Infallible>(response.unwrap())
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(socket), service)
                        .await;
                });
            }
        });
        Self { url, state }
    }

    pub fn serve(&self, document: Value) {
        self.state.lock().unwrap().0 = Some(document.to_string());
    }

    pub fn go_down(&self) {
        self.state.lock().unwrap().0 = None;
    }

    pub fn fetches(&self) -> usize {
        self.state.lock().unwrap().1
    }
}

/// The public JWK of a stand-in key, with its kid.
pub fn public_jwk(kid: &str, alg: jsonwebtoken::Algorithm) -> Value {
    let key = match alg {
        jsonwebtoken::Algorithm::RS256 => rsa_key(kid),
        _ => ec_key(kid),
    };
    let mut jwk =
        serde_json::to_value(jsonwebtoken::jwk::Jwk::from_encoding_key(&key, alg).unwrap())
            .unwrap();
    jwk["kid"] = json!(kid);
    jwk["use"] = json!("sig");
    jwk
}

/// An app whose JWKS comes from `url`, with the given cache lifetime and cooldown.
pub fn app_with_jwks(url: &str, ttl: std::time::Duration, cooldown: std::time::Duration) -> App {
    let config = Config::from_lookup(|name| match name {
        "SUPABASE_JWKS_URL" => Some(url.to_owned()),
        other => std::env::var(other).ok(),
    })
    .unwrap();
    App::with_jwks_policy(
        config,
        shared::auth::jwks::JwksPolicy {
            ttl,
            refetch_cooldown: cooldown,
        },
    )
    .unwrap()
}

// ---------------------------------------------------------------------------------
// Application roles (issue 4).

/// A new user whose application role is `role` (admin, editor or user) in
/// `user_roles`, with an ES256 token carrying the `user_role` claim, as the custom
/// access token hook would add it.
pub async fn user_with_role(role: &str) -> TestUser {
    let mut user = user().await;
    db().await
        .execute(
            "update public.user_roles set role = $2::text::public.app_role where user_id = $1",
            &[&user.id, &role],
        )
        .await
        .unwrap();
    user.token = es256_token(user.id, json!({ "email": user.email, "user_role": role }));
    user
}

/// A post made directly in the database.
pub async fn post(author: &TestUser, title: &str, published: bool) -> Uuid {
    let id = Uuid::new_v4();
    db().await
        .execute(
            "insert into public.posts (id, author_id, title, body, published) values ($1, $2, $3::text, 'body', $4)",
            &[&id, &author.id, &title, &published],
        )
        .await
        .unwrap();
    id
}

/// Reading server-sent events from the local API (`cargo lambda watch`).
pub mod sse {
    use std::time::Duration;

    pub fn url(path: &str) -> String {
        format!("{}{}", super::stack().api_url, path)
    }

    pub fn client() -> reqwest::Client {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(90))
            .build()
            .unwrap()
    }

    /// Reads the body chunk by chunk until `needle` has arrived.
    pub async fn read_until(res: &mut reqwest::Response, buf: &mut String, needle: &str) {
        while !buf.contains(needle) {
            match res.chunk().await.unwrap() {
                Some(chunk) => buf.push_str(&String::from_utf8_lossy(&chunk)),
                None => panic!("stream ended before {needle:?}: {buf}"),
            }
        }
    }
}

// ---------------------------------------------------------------------------------
// PostgREST straight, as any frontend or attacker holding a user's token may call it
// (issue 9: the database refuses whatever the API refuses).

/// PostgREST's answer to a direct call.
#[derive(Debug)]
pub struct Direct {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Direct {
    /// The PostgREST or SQLSTATE code of an error answer ("" otherwise).
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Refused with this status and code.
    #[track_caller]
    pub fn assert_refused(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.code()),
            (status, code),
            "expected PostgREST to refuse with {status} {code}: {self:?}"
        );
    }

    /// Answered 2xx with no rows: RLS let nothing through.
    #[track_caller]
    pub fn assert_no_rows(&self) {
        assert!(
            (200..300).contains(&self.status) && self.body.as_array().is_some_and(|a| a.is_empty()),
            "expected no rows: {self:?}"
        );
    }
}

/// `method path` straight to PostgREST with `token` (None: anon), asking for the
/// written rows back.
pub async fn postgrest_direct(
    method: reqwest::Method,
    path_and_query: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Direct {
    postgrest_direct_with(method, path_and_query, token, body, &[]).await
}

/// [`postgrest_direct`] with request headers of the caller's own (`Idempotency-Key`).
pub async fn postgrest_direct_with(
    method: reqwest::Method,
    path_and_query: &str,
    token: Option<&str>,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> Direct {
    let url = format!(
        "{}/{}",
        stack().rest_url.trim_end_matches('/'),
        path_and_query
    );
    let mut req = reqwest::Client::new()
        .request(method, url)
        .header("prefer", "return=representation");
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.expect("PostgREST answers");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    let body = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Direct {
        status,
        headers,
        body,
    }
}

/// A PostgREST in front of the real one that forwards every request and remembers it
/// (method and path with query): to count the upstream round trips of a route.
pub struct CountingProxy {
    pub url: String,
    seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl CountingProxy {
    pub async fn start() -> Self {
        use http_body_util::BodyExt;
        use hyper::service::service_fn;
        use hyper_util::rt::TokioIo;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let upstream = stack().rest_url.trim_end_matches('/').to_owned();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let shared = seen.clone();
        let client = reqwest::Client::new();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (shared, upstream, client) = (shared.clone(), upstream.clone(), client.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let (shared, upstream, client) =
                            (shared.clone(), upstream.clone(), client.clone());
                        async move {
                            let (parts, body) = req.into_parts();
                            let target = parts
                                .uri
                                .path_and_query()
                                .map(|p| p.as_str().to_owned())
                                .unwrap_or_default();
                            shared
                                .lock()
                                .unwrap()
                                .push(format!("{} {target}", parts.method));
                            let body = body.collect().await.unwrap().to_bytes();
                            let method =
                                reqwest::Method::from_bytes(parts.method.as_str().as_bytes())
                                    .unwrap();
                            let mut forward = client.request(method, format!("{upstream}{target}"));
                            for (name, value) in &parts.headers {
                                if name != http::header::HOST {
                                    forward = forward.header(name.as_str(), value.as_bytes());
                                }
                            }
                            let answer = forward.body(body.to_vec()).send().await.unwrap();
                            let mut response =
                                hyper::Response::builder().status(answer.status().as_u16());
                            for (name, value) in answer.headers() {
                                if name.as_str() != "transfer-encoding" {
                                    response = response.header(name.as_str(), value.as_bytes());
                                }
                            }
                            let bytes = answer.bytes().await.unwrap();
                            Ok::<_, std::convert::Infallible>(
                                response.body(http_body_util::Full::new(bytes)).unwrap(),
                            )
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(socket), service)
                        .await;
                });
            }
        });
        Self { url, seen }
    }

    /// The app of a cold start, its PostgREST calls going through this proxy.
    pub fn app(&self) -> App {
        let url = self.url.clone();
        let config = Config::from_lookup(|name| match name {
            "SUPABASE_REST_URL" => Some(url.clone()),
            other => std::env::var(other).ok(),
        })
        .unwrap();
        App::new(config).unwrap()
    }

    /// The requests seen since the last call ("METHOD /path?query"), and forgets them.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

/// How many auth users have this email (sign-up tests: nothing made, or exactly one).
pub async fn users_with_email(email: &str) -> i64 {
    db().await
        .query_one(
            "select count(*) from auth.users where email = $1",
            &[&email],
        )
        .await
        .unwrap()
        .get(0)
}
