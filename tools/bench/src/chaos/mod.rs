//! `make chaos` (issue 26): many instances of every write route at once against one
//! database while its dependencies fail under them, and a checker over the history and
//! the final state that proves nothing acknowledged was lost and nothing was written
//! twice.
//!
//! `scripts/bench.sh` (with `BENCH_CHAOS=1`) starts the bench's stack with S3 and runs
//! `bench chaos`, which:
//!
//! 1. seeds `CHAOS_INSTANCES` signed-in users (editors of one workspace) and an admin;
//! 2. **baseline** (`CHAOS_BASELINE_SECONDS`, 5; no faults): the users create projects
//!    through create-project, then send the same creates straight to PostgREST
//!    (`rpc/create_project`): the throughput of each;
//! 3. **under faults** (`CHAOS_SECONDS`, 60): each user runs a mix of what users do
//!    (workload.rs): project creates, updates and deletes; uploads (create-upload, the
//!    presigned PUT to S3, complete-upload) and their deletes; posts created and
//!    published; users created and deleted by the admin; sign-in and a refresh with its
//!    cookie. Creates carry an `Idempotency-Key`; every operation is retried as a client
//!    retries it (after a 503, a 409 `IDEMPOTENCY_IN_PROGRESS` or a lost answer, backing
//!    off from 100 ms to 1 s, 8 attempts). The scheduled storage sweep runs every 2 s as an
//!    asynchronous invocation, retried twice when it fails or its instance is killed, as
//!    Lambda retries one. Each function runs in a pool of instances that grows as
//!    Lambda's does, each instance one invocation at a time, with
//!    `UPSTREAM_TIMEOUT_MS=1000`. Meanwhile faults are injected at seeded random times
//!    (`CHAOS_SEED`, printed), each logged with its time (faults.rs): PostgREST paused,
//!    killed and started again, its Postgres connections ended; the Supabase Auth
//!    stand-in and S3 killed and started again; 0.3 to 1.5 s of network delay between
//!    the functions and PostgREST; a busy function instance killed mid-invocation; and
//!    once, halfway, PostgreSQL itself restarted (`CHAOS_POSTGRES_RESTART=0` skips it);
//! 4. the last sweep, then the **checker** (check.rs) over the history and what Postgres
//!    and the bucket hold.
//!
//! The report goes to `BENCH_OUTPUT` (default `.local/chaos.md`) with a JSON summary
//! beside it; the run exits non-zero when the checker found a violation.

mod check;
mod faults;
mod report;
mod workload;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::cases::Fixtures;
use crate::error::{bail, Context, Result};
use crate::function::Launcher;
use crate::settings::{self, number, Settings};
use crate::{seed, token};
use faults::{DelayProxy, Service};
pub use workload::FUNCTIONS;
use workload::{Cast, History, Pools, Run};

/// The first seeded user the actors are (the bench's callers are 1 to 3).
const FIRST_ACTOR: i64 = 101;
/// The sweep's schedule during the run (every five minutes on AWS).
const SWEEP_EVERY: Duration = Duration::from_secs(2);

pub struct ChaosSettings {
    pub seconds: u64,
    pub baseline_seconds: u64,
    pub instances: usize,
    pub seed: u64,
    pub upload_limit: u32,
    postgres_restart: bool,
    postgrest_pid: u32,
    auth_pid: u32,
    s3_pid: u32,
    s3_endpoint: String,
    bucket_dir: PathBuf,
}

impl ChaosSettings {
    fn from_env() -> Result<Self> {
        let required = |name: &str| settings::required(name, "make chaos");
        let pid = |name: &str| -> Result<u32> {
            required(name)?
                .parse::<u32>()
                .context(format!("{name}: a process id"))
        };
        Ok(Self {
            seconds: number("CHAOS_SECONDS", 60, 5)?,
            baseline_seconds: number("CHAOS_BASELINE_SECONDS", 5, 0)?,
            instances: number("CHAOS_INSTANCES", 8, 1)? as usize,
            seed: match settings::optional("CHAOS_SEED") {
                Some(_) => number("CHAOS_SEED", 0, 0)?,
                None => fastrand::u64(..),
            },
            upload_limit: number("CHAOS_UPLOAD_LIMIT", 30, 1)? as u32,
            postgres_restart: settings::optional("CHAOS_POSTGRES_RESTART").as_deref() != Some("0"),
            postgrest_pid: pid("CHAOS_POSTGREST_PID")?,
            auth_pid: pid("CHAOS_AUTH_PID")?,
            s3_pid: pid("CHAOS_S3_PID")?,
            s3_endpoint: required("S3_ENDPOINT")?,
            bucket_dir: PathBuf::from(required("S3_ROOT")?).join(required("UPLOADS_BUCKET")?),
        })
    }
}

