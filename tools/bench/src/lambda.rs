//! `make bench-lambda`: the functions measured where Lambda makes them slow, at the CPU
//! share of each memory size, over TLS, with the tokens Supabase issues today.
//!
//! `scripts/bench.sh` (with `BENCH_LAMBDA=1`) starts the bench's stack plus a TLS front
//! (Debian's nginx with a CA made for the run: one HTTPS origin for the project,
//! `/rest/v1/` to PostgREST and `/auth/v1/` to the Auth stand-in and its JWKS, and one for
//! Secrets Manager, moto) and runs `bench lambda`, which:
//!
//! 1. stores the service role key and the JWT secret in Secrets Manager and configures
//!    every function as template.yaml does: the two secrets' ARNs (read over TLS at cold
//!    start), `SUPABASE_URL` the TLS origin (PostgREST and the JWKS behind it), the CA
//!    trusted through `EXTRA_CA_CERTS`, logs at Lambda's INFO level in JSON;
//! 2. keeps PostgREST warm with a steady background load through the same TLS front (a
//!    thread of its own, `BENCH_BACKGROUND_RPS` requests a second), as production traffic
//!    keeps it: an idle PostgREST answers its next request tens of milliseconds slower;
//! 3. for each memory size (`BENCH_MEMORY_SIZES`), each function process confined to
//!    that size's CPU share by a cgroup quota ([`crate::function::CpuShare`]), and each
//!    case of [`LAMBDA_CASES`] (ES256 tokens from the JWKS by default, HS256 as the
//!    legacy case): the cold start (spawn to first answer, median of `BENCH_COLD_RUNS`,
//!    with the CPU it used), `BENCH_CPU_INVOCATIONS` warm invocations back to back (p50,
//!    p99, and the CPU time per invocation as the kernel's scheduler counted it for the
//!    group, in nanoseconds, with the periods the quota throttled), peak RSS, and two
//!    floors over the same TLS front: the plain PostgREST request a frontend would send
//!    (supabase-js's `from(..).select(..)`) and the handler's own request;
//! 4. prints the tables and the issue's targets, met or missed by how much, and writes
//!    them to `BENCH_OUTPUT` (default `.local/bench-lambda.md`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::cases::{Caller, Fixtures, CASES};
use crate::emulator::Emulator;
use crate::error::{bail, Context, Result};
use crate::event::{EventTemplate, HttpRequest};
use crate::function::{CpuShare, Launcher};
use crate::measure::{self, FloorRequest, Instance, Stats};
use crate::report::{ms, thousands, Machine};
use crate::settings::{self, number, Settings};
use crate::{seed, token};

pub const USAGE: &str = "\
bench lambda: the Lambda-shaped mode (make bench-lambda). Besides the stack variables of
`bench --help`, scripts/bench.sh sets:
  BENCH_TLS_SUPABASE_URL  the project's HTTPS origin (nginx: /rest/v1/, /auth/v1/)
  BENCH_TLS_SECRETS_URL   Secrets Manager over HTTPS
  BENCH_CA_FILE           the run's CA certificate (the functions get EXTRA_CA_CERTS)
  BENCH_SIGNING_KEY, BENCH_SIGNING_KID  the Auth stand-in's ES256 signing key and kid
Optional:
  BENCH_MEMORY_SIZES      comma-separated memory sizes (default 128,512,1769)
  BENCH_CPU_INVOCATIONS   warm invocations per case and size, timed and CPU-counted
                          (default 2000)
  BENCH_COLD_RUNS         fresh processes per cold start median (default 10)
  BENCH_WARMUP            untimed warm invocations first (default 20)
  BENCH_BACKGROUND_RPS    the background load on PostgREST (default 50; 0: none)
  BENCH_CASES             comma-separated case names (default: all of them)
";

/// Which key signs the case's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    /// The JWKS's ES256 key (projects with asymmetric signing keys: today's default).
    Es256,
    /// The legacy HS256 JWT secret.
    Hs256,
    /// No token (a public route).
    None,
}

