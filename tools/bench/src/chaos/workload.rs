//! The workload of `make chaos`: signed-in users doing what users of this API do, each
//! operation retried as a client retries it, every attempt recorded in the history the
//! checker reads. Functions run under [`Pools`]: as Lambda scales a function, a request
//! goes to an idle instance of it or to a new one, and each instance handles one
//! invocation at a time.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::emulator::Outcome;
use crate::error::Result;
use crate::event::{EventTemplate, FunctionResponse, HttpRequest};
use crate::function::Launcher;
use crate::measure::Instance;

/// Attempts of one operation before the client gives it up.
pub const ATTEMPTS: usize = 8;
/// Names of the run's projects and posts, and the emails of its users, start with this.
pub const PREFIX: &str = "Chaos ";
pub const EMAIL_PREFIX: &str = "chaos-";
/// A 1x1 PNG: what every upload sends (complete-upload checks the magic bytes).
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];
const SWEEP_EVENT: &str = include_str!("../../../../functions/events/sweep-storage.json");

/// What an operation is; the route (function) its attempts go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    CreateProject,
    UpdateProject,
    DeleteProject,
    CreateUpload,
    /// The client's PUT of the bytes straight to S3 (the presigned request).
    PutObject,
    CompleteUpload,
    DeleteUpload,
    CreatePost,
    PublishPost,
    CreateUser,
    DeleteUser,
    SignIn,
    Refresh,
    /// The scheduled storage sweep, invoked asynchronously.
    Sweep,
    /// A project create sent straight to PostgREST (the throughput comparison).
    StraightCreate,
}

impl Kind {
    pub fn route(self) -> &'static str {
        match self {
            Kind::CreateProject => "create-project",
            Kind::UpdateProject => "update-project",
            Kind::DeleteProject => "delete-project",
            Kind::CreateUpload => "create-upload",
            Kind::PutObject => "S3 PUT (presigned)",
            Kind::CompleteUpload => "complete-upload",
            Kind::DeleteUpload => "delete-upload",
            Kind::CreatePost => "create-post",
            Kind::PublishPost => "publish-post",
            Kind::CreateUser => "create-user",
            Kind::DeleteUser => "delete-user",
            Kind::SignIn => "sign-in",
            Kind::Refresh => "refresh-session",
            Kind::Sweep => "sweep-storage",
            Kind::StraightCreate => "PostgREST rpc/create_project",
        }
    }

    /// Creates that take an `Idempotency-Key` (and so may answer 409 in progress).
    pub fn keyed(self) -> bool {
        matches!(
            self,
            Kind::CreateProject
                | Kind::CreateUpload
                | Kind::CreatePost
                | Kind::PublishPost
                | Kind::CreateUser
                | Kind::StraightCreate
        )
    }
}

/// The functions `make chaos` runs (the script builds them).
pub const FUNCTIONS: &[&str] = &[
    "create-project",
    "update-project",
    "delete-project",
    "create-upload",
    "complete-upload",
    "delete-upload",
    "create-post",
    "publish-post",
    "create-user",
    "delete-user",
    "sign-in",
    "refresh-session",
    "sweep-storage",
];

/// One logical operation: its attempts share the key (or the target).
#[derive(Debug, Clone)]
pub struct Op {
    pub kind: Kind,
    pub actor: usize,
    /// The `Idempotency-Key` of a create, else a fresh id naming the operation.
    pub key: String,
    /// The project, upload, post or user it acts on.
    pub target: Option<String>,
    /// What an update sets (the description).
    pub value: Option<String>,
    /// Before the faults began (the throughput comparison).
    pub baseline: bool,
}

impl Op {
    /// An operation of `kind` by `actor`, named by a fresh id.
    pub fn new(kind: Kind, actor: usize) -> Self {
        Self {
            kind,
            actor,
            key: uuid::Uuid::new_v4().to_string(),
            target: None,
            value: None,
            baseline: false,
        }
    }

    fn key(mut self, key: &str) -> Self {
        key.clone_into(&mut self.key);
        self
    }