/// A fault: when it began and ended (since the run began), its kind and what happened.
#[derive(Debug, Clone)]
pub struct Fault {
    pub at: Duration,
    pub until: Duration,
    pub kind: &'static str,
    pub what: String,
}

/// The phases' bounds, since the run began.
#[derive(Debug, Default, Clone, Copy)]
pub struct Phases {
    pub baseline_functions: (Duration, Duration),
    pub baseline_straight: (Duration, Duration),
    pub faults: (Duration, Duration),
}

pub async fn run() -> Result<()> {
    let started = Instant::now();
    let settings = Settings::from_env()?;
    let chaos = ChaosSettings::from_env()?;
    progress(&format!(
        "seed {} ({} users, {} s under faults); CHAOS_SEED={} reproduces the fault schedule",
        chaos.seed, chaos.instances, chaos.seconds, chaos.seed
    ));
    std::fs::create_dir_all(&settings.log_dir)
        .context(format!("creating {}", settings.log_dir.display()))?;

    let signer = token::Signer::new(
        &settings.jwt_secret,
        format!("{}/auth/v1", settings.supabase_url),
    );
    let db = seed::Database::connect(&settings.database_url).await?;
    db.raise_rate_limits().await?;
    db.seed_small().await?;
    db.chaos_actors(FIRST_ACTOR, chaos.instances as i64).await?;
    // The create-upload rule kept low enough to refuse: the checker holds the limiter
    // to it.
    db.client()
        .execute(
            "update public.rate_limit_rules set max_hits = $1, window_seconds = 60 where rule = 'create-upload'",
            &[&(chaos.upload_limit as i32)],
        )
        .await
        .context("setting the create-upload rule")?;
    let password = format!("chaos-{}", uuid::Uuid::new_v4().simple());
    let email = db.account_with_password(&password).await?;
    let actors = (0..chaos.instances as i64)
        .map(|i| {
            let n = FIRST_ACTOR + i;
            signer.user(&seed::user_id(n), &seed::user_email(n), "editor")
        })
        .collect::<Result<Vec<_>>>()?;
    let admin = signer.user(
        &seed::user_id(seed::CALLER_B),
        &seed::user_email(seed::CALLER_B),
        "admin",
    )?;
    // The admin deletes projects: make them the workspace's admin.
    db.client()
        .execute(
            "insert into public.workspace_members (workspace_id, user_id, role)
             values ($1::text::uuid, $2::text::uuid, 'admin')
             on conflict (workspace_id, user_id) do update set role = 'admin'",
            &[
                &Fixtures::seeded().expand("${workspace_writer}")?,
                &seed::user_id(seed::CALLER_B),
            ],
        )
        .await
        .context("making the admin the workspace's admin")?;
    drop(db);

    let proxy = DelayProxy::start(&settings.rest_url).await?;
    let mut launcher = Launcher::new(
        settings.functions_dir.clone(),
        crate::function_env(&settings, &signer)?,
        settings.log_dir.clone(),
    )
    // A paused PostgREST is a 503 after a second, not a 30 s wait.
    .with_env("UPSTREAM_TIMEOUT_MS", "1000")
    .with_env("SUPABASE_REST_URL", proxy.url());
    for name in [
        "S3_ENDPOINT",
        "UPLOADS_BUCKET",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ] {
        launcher = launcher.with_env(name, &std::env::var(name).unwrap_or_default());
    }
    let run = Run {
        pools: Pools::new(&launcher),
        history: RefCell::default(),
        started,
        cast: Cast {
            actors,
            admin,
            workspace: Fixtures::seeded().expand("${workspace_writer}")?,
            email,
            password,
            origin: "http://localhost:3000".to_owned(),
        },
        http: reqwest::Client::new(),
    };
    let mut phases = Phases::default();

    if chaos.baseline_seconds > 0 {
        let length = Duration::from_secs(chaos.baseline_seconds);
        progress(&format!(
            "baseline: project creates through create-project, then straight to PostgREST, {} s each",
            chaos.baseline_seconds
        ));
        let from = started.elapsed();
        let deadline = Instant::now() + length;
        let actors =
            (0..chaos.instances).map(|a| run.actor(a, chaos.seed ^ a as u64, deadline, true));
        for result in futures_util::future::join_all(actors).await {
            result?;
        }
        phases.baseline_functions = (from, started.elapsed());
        let from = started.elapsed();
        let deadline = Instant::now() + length;
        let straight = (0..chaos.instances)
            .map(|a| run.straight_creates(a, &settings.rest_url, &settings.anon_key, deadline));
        for result in futures_util::future::join_all(straight).await {
            result?;
        }
        phases.baseline_straight = (from, started.elapsed());
    }

    let services = [
        Service::attach(
            "PostgREST",
            chaos.postgrest_pid,
            &settings.log_dir,
            &format!("{}/", settings.rest_url.trim_end_matches('/')),
        )?,
        Service::attach(
            "the Auth stand-in",
            chaos.auth_pid,
            &settings.log_dir,
            &format!("{}/auth/v1/health", settings.supabase_url),
        )?,
        Service::attach("S3", chaos.s3_pid, &settings.log_dir, &chaos.s3_endpoint)?,
    ];
    let cluster = if chaos.postgres_restart {
        let port = url_port(&settings.database_url).unwrap_or(5432);
        let cluster = faults::postgres_cluster(port);
        if cluster.is_none() {
            progress("no local Debian cluster serves the database: PostgreSQL is not restarted");
        }
        cluster
    } else {
        None
    };
    progress(&format!(
        "{} users for {} s, with faults",
        chaos.instances, chaos.seconds
    ));
    let from = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(chaos.seconds);
    let faults = RefCell::new(Vec::new());
    let actors = (0..chaos.instances)
        .map(|a| run.actor(a, chaos.seed.wrapping_add(1 + a as u64), deadline, false));
    let injector = Injector {
        run: &run,
        services: &services,
        proxy: &proxy,
        cluster: cluster.as_ref(),
        database_url: &settings.database_url,
        rng: RefCell::new(fastrand::Rng::with_seed(chaos.seed)),
        faults: &faults,
    };
    let (results, swept, injected) = tokio::join!(
        futures_util::future::join_all(actors),
        run.sweeper(SWEEP_EVERY, deadline),
        injector.inject(deadline, Duration::from_secs(chaos.seconds)),
    );
    // Everything runs again, whatever happened.
    let _ = faults::signal(services[0].pid(), "CONT");
    proxy.set_delay(Duration::ZERO);
    injected?;
    swept?;
    for result in results {
        result?;
    }
    phases.faults = (from, started.elapsed());

    progress("the last sweep, then the checker");
    // The requests of the last pause may still be committing.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut swept = false;
    for _ in 0..5 {
        if run.sweep_once(0).await? {
            swept = true;
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    if !swept {
        bail!(
            "the last sweep did not run (its log is in {})",
            settings.log_dir.display()
        );
    }
    let state = read_state(&settings.database_url, &chaos).await?;
    let history = run.history.into_inner();
    let faults = faults.into_inner();
    let check = check::check(&history, &state);
    let rendered = report::Rendered {
        machine: crate::report::Machine::describe(settings.commit.clone()),
        chaos: &chaos,
        history: &history,
        faults: &faults,
        check: &check,
        state: &state,
        phases,
        instances_started: run.pools.started.get(),
        elapsed: started.elapsed(),
    };
    let text = rendered.markdown();
    println!("{text}");
    let output = settings.output.clone();
    if let Some(dir) = output.parent() {
        std::fs::create_dir_all(dir).context(format!("creating {}", dir.display()))?;
    }
    std::fs::write(&output, &text).context(format!("writing {}", output.display()))?;
    let json_path = output.with_extension("json");
    std::fs::write(
        &json_path,
        serde_json::to_vec_pretty(&rendered.json()).unwrap_or_default(),
    )
    .context(format!("writing {}", json_path.display()))?;
    progress(&format!(
        "written to {} and {}",
        output.display(),
        json_path.display()
    ));
    if !check.violations.is_empty() {
        bail!(
            "{} violation(s) of what the API promises; CHAOS_SEED={} reproduces the schedule",
            check.violations.len(),
            chaos.seed
        );
    }
    Ok(())
}

fn url_port(url: &str) -> Option<u16> {
    let rest = url.split("://").nth(1)?;
    let host = rest.split('/').next()?.rsplit('@').next()?;
    host.rsplit(':').next()?.parse().ok()
}

/// Faults at random intervals until the deadline, each logged with its time.
struct Injector<'a> {
    run: &'a Run<'a>,
    services: &'a [Service; 3],
    proxy: &'a DelayProxy,
    cluster: Option<&'a (String, String)>,
    database_url: &'a str,
    rng: RefCell<fastrand::Rng>,
    faults: &'a RefCell<Vec<Fault>>,
}

impl Injector<'_> {
    fn between(&self, from: u64, to: u64) -> Duration {
        Duration::from_millis(self.rng.borrow_mut().u64(from..to))
    }

    async fn inject(&self, deadline: Instant, length: Duration) -> Result<()> {
        let began = Instant::now();
        let mut postgres_restarted = self.cluster.is_none();
        // The first second runs without faults (the pools fill).
        tokio::time::sleep(Duration::from_secs(1)).await;
        loop {
            tokio::time::sleep(self.between(300, 2_500)).await;
            if Instant::now() >= deadline {
                return Ok(());
            }
            let at = self.run.started.elapsed();
            let (kind, what) = if !postgres_restarted && began.elapsed() >= length / 2 {
                postgres_restarted = true;
                let cluster = self.cluster.expect("checked above");
                let took = faults::restart_postgres(cluster, self.database_url).await?;
                (
                    "PostgreSQL restarted",
                    format!(
                        "PostgreSQL {} {} restarted (fast), accepting connections after {}",
                        cluster.0,
                        cluster.1,
                        crate::report::ms(took)
                    ),
                )
            } else {
                let roll = self.rng.borrow_mut().u8(0..12);
                match roll {
                    0 | 1 => {
                        let pause = self.between(300, 2_000);
                        let postgrest = &self.services[0];
                        faults::signal(postgrest.pid(), "STOP")?;
                        tokio::time::sleep(pause).await;
                        faults::signal(postgrest.pid(), "CONT")?;
                        (
                            "PostgREST paused",
                            format!("PostgREST paused for {}", crate::report::ms(pause)),
                        )
                    }
                    2 | 3 => {
                        let ended = end_postgrest_connections(self.database_url).await?;
                        (
                            "PostgREST's connections ended",
                            format!("PostgREST's {ended} connection(s) to Postgres ended"),
                        )
                    }
                    4 => self.restart(0).await?,
                    5 => self.restart(1).await?,
                    6 => self.restart(2).await?,
                    7 | 8 => {
                        let delay = self.between(300, 1_500);
                        let length = self.between(1_000, 4_000);
                        self.proxy.set_delay(delay);
                        tokio::time::sleep(length).await;
                        self.proxy.set_delay(Duration::ZERO);
                        (
                            "network delay to PostgREST",
                            format!(
                                "{} of delay each way between the functions and PostgREST for {}",
                                crate::report::ms(delay),
                                crate::report::ms(length)
                            ),
                        )
                    }
                    _ => {
                        let busy = self.run.pools.busy();
                        if busy.is_empty() {
                            continue;
                        }
                        let (function, pid) = busy[self.rng.borrow_mut().usize(..busy.len())];
                        self.run.pools.killing(pid);
                        faults::signal(pid, "KILL")?;
                        (
                            "instance killed mid-invocation",
                            format!("a busy {function} instance killed (pid {pid})"),
                        )
                    }
                }
            };
            self.faults.borrow_mut().push(Fault {
                at,
                until: self.run.started.elapsed(),
                kind,
                what,
            });
        }
    }

    async fn restart(&self, which: usize) -> Result<(&'static str, String)> {
        let service = &self.services[which];
        let down = self.between(200, 1_000);
        let ready = service.kill_and_restart(down).await?;
        let kind = match which {
            0 => "PostgREST killed and started again",
            1 => "the Auth stand-in killed and started again",
            _ => "S3 killed and started again",
        };
        Ok((
            kind,
            format!(
                "{} killed, started again after {}, answering after {}",
                service.name,
                crate::report::ms(down),
                crate::report::ms(ready)
            ),
        ))
    }
}