impl Signing {
    fn label(self) -> &'static str {
        match self {
            Self::Es256 => "ES256 (JWKS)",
            Self::Hs256 => "HS256",
            Self::None => "-",
        }
    }
}

/// A case of the Lambda-shaped bench: one of [`CASES`]'s events, signed with `signing`,
/// and the plain request a frontend would send for the same answer.
pub struct LambdaCase {
    pub name: &'static str,
    /// The [`CASES`] entry whose event is sent (and whose floor is the handler's request).
    pub base: &'static str,
    pub signing: Signing,
    /// None for a route without an upstream request.
    pub plain: Option<crate::cases::Floor>,
}

const PROJECT_LIST: &str = "/projects?select=${project_columns}&workspace_id=eq.${workspace_a}&order=created_at.desc,id.desc&limit=20&offset=0";

/// supabase-js's `from('projects').select(..).eq('workspace_id', ..)` with its count.
const PLAIN_LIST: crate::cases::Floor = crate::cases::Floor {
    method: "GET",
    path_and_query: PROJECT_LIST,
    body: None,
    headers: &[("Prefer", "count=exact")],
};

pub const LAMBDA_CASES: &[LambdaCase] = &[
    // The Runtime API loop and the pipeline alone (no token, no upstream): what every
    // invocation costs before it does anything.
    LambdaCase {
        name: "health",
        base: "health",
        signing: Signing::None,
        plain: None,
    },
    LambdaCase {
        name: "list-projects",
        base: "list-projects (one workspace)",
        signing: Signing::Es256,
        plain: Some(PLAIN_LIST),
    },
    LambdaCase {
        name: "list-projects (HS256)",
        base: "list-projects (one workspace)",
        signing: Signing::Hs256,
        plain: Some(PLAIN_LIST),
    },
    LambdaCase {
        name: "get-project",
        base: "get-project",
        signing: Signing::Es256,
        plain: Some(crate::cases::Floor {
            method: "GET",
            path_and_query: "/projects?select=${project_columns}&id=eq.${project_a}",
            body: None,
            headers: &[("Accept", "application/vnd.pgrst.object+json")],
        }),
    },
    LambdaCase {
        name: "create-project",
        base: "create-project",
        signing: Signing::Es256,
        plain: Some(crate::cases::Floor {
            method: "POST",
            path_and_query: "/projects?select=${project_columns}",
            body: Some(
                r#"{"workspace_id":"${workspace_writer}","name":"Bench project","description":"Created by make bench"}"#,
            ),
            headers: &[
                ("Accept", "application/vnd.pgrst.object+json"),
                ("Prefer", "return=representation"),
            ],
        }),
    },
];

/// The functions the Lambda-shaped cases run.
pub fn functions() -> Vec<&'static str> {
    let mut names: Vec<&str> = LAMBDA_CASES
        .iter()
        .filter_map(|c| CASES.iter().find(|b| b.name == c.base))
        .map(|b| b.function)
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

struct LambdaSettings {
    sizes: Vec<u32>,
    tls_url: String,
    secrets_url: String,
    ca_file: String,
    signing_key: String,
    signing_kid: String,
    invocations: usize,
    background_rps: u32,
}