    fn on(mut self, target: String) -> Self {
        self.target = Some(target);
        self
    }

    fn set(mut self, value: String) -> Self {
        self.value = Some(value);
        self
    }

    fn baseline(mut self, baseline: bool) -> Self {
        self.baseline = baseline;
        self
    }
}

/// How an attempt ended, as the client saw it.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    /// An HTTP answer (of a function or of S3).
    Answered,
    /// No answer: the instance was killed, or S3 refused the connection.
    Lost,
    /// The function reported an invocation error, crashed on its own or hung: always a
    /// violation.
    Broken(String),
}

/// One attempt, as the client saw it.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub op: usize,
    /// Since the run began.
    pub sent: Duration,
    pub elapsed: Duration,
    pub ending: Ending,
    pub status: Option<u16>,
    /// `error.code` of an error answer.
    pub code: Option<String>,
    /// `data.id` of a 2xx answer.
    pub resource: Option<String>,
    pub replayed: bool,
    /// Error answers: the envelope (`error.code` and `error.message`); every answer:
    /// `X-Request-Id` and `Cache-Control: no-store`. What is missing, if anything.
    pub shape: Option<String>,
    /// `data.uploadRequest` of a create-upload answer.
    pub upload_request: Option<Value>,
    /// The cookies the answer set, as a browser sends them back (`name=value`).
    pub cookies: Vec<String>,
}

/// The history: operations and their attempts, in the order they were made.
#[derive(Default)]
pub struct History {
    pub ops: Vec<Op>,
    pub attempts: Vec<Attempt>,
}

/// The instances of every function, idle or busy, as Lambda keeps them.
pub struct Pools<'a> {
    launcher: &'a Launcher,
    idle: RefCell<BTreeMap<&'static str, Vec<Instance>>>,
    /// Busy instances: (function, process id), by a ticket of the invocation.
    busy: RefCell<BTreeMap<u64, (&'static str, u32)>>,
    tickets: Cell<u64>,
    /// Processes the fault injector killed (so their end is not a crash).
    killed: RefCell<BTreeSet<u32>>,
    pub started: Cell<usize>,
}

/// An invocation's end.
pub enum Reply {
    Response(FunctionResponse),
    /// A job's answer (its own JSON) or an invocation error (`Err`).
    Job(std::result::Result<Value, String>),
    Lost,
    Broken(String),
}

impl<'a> Pools<'a> {
    pub fn new(launcher: &'a Launcher) -> Self {
        Self {
            launcher,
            idle: RefCell::default(),
            busy: RefCell::default(),
            tickets: Cell::new(0),
            killed: RefCell::default(),
            started: Cell::new(0),
        }
    }

    /// Invokes `function` with `event` on an idle instance or a new one.
    pub async fn invoke(&self, function: &'static str, event: Vec<u8>) -> Result<Reply> {
        let idle = self.idle.borrow_mut().get_mut(function).and_then(Vec::pop);
        let mut instance = match idle {
            Some(instance) => instance,
            None => {
                self.started.set(self.started.get() + 1);
                Instance::start(self.launcher, function).await?
            }
        };
        let ticket = self.tickets.get();
        self.tickets.set(ticket + 1);
        let pid = instance.pid();
        self.busy.borrow_mut().insert(ticket, (function, pid));
        let outcome = instance.outcome(event).await;
        self.busy.borrow_mut().remove(&ticket);
        let reply = match outcome {
            Ok(Outcome::Response { body, .. }) if function == "sweep-storage" => {
                Reply::Job(serde_json::from_slice(&body).map_err(|e| e.to_string()))
            }
            Ok(Outcome::Response { body, .. }) => match FunctionResponse::parse(&body) {
                Ok(response) => Reply::Response(response),
                Err(e) => Reply::Broken(format!("an answer that is not a response: {e}")),
            },
            Ok(Outcome::Error { body }) if function == "sweep-storage" => {
                Reply::Job(Err(String::from_utf8_lossy(&body).into_owned()))
            }
            Ok(Outcome::Error { body }) => Reply::Broken(format!(
                "an invocation error: {}",
                String::from_utf8_lossy(&body)
            )),
            Ok(Outcome::InitError { body }) => Reply::Broken(format!(
                "a failed cold start: {}",
                String::from_utf8_lossy(&body)
            )),
            Err(_) if self.killed.borrow().contains(&pid) => return Ok(Reply::Lost),
            Err(e) => return Ok(Reply::Broken(e.to_string())),
        };
        if !matches!(reply, Reply::Broken(_)) {
            self.idle
                .borrow_mut()
                .entry(function)
                .or_default()
                .push(instance);
        }
        Ok(reply)
    }