/// Ends every connection PostgREST holds (its pool reconnects), over a connection of
/// its own (PostgreSQL may have restarted since the last).
async fn end_postgrest_connections(url: &str) -> Result<u64> {
    let db = seed::Database::connect(url).await?;
    db.terminate_postgrest_backends().await
}

/// What Postgres and the bucket hold at the end.
async fn read_state(url: &str, chaos: &ChaosSettings) -> Result<check::State> {
    let db = seed::Database::connect(url).await?;
    let client = db.client();
    let mut state = check::State {
        upload_rule: (chaos.upload_limit, Duration::from_secs(60)),
        ..check::State::default()
    };
    let read = |what: &'static str| format!("reading {what}");
    for row in client
        .query(
            "select id::text, name::text, description::text from public.projects
             where starts_with(name::text, $1) or starts_with(name::text, 'Straight ')",
            &[&workload::PREFIX],
        )
        .await
        .context(read("the run's projects"))?
    {
        state.projects.insert(row.get(0), (row.get(1), row.get(2)));
    }
    let owners: Vec<String> = (0..chaos.instances as i64)
        .map(|i| seed::user_id(FIRST_ACTOR + i))
        .collect();
    for row in client
        .query(
            "select id::text, owner_id::text, status::text from public.uploads
             where owner_id::text = any($1)",
            &[&owners],
        )
        .await
        .context(read("the uploads"))?
    {
        state.uploads.insert(row.get(0), (row.get(1), row.get(2)));
    }
    for row in client
        .query("select object_key from private.storage_deletions", &[])
        .await
        .context(read("the deletion queue"))?
    {
        state.queued.insert(row.get(0));
    }
    for row in client
        .query(
            "select id::text, title::text, published from public.posts where starts_with(title::text, $1)",
            &[&workload::PREFIX],
        )
        .await
        .context(read("the posts"))?
    {
        state.posts.insert(row.get(0), (row.get(1), row.get(2)));
    }
    for row in client
        .query(
            "select u.id::text, u.email::text, p.id is not null, r.role::text
             from auth.users u
             left join public.profiles p on p.id = u.id
             left join public.user_roles r on r.user_id = u.id
             where starts_with(u.email::text, $1)",
            &[&workload::EMAIL_PREFIX],
        )
        .await
        .context(read("the users"))?
    {
        state
            .users
            .insert(row.get(0), (row.get(1), row.get(2), row.get(3)));
    }
    let orphans = client
        .query_one(
            "select (select count(*) from public.profiles p where not exists (select 1 from auth.users u where u.id = p.id)),
                    (select count(*) from auth.users u where not exists (select 1 from public.profiles p where p.id = u.id)),
                    (select count(*) from auth.users u where not exists (select 1 from public.user_roles r where r.user_id = u.id))",
            &[],
        )
        .await
        .context(read("orphans"))?;
    state.orphans = [orphans.get(0), orphans.get(1), orphans.get(2)];
    state.objects = bucket_objects(&chaos.bucket_dir)?;
    Ok(state)
}