impl LambdaSettings {
    fn from_env() -> Result<Self> {
        let required = |name: &str| settings::required(name, "make bench-lambda");
        let sizes = settings::optional("BENCH_MEMORY_SIZES")
            .unwrap_or_else(|| "128,512,1769".into())
            .split(',')
            .map(|s| {
                s.trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|mb| (128..=10_240).contains(mb))
                    .context(format!(
                        "BENCH_MEMORY_SIZES: {s:?} is not a Lambda memory size (128 to 10240)"
                    ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            sizes,
            tls_url: required("BENCH_TLS_SUPABASE_URL")?
                .trim_end_matches('/')
                .to_owned(),
            secrets_url: required("BENCH_TLS_SECRETS_URL")?,
            ca_file: required("BENCH_CA_FILE")?,
            signing_key: required("BENCH_SIGNING_KEY")?,
            signing_kid: required("BENCH_SIGNING_KID")?,
            invocations: number("BENCH_CPU_INVOCATIONS", 2000, 10)? as usize,
            background_rps: number("BENCH_BACKGROUND_RPS", 50, 0)? as u32,
        })
    }
}

/// One case at one memory size.
struct Row {
    case: &'static str,
    signing: Signing,
    cold: Duration,
    cold_cpu: Duration,
    warm: Stats,
    cpu_per_invocation: Duration,
    throttled_share: f64,
    peak_rss: u64,
    plain: Option<Stats>,
    handler_request: Option<Stats>,
}

pub async fn run() -> Result<()> {
    let started = Instant::now();
    let settings = Settings::from_env()?;
    let lambda = LambdaSettings::from_env()?;
    let selected: Vec<&LambdaCase> = LAMBDA_CASES
        .iter()
        .filter(|c| {
            settings
                .cases
                .as_ref()
                .is_none_or(|names| names.iter().any(|n| n == c.name))
        })
        .collect();
    if selected.is_empty() {
        let names: Vec<&str> = LAMBDA_CASES.iter().map(|c| c.name).collect();
        bail!(
            "BENCH_CASES selects no case; the cases are: {}",
            names.join(", ")
        );
    }
    std::fs::create_dir_all(&settings.log_dir)
        .context(format!("creating {}", settings.log_dir.display()))?;

    let ca = std::fs::read(&lambda.ca_file).context(format!("reading {}", lambda.ca_file))?;
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).context("the run's CA")?)
        .timeout(Duration::from_secs(30))
        .pool_idle_timeout(Duration::from_secs(90))
        .build()
        .context("building the floor's HTTP client")?;

    let issuer = format!("{}/auth/v1", lambda.tls_url);
    let hs256 = token::Signer::new(&settings.jwt_secret, issuer.clone());
    let es256 = token::Signer::es256(
        std::path::Path::new(&lambda.signing_key),
        &lambda.signing_kid,
        issuer,
    )?;
    let service_role = hs256.service_role()?;
    let service_role_arn = create_secret(
        &client,
        &lambda.secrets_url,
        "bench/service-role-key",
        &service_role,
    )
    .await?;
    let jwt_secret_arn = create_secret(
        &client,
        &lambda.secrets_url,
        "bench/jwt-secret",
        &settings.jwt_secret,
    )
    .await?;

    let db = seed::Database::connect(&settings.database_url).await?;
    db.raise_rate_limits().await?;
    let postgres_version = db.server_version().await?;
    progress("seeding the small scale");
    db.seed_small().await?;
    let counts = db.counts().await?;

    let fixtures = Fixtures::seeded();
    let rest = format!("{}/rest/v1", lambda.tls_url);
    // The seeded callers' tokens, signed each way (`make bench`'s own tokens).
    let es256_tokens = crate::Tokens::mint(&es256)?;
    let hs256_tokens = crate::Tokens::mint(&hs256)?;

    // The background load: the plain list of caller A, through the TLS front.
    let background = Background::start(
        lambda.background_rps,
        FloorRequest::new(
            "GET",
            format!("{rest}{}", fixtures.expand(PROJECT_LIST)?),
            es256_tokens.of(Caller::A),
            &settings.anon_key,
            &[],
            None,
        )?,
        client.clone(),
    );

    let env = function_env(&settings, &lambda, &service_role_arn, &jwt_secret_arn);
    let mut tables = Vec::new();
    for &mb in &lambda.sizes {
        let launcher = Launcher::new(
            settings.functions_dir.clone(),
            env.clone(),
            settings.log_dir.clone(),
        )
        .with_cpu_share(Some(CpuShare::create(mb)?));
        let mut rows = Vec::new();
        for case in &selected {
            let base = CASES
                .iter()
                .find(|b| b.name == case.base)
                .context(format!("{}: no case {}", case.name, case.base))?;
            let token = match case.signing {
                Signing::Es256 => es256_tokens.of(base.caller),
                Signing::Hs256 => hs256_tokens.of(base.caller),
                Signing::None => None,
            };
            let event = EventTemplate::new(&HttpRequest {
                method: base.method,
                route: base.route,
                path: &fixtures.expand(base.path)?,
                query: &fixtures.expand(base.query)?,
                body: base
                    .body
                    .map(|b| fixtures.expand(b))
                    .transpose()?
                    .as_deref(),
                bearer_token: token,
            })
            .context(case.name)?;
            let floor = |f: &crate::cases::Floor| -> Result<FloorRequest> {
                FloorRequest::new(
                    f.method,
                    format!("{rest}{}", fixtures.expand(f.path_and_query)?),
                    token,
                    &settings.anon_key,
                    f.headers,
                    f.body.map(|b| fixtures.expand(b)).transpose()?,
                )
            };
            let plain = case.plain.as_ref().map(floor).transpose()?;
            let handler_request = base.floor.as_ref().map(floor).transpose()?;
            progress(&format!("{mb} MB, {}: cold starts", case.name));
            let (cold, cold_cpu) =
                cold_starts(&launcher, base.function, &event, settings.cold_runs)
                    .await
                    .context(case.name)?;
            progress(&format!(
                "{mb} MB, {}: {} warm invocations",
                case.name,
                thousands(lambda.invocations as u64)
            ));
            let warm = warm(
                &launcher,
                base.function,
                &event,
                settings.warmup,
                lambda.invocations,
            )
            .await
            .context(case.name)?;
            progress(&format!("{mb} MB, {}: floors", case.name));
            let series = measure::Series {
                warmup: settings.warmup,
                iterations: settings.iterations,
                budget: settings.series_budget,
            };
            let plain = match &plain {
                None => None,
                Some(request) => Some(Stats::of(
                    measure::floor(&client, request, series)
                        .await
                        .context(format!("{} (plain request)", case.name))?
                        .latencies,
                )),
            };
            let handler_request = match &handler_request {
                None => None,
                Some(request) => Some(Stats::of(
                    measure::floor(&client, request, series)
                        .await
                        .context(format!("{} (the handler's request)", case.name))?
                        .latencies,
                )),
            };
            rows.push(Row {
                case: case.name,
                signing: case.signing,
                cold,
                cold_cpu,
                warm: warm.stats,
                cpu_per_invocation: warm.cpu_per_invocation,
                throttled_share: warm.throttled_share,
                peak_rss: warm.peak_rss,
                plain,
                handler_request,
            });
        }
        tables.push((mb, rows));
    }
    let background = background.stop();

    let text = render(&Rendered {
        machine: Machine::describe(settings.commit.clone()),
        tables: &tables,
        cold_runs: settings.cold_runs,
        invocations: lambda.invocations,
        floor_requests: settings.iterations,
        warmup: settings.warmup,
        postgres_version: &postgres_version,
        postgrest_version: &settings.postgrest_version,
        scale: format!(
            "{} projects, {} users, {} workspaces",
            thousands(counts.projects as u64),
            thousands(counts.users as u64),
            thousands(counts.workspaces as u64)
        ),
        background,
        elapsed: started.elapsed(),
    });
    println!("{text}");
    if let Some(dir) = settings.output.parent() {
        std::fs::create_dir_all(dir).context(format!("creating {}", dir.display()))?;
    }
    std::fs::write(&settings.output, &text)
        .context(format!("writing {}", settings.output.display()))?;
    progress(&format!("written to {}", settings.output.display()));
    Ok(())
}