    /// The instances in the middle of an invocation: (function, process id).
    pub fn busy(&self) -> Vec<(&'static str, u32)> {
        self.busy.borrow().values().copied().collect()
    }

    /// Notes that the injector is about to kill `pid`.
    pub fn killing(&self, pid: u32) {
        self.killed.borrow_mut().insert(pid);
    }
}

/// Who the workload runs as, and where.
pub struct Cast {
    /// Each actor's access token (an editor of the workspace, app role editor).
    pub actors: Vec<String>,
    /// An admin's access token (users.write, users.delete).
    pub admin: String,
    pub workspace: String,
    /// An account with a password, for sign-in.
    pub email: String,
    pub password: String,
    /// The browser origin the API allows (cookie-authenticated writes need it).
    pub origin: String,
}

/// What an actor made and may act on next (its own, so no two actors race on one
/// resource).
#[derive(Default)]
struct Owned {
    projects: Vec<String>,
    uploads: Vec<String>,
    users: Vec<String>,
}

/// The shared state of the run's tasks (one thread).
pub struct Run<'a> {
    pub pools: Pools<'a>,
    pub history: RefCell<History>,
    pub started: Instant,
    pub cast: Cast,
    pub http: reqwest::Client,
}

/// What the client does with an answer.
enum Next {
    Done,
    Retry(Duration),
}