/// The bucket's object keys, from the S3 server's directory (s3s-fs keeps an object
/// as a file at its key): `pending/<user>/<id>` and `files/<user>/<id>`.
fn bucket_objects(dir: &std::path::Path) -> Result<BTreeSet<String>> {
    let mut keys = BTreeSet::new();
    for prefix in ["pending", "files"] {
        let top = dir.join(prefix);
        let Ok(users) = std::fs::read_dir(&top) else {
            continue;
        };
        for user in users.flatten() {
            let Ok(objects) = std::fs::read_dir(user.path()) else {
                continue;
            };
            for object in objects.flatten() {
                let name = object.file_name().to_string_lossy().into_owned();
                if object.path().is_file() && uuid::Uuid::parse_str(&name).is_ok() {
                    keys.insert(format!(
                        "{prefix}/{}/{name}",
                        user.file_name().to_string_lossy()
                    ));
                }
            }
        }
    }
    Ok(keys)
}

/// Attempts by route and outcome: `201`, `503 SERVICE_UNAVAILABLE`, `no answer`, ...
pub fn outcomes(history: &History) -> BTreeMap<&'static str, BTreeMap<String, u64>> {
    let mut counts: BTreeMap<&'static str, BTreeMap<String, u64>> = BTreeMap::new();
    for attempt in &history.attempts {
        let route = history.ops[attempt.op].kind.route();
        let label = match (&attempt.ending, attempt.status, &attempt.code) {
            (workload::Ending::Lost, _, _) => "no answer".to_owned(),
            (workload::Ending::Broken(_), _, _) => "broken".to_owned(),
            (_, Some(status), None) if attempt.replayed => format!("{status} replayed"),
            (_, Some(status), Some(code)) => format!("{status} {code}"),
            (_, Some(status), None) => status.to_string(),
            (_, None, Some(_)) => "invocation error".to_owned(),
            (_, None, None) => "?".to_owned(),
        };
        *counts.entry(route).or_default().entry(label).or_insert(0) += 1;
    }
    counts
}

fn progress(message: &str) {
    eprintln!("[chaos] {message}");
}
