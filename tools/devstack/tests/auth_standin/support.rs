//! The tests' world: a scratch database for the run (created from bootstrap.sql,
//! auth-standin.sql and every migration, as scripts/stack.sh migrates; dropped at the
//! end), signing keys made with openssl, and `TestApp`, the stand-in's router driven
//! in-process with its own configuration.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{HeaderMap, Method, Request};
use axum::Router;
use devstack::auth::{router, Api, Config};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use libtest_mimic::Trial;
use serde_json::{json, Value};
use tokio_postgres::NoTls;
use tower::ServiceExt;
use uuid::Uuid;

pub const ANON_KEY: &str = "test-anon-key";
pub const SERVICE_KEY: &str = "test-service-role-key";
pub const ISSUER: &str = "http://auth.test/auth/v1";
pub const SITE_URL: &str = "http://localhost:3000";
/// An allowed redirect (AUTH_URI_ALLOW_LIST's one entry is its prefix).
pub const APP_AUTH: &str = "http://localhost:9000/auth/";
pub const PASSWORD: &str = "password123";
/// The peer address of every in-process request.
pub const PEER: &str = "192.0.2.10";

pub type TestFn = fn(Arc<World>) -> Pin<Box<dyn Future<Output = ()>>>;

/// `tests![a, b]`: the module's tests, named `<module>::<test>`.
macro_rules! tests {
    ($($test:ident),* $(,)?) => {
        pub fn tests() -> Vec<(String, $crate::support::TestFn)> {
            let module = module_path!().trim_start_matches("auth_standin::");
            vec![$((
                format!("{module}::{}", stringify!($test)),
                (|world| Box::pin($test(world))) as $crate::support::TestFn,
            )),*]
        }
    };
}
pub(crate) use tests;

/// A test run on its own current-thread runtime.
pub fn trial(world: Arc<World>, name: String, test: TestFn) -> Trial {
    Trial::test(name, move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("tokio runtime: {e}"))?;
        runtime.block_on(test(world));
        Ok(())
    })
}

/// The run's databases and keys. Dropping it drops the databases.
pub struct World {
    /// A superuser URL of the server (DATABASE_URL, else postgres@127.0.0.1:5432).
    admin: url::Url,
    template: String,
    shared: String,
    keys: PathBuf,
    databases: Mutex<Vec<String>>,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let out = command
        .output()
        .map_err(|e| format!("{what}: cannot run {:?}: {e}", command.get_program()))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(format!("{what} failed ({}): {stderr}", out.status));
    }
    Ok(())
}

impl World {
    pub fn create() -> Result<World, String> {
        let given = std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432".into());
        let mut admin =
            url::Url::parse(&given).map_err(|e| format!("DATABASE_URL {given:?}: {e}"))?;
        if admin.path().trim_matches('/').is_empty() {
            admin.set_path("/postgres");
        }
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_micros();
        let run_name = format!("devstack_auth_{}_{stamp}", std::process::id());
        let world = World {
            admin,
            template: format!("{run_name}_template"),
            shared: format!("{run_name}_shared"),
            keys: std::env::temp_dir().join(&run_name),
            databases: Mutex::new(Vec::new()),
        };
        // From here on, dropping `world` (on an error too) removes what exists.
        world.create_database(&world.template, None)?;
        world.migrate(&world.template)?;
        world.create_database(&world.shared, Some(&world.template))?;
        world.generate_keys()?;
        Ok(world)
    }

    fn psql(&self, url: &str) -> Command {
        let mut psql = Command::new("psql");
        psql.args(["-X", "-q", "-v", "ON_ERROR_STOP=1"])
            .arg(url)
            .env("PGOPTIONS", "-c client_min_messages=warning");
        psql
    }

    pub fn database_url(&self, name: &str) -> String {
        let mut url = self.admin.clone();
        url.set_path(&format!("/{name}"));
        url.to_string()
    }