impl Run<'_> {
    fn record(&self, attempt: Attempt) {
        self.history.borrow_mut().attempts.push(attempt);
    }

    fn begin(&self, op: Op) -> usize {
        let mut history = self.history.borrow_mut();
        history.ops.push(op);
        history.ops.len() - 1
    }

    /// One attempt of `op` through its function; what came back.
    async fn attempt(&self, op: usize, kind: Kind, event: Vec<u8>) -> Result<Attempt> {
        let sent = self.started.elapsed();
        let clock = Instant::now();
        let reply = self.pools.invoke(kind.route(), event).await?;
        let elapsed = clock.elapsed();
        let attempt = match reply {
            Reply::Response(response) => answered(op, sent, elapsed, &response),
            Reply::Job(Ok(_)) => Attempt {
                status: Some(200),
                ..bare(op, sent, elapsed, Ending::Answered)
            },
            Reply::Job(Err(error)) => Attempt {
                code: Some(error.chars().take(120).collect()),
                ..bare(op, sent, elapsed, Ending::Answered)
            },
            Reply::Lost => bare(op, sent, elapsed, Ending::Lost),
            Reply::Broken(why) => bare(op, sent, elapsed, Ending::Broken(why)),
        };
        self.record(attempt.clone());
        Ok(attempt)
    }

    /// `op` until it is answered with something not worth retrying, [`ATTEMPTS`] run
    /// out, or `give_up` passes; the last attempt. `event` makes each attempt's event
    /// (the same request each time).
    async fn until_answered(
        &self,
        op: usize,
        kind: Kind,
        give_up: Instant,
        event: impl Fn() -> Vec<u8>,
    ) -> Result<Attempt> {
        let mut n = 0;
        loop {
            let attempt = self.attempt(op, kind, event()).await?;
            n += 1;
            match next(&attempt, n) {
                Next::Retry(wait) if n < ATTEMPTS && Instant::now() < give_up => {
                    tokio::time::sleep(wait).await;
                }
                _ => return Ok(attempt),
            }
        }
    }

    fn request(
        &self,
        method: &'static str,
        route: &'static str,
        path: &str,
        body: Option<&str>,
        token: &str,
    ) -> Result<EventTemplate> {
        EventTemplate::new(&HttpRequest {
            method,
            route,
            path,
            query: "",
            body,
            bearer_token: Some(token),
        })
    }

    /// An actor's loop until `deadline`: a mix of operations, each to its end. With
    /// `creates_only`, project creates alone (the baseline).
    pub async fn actor(
        &self,
        actor: usize,
        seed: u64,
        deadline: Instant,
        creates_only: bool,
    ) -> Result<()> {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut owned = Owned::default();
        // An operation started before the deadline may retry a little past it.
        let give_up = deadline + Duration::from_secs(10);
        while Instant::now() < deadline {
            let roll = if creates_only { 0 } else { rng.u8(0..100) };
            match roll {
                0..=24 => {
                    self.create_project(actor, &mut owned, creates_only, give_up)
                        .await?
                }
                25..=36 => {
                    self.update_project(actor, &mut owned, &mut rng, give_up)
                        .await?
                }
                37..=44 => {
                    // The workspace's editors may not delete; the run's admin (also its
                    // workspace's admin) does.
                    let route = "/projects/{id}";
                    self.delete_one(
                        Kind::DeleteProject,
                        actor,
                        &mut owned.projects,
                        route,
                        &self.cast.admin,
                        &mut rng,
                        give_up,
                    )
                    .await?
                }
                45..=62 => self.upload(actor, &mut owned, give_up).await?,
                63..=69 => {
                    let token = &self.cast.actors[actor];
                    self.delete_one(
                        Kind::DeleteUpload,
                        actor,
                        &mut owned.uploads,
                        "/uploads/{id}",
                        token,
                        &mut rng,
                        give_up,
                    )
                    .await?
                }
                70..=79 => self.publish(actor, give_up).await?,
                80..=86 => self.create_user(actor, &mut owned, give_up).await?,
                87..=90 => {
                    let admin = &self.cast.admin;
                    self.delete_one(
                        Kind::DeleteUser,
                        actor,
                        &mut owned.users,
                        "/users/{id}",
                        admin,
                        &mut rng,
                        give_up,
                    )
                    .await?
                }
                _ => self.sign_in_and_refresh(actor, give_up).await?,
            }
        }
        Ok(())
    }

    /// `op` sent as `request` until answered (with the op's key as `Idempotency-Key`
    /// when `keyed`); the last attempt.
    async fn send(
        &self,
        op: Op,
        request: EventTemplate,
        keyed: bool,
        give_up: Instant,
    ) -> Result<Attempt> {
        let event = match keyed {
            true => request.with_header("idempotency-key", &op.key),
            false => request,
        };
        let kind = op.kind;
        let op = self.begin(op);
        self.until_answered(op, kind, give_up, || event.render())
            .await
    }

    /// A keyed create: `op` as a POST of `body` to `route`; the last attempt.
    async fn create(
        &self,
        op: Op,
        route: &'static str,
        body: Value,
        token: &str,
        give_up: Instant,
    ) -> Result<Attempt> {
        let body = body.to_string();
        let request = self.request("POST", route, route, Some(&body), token)?;
        self.send(op, request, true, give_up).await
    }

    /// DELETE of one of `ids` (taken out of them, whatever the answer).
    #[allow(clippy::too_many_arguments)]
    async fn delete_one(
        &self,
        kind: Kind,
        actor: usize,
        ids: &mut Vec<String>,
        route: &'static str,
        token: &str,
        rng: &mut fastrand::Rng,
        give_up: Instant,
    ) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let id = ids.swap_remove(rng.usize(..ids.len()));
        let request = self.request("DELETE", route, &route.replace("{id}", &id), None, token)?;
        self.send(Op::new(kind, actor).on(id), request, false, give_up)
            .await?;
        Ok(())
    }

    async fn create_project(
        &self,
        actor: usize,
        owned: &mut Owned,
        baseline: bool,
        give_up: Instant,
    ) -> Result<()> {
        let op = Op::new(Kind::CreateProject, actor).baseline(baseline);
        let body = json!({
            "name": project_name(&op.key),
            "description": "make chaos",
            "workspaceId": self.cast.workspace,
        });
        let last = self
            .create(op, "/projects", body, &self.cast.actors[actor], give_up)
            .await?;
        owned.projects.extend(created(&last));
        Ok(())
    }

    async fn update_project(
        &self,
        actor: usize,
        owned: &mut Owned,
        rng: &mut fastrand::Rng,
        give_up: Instant,
    ) -> Result<()> {
        if owned.projects.is_empty() {
            return Ok(());
        }
        let id = owned.projects[rng.usize(..owned.projects.len())].clone();
        let value = format!("update {}", uuid::Uuid::new_v4().simple());
        let body = json!({ "description": value }).to_string();
        let path = format!("/projects/{id}");
        let request = self.request(
            "PATCH",
            "/projects/{id}",
            &path,
            Some(&body),
            &self.cast.actors[actor],
        )?;
        let op = Op::new(Kind::UpdateProject, actor).on(id).set(value);
        self.send(op, request, false, give_up).await?;
        Ok(())
    }

    /// create-upload, the PUT to S3, complete-upload: as the browser app uploads.
    async fn upload(&self, actor: usize, owned: &mut Owned, give_up: Instant) -> Result<()> {
        let token = &self.cast.actors[actor];
        let body = json!({
            "filename": "chaos.png",
            "contentType": "image/png",
            "size": PNG.len(),
        });
        let op = Op::new(Kind::CreateUpload, actor);
        let answer = self.create(op, "/uploads", body, token, give_up).await?;
        let (Some(id), Some(put)) = (created(&answer), answer.upload_request) else {
            return Ok(());
        };
        let put_op = self.begin(Op::new(Kind::PutObject, actor).on(id.clone()));
        let mut stored = false;
        for n in 1..=ATTEMPTS {
            let attempt = self.put_object(put_op, &put).await;
            stored = attempt.status.is_some_and(|s| (200..300).contains(&s));
            self.record(attempt);
            if stored || Instant::now() >= give_up {
                break;
            }
            tokio::time::sleep(backoff(n)).await;
        }
        if !stored {
            return Ok(());
        }
        let path = format!("/uploads/{id}/complete");
        let request = self.request("POST", "/uploads/{id}/complete", &path, None, token)?;
        let op = Op::new(Kind::CompleteUpload, actor).on(id.clone());
        self.send(op, request, false, give_up).await?;
        owned.uploads.push(id);
        Ok(())
    }

    /// The presigned PUT, as the browser sends it (method, URL and headers as given).
    async fn put_object(&self, op: usize, put: &Value) -> Attempt {
        let sent = self.started.elapsed();
        let clock = Instant::now();
        let method = put["method"].as_str().unwrap_or("PUT");
        let mut request = self.http.request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::PUT),
            put["url"].as_str().unwrap_or_default(),
        );
        if let Some(headers) = put["headers"].as_object() {
            for (name, value) in headers {
                request = request.header(name, value.as_str().unwrap_or_default());
            }
        }
        let answer = request
            .body(PNG.to_vec())
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        let elapsed = clock.elapsed();
        match answer {
            Ok(response) => Attempt {
                status: Some(response.status().as_u16()),
                ..bare(op, sent, elapsed, Ending::Answered)
            },
            Err(_) => bare(op, sent, elapsed, Ending::Lost),
        }
    }

    /// A post created, then published (both with keys).
    async fn publish(&self, actor: usize, give_up: Instant) -> Result<()> {
        let token = &self.cast.actors[actor];
        let op = Op::new(Kind::CreatePost, actor);
        let body = json!({ "title": project_name(&op.key), "body": "make chaos" });
        let answer = self.create(op, "/posts", body, token, give_up).await?;
        let Some(id) = created(&answer) else {
            return Ok(());
        };
        let path = format!("/posts/{id}/publish");
        let request = self.request("POST", "/posts/{id}/publish", &path, None, token)?;
        let op = Op::new(Kind::PublishPost, actor).on(id);
        self.send(op, request, true, give_up).await?;
        Ok(())
    }

    /// An admin creates a user (Supabase Auth, then the role and name in Postgres).
    async fn create_user(&self, actor: usize, owned: &mut Owned, give_up: Instant) -> Result<()> {
        let op = Op::new(Kind::CreateUser, actor);
        let body = json!({
            "email": user_email(&op.key),
            "name": project_name(&op.key),
            "role": "user",
        });
        let answer = self
            .create(op, "/users", body, &self.cast.admin, give_up)
            .await?;
        owned.users.extend(created(&answer));
        Ok(())
    }

    /// Sign-in by password, then a refresh with the session cookie it set.
    async fn sign_in_and_refresh(&self, actor: usize, give_up: Instant) -> Result<()> {
        let body = json!({ "email": self.cast.email, "password": self.cast.password }).to_string();
        let event = EventTemplate::new(&HttpRequest {
            method: "POST",
            route: "/auth/sign-in",
            path: "/auth/sign-in",
            query: "",
            body: Some(&body),
            bearer_token: None,
        })?
        .with_header("origin", &self.cast.origin);
        let op = self.begin(Op::new(Kind::SignIn, actor));
        let signed_in = self
            .until_answered(op, Kind::SignIn, give_up, || event.render())
            .await?;
        if signed_in.status != Some(200) || signed_in.cookies.is_empty() {
            return Ok(());
        }
        let cookies = signed_in.cookies;
        let event = EventTemplate::new(&HttpRequest {
            method: "POST",
            route: "/auth/refresh",
            path: "/auth/refresh",
            query: "",
            body: None,
            bearer_token: None,
        })?
        .with_header("origin", &self.cast.origin)
        .with_cookies(&cookies);
        let op = self.begin(Op::new(Kind::Refresh, actor));
        self.until_answered(op, Kind::Refresh, give_up, || event.render())
            .await?;
        Ok(())
    }

    /// The scheduled sweep every `every` until `deadline`, each event invoked
    /// asynchronously: an event whose invocation was lost (the instance killed) or
    /// failed is sent again, as Lambda retries an asynchronous invocation (twice, here
    /// after 1 and 2 s instead of 1 and 2 minutes).
    pub async fn sweeper(&self, every: Duration, deadline: Instant) -> Result<()> {
        while Instant::now() < deadline {
            tokio::time::sleep(every).await;
            self.sweep_once(2).await?;
        }
        Ok(())
    }

    /// One scheduled event of the sweep, with up to `retries` retries; whether it ran.
    pub async fn sweep_once(&self, retries: usize) -> Result<bool> {
        let op = self.begin(Op::new(Kind::Sweep, usize::MAX));
        for n in 0..=retries {
            let attempt = self
                .attempt(op, Kind::Sweep, SWEEP_EVENT.as_bytes().to_vec())
                .await?;
            if attempt.status == Some(200) {
                return Ok(true);
            }
            if n < retries {
                tokio::time::sleep(Duration::from_secs(1 << n)).await;
            }
        }
        Ok(false)
    }

    /// Project creates straight to PostgREST (`rpc/create_project`, with the key header
    /// the database reads) until `deadline`, as `actor`: the throughput the functions are
    /// compared with.
    pub async fn straight_creates(
        &self,
        actor: usize,
        rest_url: &str,
        anon_key: &str,
        deadline: Instant,
    ) -> Result<()> {
        while Instant::now() < deadline {
            let key = uuid::Uuid::new_v4().to_string();
            let op = self.begin(
                Op::new(Kind::StraightCreate, actor)
                    .key(&key)
                    .baseline(true),
            );
            let sent = self.started.elapsed();
            let clock = Instant::now();
            let answer = self
                .http
                .post(format!("{rest_url}/rpc/create_project"))
                .header("apikey", anon_key)
                .bearer_auth(&self.cast.actors[actor])
                .header("idempotency-key", &key)
                .json(&json!({
                    "p_workspace_id": self.cast.workspace,
                    "p_name": straight_name(&key),
                    "p_description": "make chaos, straight to PostgREST",
                }))
                .send()
                .await;
            let mut attempt = bare(op, sent, Duration::ZERO, Ending::Lost);
            if let Ok(response) = answer {
                attempt.status = Some(response.status().as_u16());
                attempt.ending = Ending::Answered;
                let value: Value = response.json().await.unwrap_or(Value::Null);
                attempt.resource = value["id"].as_str().map(str::to_owned);
            }
            attempt.elapsed = clock.elapsed();
            self.record(attempt);
        }
        Ok(())
    }
}