/// The function configuration of template.yaml, over TLS: secrets by ARN from Secrets
/// Manager, the project's HTTPS origin (PostgREST at `/rest/v1`, the JWKS at
/// `/auth/v1/.well-known/jwks.json`), the run's CA trusted, Lambda's log settings.
fn function_env(
    settings: &Settings,
    lambda: &LambdaSettings,
    service_role_arn: &str,
    jwt_secret_arn: &str,
) -> Vec<(String, String)> {
    [
        ("SUPABASE_URL", lambda.tls_url.clone()),
        // As template.yaml names them (the legacy names are read too).
        ("SUPABASE_PUBLISHABLE_KEY", settings.anon_key.clone()),
        (
            "SUPABASE_SECRET_KEY_SECRET_ARN",
            service_role_arn.to_owned(),
        ),
        ("SUPABASE_JWT_SECRET_ARN", jwt_secret_arn.to_owned()),
        ("SECRETS_MANAGER_ENDPOINT", lambda.secrets_url.clone()),
        ("EXTRA_CA_CERTS", lambda.ca_file.clone()),
        ("ALLOWED_ORIGINS", "http://localhost:3000".to_owned()),
        ("COOKIE_SECURE", "true".to_owned()),
        // What Lambda gives every function: the role's credentials, region, log level.
        ("AWS_ACCESS_KEY_ID", "ASIABENCHBENCHBENCH0".to_owned()),
        (
            "AWS_SECRET_ACCESS_KEY",
            "bench-secret-access-key-not-a-secret".to_owned(),
        ),
        ("AWS_SESSION_TOKEN", "bench-session-token".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
        ("AWS_LAMBDA_LOG_LEVEL", "INFO".to_owned()),
        ("TZ", ":UTC".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Stores `value` in Secrets Manager (moto, through the TLS front); its ARN.
async fn create_secret(
    client: &reqwest::Client,
    url: &str,
    name: &str,
    value: &str,
) -> Result<String> {
    let name = format!("{name}-{}", uuid::Uuid::new_v4().simple());
    let response = client
        .post(url)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", "secretsmanager.CreateSecret")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0",
        )
        .body(serde_json::json!({ "Name": name, "SecretString": value }).to_string())
        .send()
        .await
        .context("creating a secret in Secrets Manager")?;
    let status = response.status();
    let body: serde_json::Value = response
        .json()
        .await
        .context("reading Secrets Manager's answer")?;
    match body["ARN"].as_str() {
        Some(arn) if status.is_success() => Ok(arn.to_owned()),
        _ => bail!("Secrets Manager answered {status} to CreateSecret: {body}"),
    }
}

/// The median cold start (spawn to the first answer read) and the median CPU time the
/// process used for it.
async fn cold_starts(
    launcher: &Launcher,
    function: &str,
    event: &EventTemplate,
    runs: usize,
) -> Result<(Duration, Duration)> {
    let share = launcher.cpu_share().context("no CPU share")?;
    let mut wall = Vec::with_capacity(runs);
    let mut cpu = Vec::with_capacity(runs);
    for _ in 0..runs {
        // A fresh group of the same memory size: nothing of its quota used in the period
        // the process starts in (the previous process's last period has ended), as a new
        // Lambda execution environment starts.
        tokio::time::sleep(Duration::from_micros(2 * CpuShare::PERIOD_US)).await;
        let emulator = Emulator::start(function).await?;
        let invocation = emulator.enqueue(Bytes::from(event.render()));
        let before = share.reading()?;
        let spawned_at = Instant::now();
        let mut process = launcher.spawn(function, &emulator.address())?;
        let at = measure::cold_outcome(&mut process, invocation).await?;
        wall.push(at.duration_since(spawned_at));
        cpu.push(share.reading()?.used.saturating_sub(before.used));
        drop(process);
    }
    Ok((measure::median(wall), measure::median(cpu)))
}

struct WarmSeries {
    stats: Stats,
    cpu_per_invocation: Duration,
    /// Throttled periods per invocation.
    throttled_share: f64,
    peak_rss: u64,
}

/// `warmup` untimed invocations after the cold one, then `count` timed ones with the
/// group's CPU time read before and after.
async fn warm(
    launcher: &Launcher,
    function: &str,
    event: &EventTemplate,
    warmup: usize,
    count: usize,
) -> Result<WarmSeries> {
    let share = launcher.cpu_share().context("no CPU share")?;
    let mut instance = Instance::start(launcher, function).await?;
    for _ in 0..=warmup {
        instance.invoke(event.render()).await?;
    }
    let mut latencies = Vec::with_capacity(count);
    let events: Vec<Vec<u8>> = (0..count).map(|_| event.render()).collect();
    let before = share.reading()?;
    for event in events {
        latencies.push(instance.invoke(event).await?.latency);
    }
    let after = share.reading()?;
    let used = after.used.saturating_sub(before.used);
    Ok(WarmSeries {
        stats: Stats::of(latencies),
        cpu_per_invocation: used / count as u32,
        throttled_share: (after.throttled_periods - before.throttled_periods) as f64 / count as f64,
        peak_rss: instance.memory()?.peak,
    })
}

/// Steady requests on their own thread and runtime, so they never share the measuring
/// thread.
struct Background {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    sent: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    rps: u32,
}

struct BackgroundSummary {
    rps: u32,
    sent: u64,
    failed: u64,
}

impl Background {
    fn start(rps: u32, request: FloorRequest, client: reqwest::Client) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let thread = (rps > 0).then(|| {
            let (stop, sent, failed) = (stop.clone(), sent.clone(), failed.clone());
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime for the background load");
                runtime.block_on(async move {
                    let mut tick =
                        tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rps)));
                    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    while !stop.load(Ordering::Relaxed) {
                        tick.tick().await;
                        let ok = measure::send_once(&client, &request).await.is_ok();
                        sent.fetch_add(1, Ordering::Relaxed);
                        if !ok {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            })
        });
        Self {
            stop,
            thread,
            sent,
            failed,
            rps,
        }
    }

    fn stop(mut self) -> BackgroundSummary {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        BackgroundSummary {
            rps: self.rps,
            sent: self.sent.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
        }
    }
}

struct Rendered<'a> {
    machine: Machine,
    tables: &'a [(u32, Vec<Row>)],
    cold_runs: usize,
    invocations: usize,
    floor_requests: usize,
    warmup: usize,
    postgres_version: &'a str,
    postgrest_version: &'a str,
    scale: String,
    background: BackgroundSummary,
    elapsed: Duration,
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn ratio(a: Duration, b: Duration) -> String {
    if b.is_zero() {
        return "-".into();
    }
    format!("{:.2}x", a.as_secs_f64() / b.as_secs_f64())
}

fn render(r: &Rendered<'_>) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "# make bench-lambda\n");
    let _ = writeln!(out, "{}\n", r.machine.render());
    for (mb, rows) in r.tables {
        let _ = writeln!(
            out,
            "## {mb} MB ({} µs of CPU every {} µs: {:.1}% of a vCPU)\n",
            CpuShare::quota_us(*mb),
            CpuShare::PERIOD_US,
            100.0 * CpuShare::quota_us(*mb) as f64 / CpuShare::PERIOD_US as f64
        );
        let _ = writeln!(
            out,
            "| case | token | cold start | its CPU | warm p50 | warm p99 | p99/p50 | CPU per warm invocation | throttled periods per invocation | peak RSS | plain request p50 (p99) | warm p50 / plain | the handler's request p50 (p99) |"
        );
        let _ = writeln!(
            out,
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for row in rows {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {:.3} | {} | {} | {} | {} |",
                row.case,
                row.signing.label(),
                ms(row.cold),
                ms(row.cold_cpu),
                ms(row.warm.p50),
                ms(row.warm.p99),
                ratio(row.warm.p99, row.warm.p50),
                us(row.cpu_per_invocation),
                row.throttled_share,
                mib(row.peak_rss),
                row.plain
                    .map_or("-".into(), |s| format!("{} ({})", ms(s.p50), ms(s.p99))),
                row.plain.map_or("-".into(), |s| ratio(row.warm.p50, s.p50)),
                row.handler_request.map_or("-".into(), |s| format!(
                    "{} ({})",
                    ms(s.p50),
                    ms(s.p99)
                )),
            );
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out, "## Targets (issue 25)\n");
    for line in targets(r.tables) {
        let _ = writeln!(out, "- {line}");
    }
    let _ = writeln!(out, "\n## How this was measured\n");
    let notes = [
        "Each function process runs in a cgroup with its memory size's CPU quota (128 MB: 7.2% of a vCPU per 100 ms period), joined right after spawning, each cold start in a period of its own; AWS_LAMBDA_FUNCTION_MEMORY_SIZE says the size. No memory limit.".to_owned(),
        "TLS: Debian's nginx in front of PostgREST, the Auth stand-in (the JWKS) and Secrets Manager (moto), with an ECDSA P-256 certificate from a CA made for the run; TLS 1.3, HTTP/1.1, keep-alive to the upstreams. The functions trust that CA through EXTRA_CA_CERTS besides their built-in roots.".to_owned(),
        "Configuration as template.yaml gives it: the service role key and the JWT secret by ARN, read from Secrets Manager over TLS at cold start; SUPABASE_URL is the TLS origin (PostgREST at /rest/v1, the JWKS at /auth/v1/.well-known/jwks.json); logs in JSON at INFO (AWS_LAMBDA_LOG_FORMAT, AWS_LAMBDA_LOG_LEVEL), read from stdout and stderr through pipes by the bench, as Lambda collects them.".to_owned(),
        format!(
            "Cold start: spawn to the first answer read, first event already queued, median of {} fresh processes; its CPU is the group's CPU time over the same interval (median). Warm: {} invocations back to back in one process after {} untimed ones; CPU per warm invocation is the group's CPU time over all of them (cgroup cpuacct.usage in nanoseconds, or cpu.stat usage_usec) divided by their number; throttled periods from the group's cpu.stat.",
            r.cold_runs, thousands(r.invocations as u64), r.warmup
        ),
        format!(
            "Floors, over the same TLS front with one keep-alive client trusting the same CA, as the same user with the same token, {} requests each: the plain request a frontend would send for the same answer (supabase-js `from(..).select(..)`, with `count=exact` for a list), and the handler's own request (the SQL function it calls, or its table read).",
            r.floor_requests
        ),
        format!(
            "PostgREST kept warm by a background load of {} requests a second (the plain list, through the TLS front, on a thread of its own): {} sent, {} failed.",
            r.background.rps,
            thousands(r.background.sent),
            r.background.failed
        ),
        format!(
            "Stack: PostgreSQL {}, {}, on this machine's 2 cores shared with the bench. Data: {}.",
            r.postgres_version, r.postgrest_version, r.scale
        ),
        format!(
            "Total time of the run (without the build): {:.0} s.",
            r.elapsed.as_secs_f64()
        ),
    ];
    for note in notes {
        let _ = writeln!(out, "- {note}");
    }
    out
}

/// The issue's targets against the run's numbers.
fn targets(tables: &[(u32, Vec<Row>)]) -> Vec<String> {
    let row = |mb: u32, case: &str| {
        tables
            .iter()
            .find(|(m, _)| *m == mb)
            .and_then(|(_, rows)| rows.iter().find(|r| r.case == case))
    };
    let verdict = |met: bool, by: String| {
        if met {
            "met".to_owned()
        } else {
            format!("missed by {by}")
        }
    };
    let mut lines = Vec::new();
    match row(128, "list-projects") {
        Some(r) => {
            let limit = Duration::from_millis(60);
            lines.push(format!(
                "128 MB, list-projects (TLS, ES256), cold start under 60 ms: {}, {}.",
                ms(r.cold),
                verdict(r.cold < limit, ms(r.cold.saturating_sub(limit)))
            ));
            let bound = r.warm.p50 * 4;
            lines.push(format!(
                "128 MB, list-projects, warm p99 under 4x its p50: p99 {} is {} p50, {}.",
                ms(r.warm.p99),
                ratio(r.warm.p99, r.warm.p50),
                verdict(r.warm.p99 < bound, ms(r.warm.p99.saturating_sub(bound)))
            ));
        }
        None => lines.push("128 MB list-projects was not measured in this run.".into()),
    }
    let limit = Duration::from_micros(150);
    for (mb, rows) in tables {
        for r in rows {
            lines.push(format!(
                "{mb} MB, {}: CPU per warm invocation under 0.15 ms: {}, {}.",
                r.case,
                us(r.cpu_per_invocation),
                verdict(
                    r.cpu_per_invocation < limit,
                    us(r.cpu_per_invocation.saturating_sub(limit))
                )
            ));
        }
    }
    match row(1769, "list-projects").and_then(|r| Some((r, r.plain?))) {
        Some((r, plain)) => {
            let bound = plain.p50.mul_f64(1.15);
            lines.push(format!(
                "1,769 MB, list-projects, warm p50 within 1.15x of the plain request: {} against {}, {}, {}.",
                ms(r.warm.p50),
                ms(plain.p50),
                ratio(r.warm.p50, plain.p50),
                verdict(r.warm.p50 <= bound, ms(r.warm.p50.saturating_sub(bound)))
            ));
        }
        None => lines.push("1,769 MB list-projects was not measured in this run.".into()),
    }
    lines
}

fn progress(message: &str) {
    eprintln!("[bench] {message}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_sends_a_bench_case_and_its_plain_request_expands() {
        let fixtures = Fixtures::seeded();
        for case in LAMBDA_CASES {
            let base = CASES.iter().find(|b| b.name == case.base);
            assert!(base.is_some(), "{}: no case {}", case.name, case.base);
            if let Some(plain) = &case.plain {
                for template in std::iter::once(plain.path_and_query).chain(plain.body) {
                    let expanded = fixtures.expand(template).unwrap();
                    assert!(!expanded.contains("${"), "{}: {expanded}", case.name);
                }
            }
            assert_eq!(
                case.signing == Signing::None,
                base.unwrap().caller == Caller::Nobody,
                "{}: a token exactly when the route wants a caller",
                case.name
            );
        }
        assert_eq!(
            functions(),
            ["create-project", "get-project", "health", "list-projects"]
        );
    }

    fn row(case: &'static str, cold_ms: u64, p50_ms: u64, p99_ms: u64, cpu_us: u64) -> Row {
        let stats = |p50: u64, p99: u64| Stats {
            p50: Duration::from_millis(p50),
            p99: Duration::from_millis(p99),
            count: 100,
        };
        Row {
            case,
            signing: Signing::Es256,
            cold: Duration::from_millis(cold_ms),
            cold_cpu: Duration::from_millis(1),
            warm: stats(p50_ms, p99_ms),
            cpu_per_invocation: Duration::from_micros(cpu_us),
            throttled_share: 0.0,
            peak_rss: 0,
            plain: Some(stats(4, 8)),
            handler_request: None,
        }
    }

    #[test]
    fn the_targets_say_met_or_by_how_much_they_were_missed() {
        let tables = vec![
            (128, vec![row("list-projects", 59, 5, 30, 100)]),
            (1769, vec![row("list-projects", 20, 5, 9, 200)]),
        ];
        let lines = targets(&tables);
        assert!(lines[0].ends_with("59.0 ms, met."), "{}", lines[0]);
        assert!(lines[1].contains("missed by 10.0 ms"), "{}", lines[1]);
        assert!(lines[2].ends_with("100.0 µs, met."), "{}", lines[2]);
        assert!(lines[3].contains("missed by 50.0 µs"), "{}", lines[3]);
        // 5 ms against 1.15 x 4 ms = 4.6 ms.
        assert!(
            lines[4].contains("1.25x, missed by 0.40 ms"),
            "{}",
            lines[4]
        );
        assert_eq!(
            targets(&[]),
            [
                "128 MB list-projects was not measured in this run.",
                "1,769 MB list-projects was not measured in this run."
            ]
        );
    }
}