    fn create_database(&self, name: &str, template: Option<&str>) -> Result<(), String> {
        let from = template.map_or(String::new(), |t| format!(" template \"{t}\""));
        let sql = format!("create database \"{name}\"{from}");
        run(
            self.psql(self.admin.as_str()).args(["-c", &sql]),
            &format!(
                "creating database {name} (is PostgreSQL at {}?)",
                self.admin
            ),
        )?;
        self.databases
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(name.to_string());
        Ok(())
    }

    /// As scripts/stack.sh's migrate: bootstrap, the stand-in's tables, then each
    /// migration in order in a transaction of its own.
    fn migrate(&self, name: &str) -> Result<(), String> {
        let url = self.database_url(name);
        let root = root();
        for file in [
            "supabase/local/bootstrap.sql",
            "supabase/local/auth-standin.sql",
        ] {
            run(self.psql(&url).arg("-f").arg(root.join(file)), file)?;
        }
        let mut migrations: Vec<PathBuf> = std::fs::read_dir(root.join("supabase/migrations"))
            .map_err(|e| format!("supabase/migrations: {e}"))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|e| e == "sql"))
            .collect();
        migrations.sort();
        for file in &migrations {
            let what = file.display().to_string();
            run(self.psql(&url).arg("-1").arg("-f").arg(file), &what)?;
        }
        Ok(())
    }

    /// As scripts/stack.sh's generate_keys: key-a and key-b ES256, key-c RS256.
    fn generate_keys(&self) -> Result<(), String> {
        std::fs::create_dir_all(&self.keys).map_err(|e| e.to_string())?;
        for name in ["key-a", "key-b"] {
            let pem = self.keys.join(format!("{name}.pem"));
            let script = format!(
                "openssl ecparam -genkey -noout -name prime256v1 | \
                 openssl pkcs8 -topk8 -nocrypt -out '{}'",
                pem.display()
            );
            run(Command::new("sh").args(["-c", &script]), "openssl (EC key)")?;
        }
        let rsa = self.keys.join("key-c.pem");
        run(
            Command::new("openssl")
                .args([
                    "genpkey",
                    "-algorithm",
                    "RSA",
                    "-pkeyopt",
                    "rsa_keygen_bits:2048",
                ])
                .arg("-out")
                .arg(&rsa),
            "openssl (RSA key)",
        )
    }

    pub fn key_path(&self, name: &str) -> String {
        self.keys.join(format!("{name}.pem")).display().to_string()
    }

    /// The variables of a stand-in on the run's shared database, as scripts/test.sh
    /// configures its own (no wait between emails, no reuse interval).
    pub fn vars(&self) -> BTreeMap<String, String> {
        let extra = format!(
            "key-b={},key-c={}",
            self.key_path("key-b"),
            self.key_path("key-c")
        );
        [
            ("DATABASE_URL", self.database_url(&self.shared)),
            ("SUPABASE_ANON_KEY", ANON_KEY.into()),
            ("SUPABASE_SERVICE_ROLE_KEY", SERVICE_KEY.into()),
            ("AUTH_ISSUER", ISSUER.into()),
            ("AUTH_SIGNING_KEY", self.key_path("key-a")),
            ("AUTH_SIGNING_KID", "key-a".into()),
            ("AUTH_EXTRA_PUBLIC_KEYS", extra),
            (
                "AUTH_HOOK_BEFORE_USER_CREATED_URI",
                "pg-functions://postgres/public/before_user_created_hook".into(),
            ),
            ("AUTH_SITE_URL", SITE_URL.into()),
            ("AUTH_URI_ALLOW_LIST", APP_AUTH.into()),
            ("AUTH_SMTP_MAX_FREQUENCY", "0".into()),
            ("AUTH_REFRESH_TOKEN_REUSE_INTERVAL", "0".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// A stand-in on the shared database, configured as scripts/test.sh does.
    pub async fn app(&self) -> TestApp {
        self.app_with(&[]).await
    }

    /// A stand-in on the shared database with these variables changed ("" unsets one).
    pub async fn app_with(&self, changes: &[(&str, &str)]) -> TestApp {
        let mut vars = self.vars();
        for (name, value) in changes {
            vars.insert(name.to_string(), value.to_string());
        }
        TestApp::start(self, vars).await
    }

    /// A stand-in on a database of its own (a copy of the migrated template), for tests
    /// that change what every user meets (the hooks) or read every row.
    pub async fn app_on_own_database(&self) -> TestApp {
        self.app_on_own_database_with(&[]).await
    }

    /// The URL of a new, empty database of the run (dropped with the others).
    pub fn empty_database(&self) -> String {
        let name = format!("{}_empty_{}", self.shared, Uuid::new_v4().simple());
        self.create_database(&name, None)
            .unwrap_or_else(|e| panic!("{e}"));
        self.database_url(&name)
    }

    /// A stand-in on a database of its own with these variables changed.
    pub async fn app_on_own_database_with(&self, changes: &[(&str, &str)]) -> TestApp {
        let name = format!("{}_{}", self.shared, Uuid::new_v4().simple());
        self.create_database(&name, Some(&self.template))
            .unwrap_or_else(|e| panic!("{e}"));
        let mut vars = self.vars();
        vars.insert("DATABASE_URL".into(), self.database_url(&name));
        for (name, value) in changes {
            vars.insert(name.to_string(), value.to_string());
        }
        TestApp::start(self, vars).await
    }
}

impl World {
    /// Drops the run's databases and removes its keys (once; dropping the world does too).
    pub fn clean_up(&self) {
        let databases =
            std::mem::take(&mut *self.databases.lock().unwrap_or_else(|p| p.into_inner()));
        for name in databases.iter().rev() {
            let sql = format!("drop database if exists \"{name}\" with (force)");
            if let Err(e) = run(self.psql(self.admin.as_str()).args(["-c", &sql]), "drop") {
                eprintln!("auth_standin tests: could not drop database {name}: {e}");
            }
        }
        let _ = std::fs::remove_dir_all(&self.keys);
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.clean_up();
    }
}

/// The stand-in's router with a configuration of the test's own, and a superuser
/// connection to its database for checks.
pub struct TestApp {
    router: Router,
    pub db: tokio_postgres::Client,
    signing_key: EncodingKey,
}

impl TestApp {
    async fn start(world: &World, vars: BTreeMap<String, String>) -> TestApp {
        let config = Config::from_lookup(|name| vars.get(name).cloned())
            .unwrap_or_else(|e| panic!("config: {e}"));
        let (db, connection) = tokio_postgres::connect(&vars["DATABASE_URL"], NoTls)
            .await
            .expect("connect to the test database");
        tokio::spawn(connection);
        let peer: SocketAddr = format!("{PEER}:40000").parse().unwrap();
        let router = router(Arc::new(Api::new(config))).layer(MockConnectInfo(peer));
        let pem = std::fs::read(world.key_path("key-a")).unwrap();
        TestApp {
            router,
            db,
            signing_key: EncodingKey::from_ec_pem(&pem).unwrap(),
        }
    }

    pub fn request(&self, method: Method, path: &str) -> Call<'_> {
        Call {
            app: self,
            method,
            path: path.to_string(),
            headers: vec![("apikey".into(), ANON_KEY.into())],
            body: String::new(),
        }
    }

    pub fn get(&self, path: &str) -> Call<'_> {
        self.request(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> Call<'_> {
        self.request(Method::POST, path)
    }

    pub fn put(&self, path: &str) -> Call<'_> {
        self.request(Method::PUT, path)
    }

    pub fn delete(&self, path: &str) -> Call<'_> {
        self.request(Method::DELETE, path)
    }

    /// A confirmed user with PASSWORD, made through POST /admin/users.
    pub async fn user(&self, tag: &str) -> TestUser {
        let email = unique_email(tag);
        let answer = self
            .post("/auth/v1/admin/users")
            .bearer(SERVICE_KEY)
            .json(json!({ "email": email, "password": PASSWORD, "email_confirm": true }))
            .send()
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        let id = answer.json()["id"].as_str().unwrap().parse().unwrap();
        TestUser { id, email }
    }

    /// The password grant's token response for the user.
    pub async fn sign_in(&self, user: &TestUser) -> Value {
        let answer = self
            .post("/auth/v1/token?grant_type=password")
            .json(json!({ "email": user.email, "password": PASSWORD }))
            .send()
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        answer.json()
    }

    /// The emails "sent" to the address, newest first.
    pub async fn mailbox(&self, email: &str) -> Vec<Value> {
        let answer = self
            .get(&format!("/auth/v1/_dev/mailbox?email={email}"))
            .bearer(SERVICE_KEY)
            .send()
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        answer.json().as_array().unwrap().clone()
    }

    /// The token hash of the newest email to the address.
    pub async fn last_link(&self, email: &str) -> String {
        let mail = self.mailbox(email).await;
        let newest = mail
            .first()
            .unwrap_or_else(|| panic!("no email to {email}"));
        newest["tokenHash"].as_str().unwrap().to_string()
    }

    /// The claims of an access token, verified with the published JWKS.
    pub async fn verify_token(&self, token: &str) -> Value {
        let jwks: JwkSet = serde_json::from_value(
            self.get("/auth/v1/.well-known/jwks.json")
                .send()
                .await
                .json(),
        )
        .unwrap();
        let header = jsonwebtoken::decode_header(token).unwrap();
        let jwk = jwks.find(header.kid.as_deref().unwrap()).unwrap();
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&["authenticated"]);
        jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
            .unwrap()
            .claims
    }

    /// A token signed with the stand-in's own key (key-a, ES256).
    pub fn sign_token(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("key-a".into());
        jsonwebtoken::encode(&header, claims, &self.signing_key).unwrap()
    }

    /// Claims like the stand-in's access tokens for the user, valid for a minute.
    pub fn claims_for(&self, user: &TestUser) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({
            "iss": ISSUER, "aud": "authenticated", "sub": user.id, "role": "authenticated",
            "iat": now, "exp": now + 60, "email": user.email,
        })
    }
}