fn bare(op: usize, sent: Duration, elapsed: Duration, ending: Ending) -> Attempt {
    Attempt {
        op,
        sent,
        elapsed,
        ending,
        status: None,
        code: None,
        resource: None,
        replayed: false,
        shape: None,
        upload_request: None,
        cookies: Vec::new(),
    }
}

/// An answered attempt: its status, code, resource and whether it has the shape every
/// answer must have.
fn answered(op: usize, sent: Duration, elapsed: Duration, response: &FunctionResponse) -> Attempt {
    let value: Value = serde_json::from_str(&response.body).unwrap_or(Value::Null);
    let code = value["error"]["code"].as_str().map(str::to_owned);
    let mut missing = Vec::new();
    if response.status >= 400 && (code.is_none() || !value["error"]["message"].is_string()) {
        missing.push("the error envelope");
    }
    if !response.headers.contains_key("x-request-id") {
        missing.push("X-Request-Id");
    }
    if response.headers.get("cache-control").map(String::as_str) != Some("no-store") {
        missing.push("Cache-Control: no-store");
    }
    Attempt {
        status: Some(response.status),
        code,
        resource: value["data"]["id"]
            .as_str()
            .or(value["data"]["user"]["id"].as_str())
            .map(str::to_owned),
        replayed: response.replayed,
        shape: (!missing.is_empty()).then(|| missing.join(", ")),
        upload_request: Some(value["data"]["uploadRequest"].clone()).filter(|v| v.is_object()),
        // A cleared cookie (`name=`) is not sent back.
        cookies: response
            .cookies
            .iter()
            .filter_map(|c| c.split(';').next())
            .filter(|c| !c.ends_with('='))
            .map(str::to_owned)
            .collect(),
        ..bare(op, sent, elapsed, Ending::Answered)
    }
}