pub struct TestUser {
    pub id: Uuid,
    pub email: String,
}

pub fn unique_email(tag: &str) -> String {
    format!("{tag}-{}@example.test", Uuid::new_v4().simple())
}

/// A request to the stand-in; it carries the anon key unless told otherwise.
pub struct Call<'a> {
    app: &'a TestApp,
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Call<'_> {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn no_apikey(mut self) -> Self {
        self.headers.retain(|(n, _)| n != "apikey");
        self
    }

    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    pub fn json(mut self, body: Value) -> Self {
        self.body = body.to_string();
        self.header("content-type", "application/json")
    }

    pub fn body(mut self, body: &str) -> Self {
        self.body = body.to_string();
        self
    }

    pub async fn send(self) -> Answer {
        let mut request = Request::builder().method(self.method).uri(&self.path);
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        let request = request.body(Body::from(self.body)).unwrap();
        let response = self.app.router.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        Answer {
            status,
            headers,
            body,
        }
    }
}

pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    pub fn location(&self) -> &str {
        self.header("location")
            .unwrap_or_else(|| panic!("no Location: {} {}", self.status, self.text()))
    }

    /// Asserts GoTrue's error answer: status, error_code and msg.
    #[track_caller]
    pub fn assert_error(&self, status: u16, error_code: &str, msg: &str) {
        let body = json!({ "code": status, "error_code": error_code, "msg": msg });
        assert_eq!(
            (self.status, self.json()),
            (status, body),
            "{}",
            self.text()
        );
        assert_eq!(self.header("content-type"), Some("application/json"));
    }
}

/// The query parameters of a URL's query or fragment (`+` is a space).
pub fn params(part: &str) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(part.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}