/// What a client does after `attempt` (the `n`th): retry after a 503, a 409
/// `IDEMPOTENCY_IN_PROGRESS` or a lost answer, backing off from 100 ms to 1 s (a 409
/// says `Retry-After: 1`); anything else is the operation's answer.
fn next(attempt: &Attempt, n: usize) -> Next {
    let retry = matches!(
        (&attempt.ending, attempt.status, attempt.code.as_deref()),
        (Ending::Lost, _, _)
            | (Ending::Answered, Some(503), _)
            | (Ending::Answered, Some(409), Some("IDEMPOTENCY_IN_PROGRESS"))
    );
    if retry {
        Next::Retry(backoff(n))
    } else {
        Next::Done
    }
}

fn backoff(n: usize) -> Duration {
    Duration::from_millis(100 << (n - 1).min(4)).min(Duration::from_secs(1))
}

/// The id a create answered, when it was answered 201.
fn created(attempt: &Attempt) -> Option<String> {
    attempt
        .resource
        .clone()
        .filter(|_| attempt.status == Some(201))
}

/// The email of the user a key creates.
pub fn user_email(key: &str) -> String {
    format!("{EMAIL_PREFIX}{}@chaos.example", &key[..13])
}

/// The name of the project (or post, or user) a key creates.
pub fn project_name(key: &str) -> String {
    format!("{PREFIX}{}", &key[..13])
}

/// The name of a project created straight through PostgREST.
pub fn straight_name(key: &str) -> String {
    format!("Straight {}", &key[..13])
}
