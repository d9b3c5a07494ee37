//! `make bench`: the Lambda functions measured as a user meets them, side by side with
//! the same request sent straight to PostgREST (the floor no function can beat).
//!
//! `scripts/bench.sh` builds the binaries, starts a stack of the bench's own (its own
//! database with bootstrap and migrations, its own PostgREST and JWT secret) and runs
//! this tool, which:
//!
//! 1. raises every rate limit in that database (so hundreds of writes by one user are
//!    counted but never refused) and seeds the small scale ([`seed`]);
//! 2. measures every case of [`cases::CASES`]: cold start (median of `BENCH_COLD_RUNS`
//!    fresh processes), warm p50/p99 (`BENCH_ITERATIONS` invocations after
//!    `BENCH_WARMUP`, in one process), the floor's p50/p99 (as many requests straight to
//!    PostgREST with one keep-alive reqwest client, as the same user, same token), peak
//!    RSS and binary size (see [`measure`]). The functions run under a Lambda Runtime API
//!    emulator ([`emulator`]) exactly as on Lambda: the real binary, its runtime loop,
//!    `/next` and `/response` over HTTP;
//! 3. runs the memory cases `BENCH_LONG` invocations in one process (VmRSS at 1,000 and
//!    at the end);
//! 4. grows the data to the large scale and measures the size-dependent cases again;
//! 5. prints the markdown tables ([`report`]) and writes them to `BENCH_OUTPUT`.
//!
//! It exits non-zero only when something could not be measured: a function answering
//! non-2xx, crashing or failing its cold start, PostgREST refusing a floor request.
//!
//! Configuration is by environment ([`settings::USAGE`]); the script sets the stack's part.

mod cases;
mod chaos;
mod emulator;
mod error;
mod event;
mod function;
mod identity;
mod lambda;
mod measure;
mod report;
mod seed;
mod settings;
mod token;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use cases::{Caller, Case, Fixtures, CASES};
use error::{bail, Context, Result};
use event::{EventTemplate, HttpRequest};
use function::Launcher;
use measure::{FloorRequest, Stats};
use report::{
    thousands, CaseRow, Machine, MemoryRow, Report, ScalePoint, ScaleRow, SessionCheckRow,
};
use settings::{Settings, MEMORY_SHORT, USAGE};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let lambda_mode = std::env::args().nth(1).as_deref() == Some("lambda");
    if std::env::args().skip(1).any(|a| a == "-h" || a == "--help") {
        print!("{USAGE}");
        if lambda_mode {
            print!("\n{}", lambda::USAGE);
        }
        return ExitCode::SUCCESS;
    }
    if std::env::args().nth(1).as_deref() == Some("chaos") {
        if std::env::args().skip(2).any(|a| a == "--functions") {
            println!("{}", chaos::FUNCTIONS.join(" "));
            return ExitCode::SUCCESS;
        }
        return match chaos::run().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("[chaos] error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if lambda_mode {
        // The binaries of the Lambda-shaped cases, for scripts/bench.sh to build.
        if std::env::args().skip(2).any(|a| a == "--functions") {
            println!("{}", lambda::functions().join(" "));
            return ExitCode::SUCCESS;
        }
        return match lambda::run().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("[bench] error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    // The binaries the cases and the sign-in answers run, for scripts/bench.sh to build
    // only those.
    if std::env::args().skip(1).any(|a| a == "--functions") {
        let mut functions: Vec<&str> = CASES.iter().map(|c| c.function).collect();
        functions.extend(identity::FUNCTIONS);
        functions.sort_unstable();
        functions.dedup();
        println!("{}", functions.join(" "));
        return ExitCode::SUCCESS;
    }
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("[bench] error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<()> {
    let started = Instant::now();
    let settings = Settings::from_env()?;
    let selected: Vec<&Case> = CASES.iter().filter(|c| settings.selects(c)).collect();
    if selected.is_empty() {
        let names: Vec<&str> = CASES.iter().map(|c| c.name).collect();
        bail!(
            "BENCH_CASES selects no case; the cases are: {}",
            names.join(", ")
        );
    }

    let signer = token::Signer::new(
        &settings.jwt_secret,
        format!("{}/auth/v1", settings.supabase_url),
    );
    std::fs::create_dir_all(&settings.log_dir)
        .context(format!("creating {}", settings.log_dir.display()))?;
    let share = settings
        .memory_mb
        .map(crate::function::CpuShare::create)
        .transpose()?;
    let launcher = Launcher::new(
        settings.functions_dir.clone(),
        function_env(&settings, &signer)?,
        settings.log_dir.clone(),
    )
    .with_cpu_share(share);
    for case in &selected {
        launcher.binary_size(case.function)?;
    }
    let tokens = Tokens::mint(&signer)?;
    let fixtures = Fixtures::seeded();
    let prepared = selected
        .iter()
        .map(|case| Prepared::new(case, &fixtures, &tokens, &settings))
        .collect::<Result<Vec<_>>>()?;

    let db = seed::Database::connect(&settings.database_url).await?;
    let raised = db.raise_rate_limits().await?;
    let postgres_version = db.server_version().await?;
    progress("seeding the small scale");
    let t = Instant::now();
    db.seed_small().await?;
    let small_scale = describe(&db.counts().await?);
    progress(&format!("seeded {small_scale} in {:.1} s", secs(t)));

    let mut bench = Bench {
        settings: &settings,
        launcher,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_idle_timeout(Duration::from_secs(90))
            .build()
            .context("building the floor's HTTP client")?,
        warnings: Vec::new(),
    };
    let mut cases = Vec::new();
    let mut scales = Vec::new();
    for p in &prepared {
        let (row, point) = bench.case(p).await?;
        cases.push(row);
        if p.case.at_large_scale {
            scales.push((
                p,
                ScaleRow {
                    name: p.case.name,
                    small: point,
                    large: None,
                },
            ));
        }
    }
    let session_check = bench.session_check(&db, &prepared).await?;
    let mut memory = Vec::new();
    for p in prepared.iter().filter(|p| p.case.memory) {
        memory.push(bench.memory(p).await?);
    }
    let enumeration = bench.enumeration(&db).await?;

    let mut large_scale = None;
    if settings.large && !scales.is_empty() {
        progress("growing the data to the large scale");
        let t = Instant::now();
        db.grow_to_large(progress).await?;
        let described = describe(&db.counts().await?);
        progress(&format!("seeded {described} in {:.0} s", secs(t)));
        for (p, row) in &mut scales {
            row.large = Some(bench.point(p).await?.scale);
        }
        large_scale = Some(described);
    }

    let notes = notes(&settings, &postgres_version, raised, started.elapsed());
    let report = Report {
        machine: Machine::describe(settings.commit.clone()),
        iterations: settings.iterations,
        notes,
        small_scale,
        large_scale,
        cases,
        scales: scales.into_iter().map(|(_, row)| row).collect(),
        memory,
        session_check,
        enumeration,
        warnings: bench.warnings,
    };
    let text = report.render();
    println!("{text}");
    if let Some(dir) = settings.output.parent() {
        std::fs::create_dir_all(dir).context(format!("creating {}", dir.display()))?;
    }
    std::fs::write(&settings.output, &text)
        .context(format!("writing {}", settings.output.display()))?;
    progress(&format!("written to {}", settings.output.display()));
    Ok(())
}

/// A case's latencies at one scale: the warm function's and the floor's.
#[derive(Default)]
struct Samples {
    warm: Vec<Duration>,
    floor: Option<Vec<Duration>>,
    rows: Option<u64>,
    peak_rss: u64,
}

impl Samples {
    /// Pools another series of the same case.
    fn extend(&mut self, more: Samples) {
        self.warm.extend(more.warm);
        if let Some(floor) = more.floor {
            self.floor.get_or_insert_with(Vec::new).extend(floor);
        }
        self.rows = more.rows;
        self.peak_rss = self.peak_rss.max(more.peak_rss);
    }
}

/// The tokens of the seeded callers.
struct Tokens {
    a: String,
    b: String,
    writer: String,
}

impl Tokens {
    /// A and the writer have the application role `user`; B is an admin (users.read).
    fn mint(signer: &token::Signer) -> Result<Self> {
        let user = |n: i64, role: &str| signer.user(&seed::user_id(n), &seed::user_email(n), role);
        Ok(Self {
            a: user(seed::CALLER_A, "user")?,
            b: user(seed::CALLER_B, "admin")?,
            writer: user(seed::WRITER, "user")?,
        })
    }

    fn of(&self, caller: Caller) -> Option<&str> {
        match caller {
            Caller::Nobody => None,
            Caller::A => Some(&self.a),
            Caller::B => Some(&self.b),
            Caller::Writer => Some(&self.writer),
        }
    }
}

/// A case with its templates filled in: the event to send and the floor request.
struct Prepared<'a> {
    case: &'a Case,
    event: EventTemplate,
    floor: Option<FloorRequest>,
}

impl<'a> Prepared<'a> {
    fn new(
        case: &'a Case,
        fixtures: &Fixtures,
        tokens: &Tokens,
        settings: &Settings,
    ) -> Result<Self> {
        let token = tokens.of(case.caller);
        let path = fixtures.expand(case.path)?;
        let query = fixtures.expand(case.query)?;
        let body = case.body.map(|b| fixtures.expand(b)).transpose()?;
        let event = EventTemplate::new(&HttpRequest {
            method: case.method,
            route: case.route,
            path: &path,
            query: &query,
            body: body.as_deref(),
            bearer_token: token,
        })
        .context(case.name)?;
        let floor = match &case.floor {
            None => None,
            Some(floor) => Some(FloorRequest::new(
                floor.method,
                format!(
                    "{}{}",
                    settings.rest_url,
                    fixtures.expand(floor.path_and_query)?
                ),
                token,
                &settings.anon_key,
                floor.headers,
                floor.body.map(|b| fixtures.expand(b)).transpose()?,
            )?),
        };
        Ok(Self { case, event, floor })
    }
}

/// What the measurements share: the settings, the function launcher, the floor's
/// client, and the warnings for the report.
struct Bench<'a> {
    settings: &'a Settings,
    launcher: Launcher,
    client: reqwest::Client,
    warnings: Vec<String>,
}

/// A case's warm and floor series at the current scale.
struct Point {
    warm: Stats,
    floor: Option<Stats>,
    peak_rss: u64,
    scale: ScalePoint,
}

impl Bench<'_> {
    /// Everything the main table shows of one case.
    async fn case(&mut self, p: &Prepared<'_>) -> Result<(CaseRow, ScalePoint)> {
        let case = p.case;
        progress(&format!("{}: cold starts", case.name));
        let cold = measure::cold_starts(
            &self.launcher,
            case.function,
            &p.event,
            self.settings.cold_runs,
        )
        .await
        .context(case.name)?;
        let point = self.point(p).await?;
        let row = CaseRow {
            name: case.name,
            function: case.function,
            caller: case.caller.label(),
            cold_median: measure::median(cold),
            warm: point.warm,
            floor: point.floor,
            peak_rss: point.peak_rss,
            binary_size: self.launcher.binary_size(case.function)?,
        };
        Ok((row, point.scale))
    }

    /// The warm series, then the floor's, at the data as it is now.
    async fn point(&mut self, p: &Prepared<'_>) -> Result<Point> {
        let samples = self.samples(p).await?;
        let warm = Stats::of(samples.warm);
        let floor = samples.floor.map(Stats::of);
        Ok(Point {
            warm,
            floor,
            peak_rss: samples.peak_rss,
            scale: ScalePoint {
                rows: samples.rows,
                warm,
                floor,
            },
        })
    }

    /// The warm series' and the floor's latencies, at the data as it is now.
    async fn samples(&mut self, p: &Prepared<'_>) -> Result<Samples> {
        let case = p.case;
        let series = self.settings.series();
        progress(&format!("{}: warm", case.name));
        let warm = measure::warm(&self.launcher, case.function, &p.event, series)
            .await
            .context(case.name)?;
        let rows = warm.last.total();
        let floor = match &p.floor {
            None => None,
            Some(request) => {
                progress(&format!("{}: floor", case.name));
                let floor = measure::floor(&self.client, request, series)
                    .await
                    .context(format!("{} (floor)", case.name))?;
                if let (Some(function_rows), Some(floor_rows)) = (rows, floor.total) {
                    if function_rows != floor_rows {
                        self.warnings.push(format!(
                            "{}: the function saw {function_rows} rows, its floor {floor_rows}: the floor may no longer be the handler's request (tools/bench/src/cases.rs)",
                            case.name
                        ));
                    }
                }
                Some(floor.latencies)
            }
        };
        Ok(Samples {
            warm: warm.latencies,
            floor,
            rows,
            peak_rss: warm.peak_rss,
        })
    }

    /// The selected cases with the request gate's session check and without it, in
    /// alternating rounds whose samples are pooled (the machine's drift meets both
    /// alike); the check is restored whatever happens.
    async fn session_check(
        &mut self,
        db: &seed::Database,
        prepared: &[Prepared<'_>],
    ) -> Result<Vec<SessionCheckRow>> {
        const ROUNDS: usize = 3;
        let mut saved = None;
        let mut rows = Vec::new();
        for p in prepared.iter().filter(|p| {
            self.settings
                .session_check_cases
                .iter()
                .any(|n| n == p.case.name)
        }) {
            let (mut with, mut without) = (Samples::default(), Samples::default());
            for round in 1..=ROUNDS {
                progress(&format!(
                    "{}: with the session check ({round}/{ROUNDS})",
                    p.case.name
                ));
                with.extend(self.samples(p).await?);
                db.session_check(false, &mut saved).await?;
                progress(&format!(
                    "{}: without the session check ({round}/{ROUNDS})",
                    p.case.name
                ));
                let off = self.samples(p).await;
                db.session_check(true, &mut saved).await?;
                without.extend(off?);
            }
            rows.push(SessionCheckRow {
                name: p.case.name,
                with: (Stats::of(with.warm), with.floor.map(Stats::of)),
                without: (Stats::of(without.warm), without.floor.map(Stats::of)),
            });
        }
        Ok(rows)
    }

    /// The answers that must not tell accounts apart, with the default answer floor and
    /// without one.
    async fn enumeration(&mut self, db: &seed::Database) -> Result<Vec<identity::EnumerationRow>> {
        let samples = self.settings.enumeration_samples;
        if samples == 0 {
            return Ok(Vec::new());
        }
        let addresses = identity::Addresses {
            known: db
                .account_with_password("the known account's password")
                .await?,
        };
        let mut rows = Vec::new();
        // The functions' default floor (not set), then none.
        for floor in [None, Some(0)] {
            progress(&format!(
                "sign-in answers, {samples} per address kind, floor {}",
                floor.map_or("default".to_owned(), |f| format!("{f} ms"))
            ));
            rows.extend(identity::enumeration(&self.launcher, &addresses, samples, floor).await?);
        }
        Ok(rows)
    }

    /// VmRSS after 1,000 and after `BENCH_LONG` warm invocations.
    async fn memory(&mut self, p: &Prepared<'_>) -> Result<MemoryRow> {
        let long = self.settings.long;
        progress(&format!(
            "{}: memory over {} invocations",
            p.case.name,
            thousands(long as u64)
        ));
        let t = Instant::now();
        let mut checkpoints = vec![MEMORY_SHORT];
        if long > MEMORY_SHORT {
            checkpoints.push(long);
        }
        let readings = measure::memory_growth(
            &self.launcher,
            p.case.function,
            &p.event,
            &checkpoints,
            |n| progress(&format!("  {} invocations", thousands(n as u64))),
        )
        .await
        .context(p.case.name)?;
        progress(&format!("  done in {:.0} s", secs(t)));
        Ok(MemoryRow {
            name: p.case.name,
            readings,
        })
    }
}

/// What every function is configured with, as template.yaml and scripts/dev.sh set it
/// (plain variables instead of Secrets Manager ARNs).
fn function_env(settings: &Settings, signer: &token::Signer) -> Result<Vec<(String, String)>> {
    // The stack's own key when the script made one: the Auth stand-in compares the
    // apikey of an admin call with it as Supabase's gateway does.
    let service_role = match std::env::var("SUPABASE_SERVICE_ROLE_KEY") {
        Ok(key) if !key.trim().is_empty() => key,
        _ => signer.service_role()?,
    };
    let vars = [
        ("SUPABASE_URL", settings.supabase_url.clone()),
        ("SUPABASE_REST_URL", settings.rest_url.clone()),
        ("SUPABASE_ANON_KEY", settings.anon_key.clone()),
        ("SUPABASE_JWT_SECRET", settings.jwt_secret.clone()),
        ("SUPABASE_SERVICE_ROLE_KEY", service_role),
        ("ALLOWED_ORIGINS", "http://localhost:3000".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
        ("TZ", ":UTC".to_owned()),
        ("RUST_LOG", "warn".to_owned()),
        // The 5 s default would turn the slowest large-scale requests into 503s; the
        // bench measures how long they take instead.
        ("UPSTREAM_TIMEOUT_MS", "30000".to_owned()),
    ];
    Ok(vars.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// The method, for the report's header.
fn notes(
    settings: &Settings,
    postgres_version: &str,
    raised_rules: u64,
    elapsed: Duration,
) -> Vec<String> {
    let profile = settings
        .functions_dir
        .file_name()
        .map_or("?".into(), |n| n.to_string_lossy().into_owned());
    vec![
        format!(
            "Functions: the `{profile}` binaries in `{}`, each run as on Lambda under a Runtime API emulator (tools/bench/src/emulator.rs) with AWS_LAMBDA_FUNCTION_MEMORY_SIZE={} and RUST_LOG=warn (so logging does not dominate); {}",
            settings.functions_dir.display(),
            settings.memory_mb.unwrap_or(128),
            match settings.memory_mb {
                None => "no CPU or memory limit is applied.".to_owned(),
                Some(mb) => format!(
                    "each process confined to {mb} MB's CPU share through a cgroup quota ({} µs of every {} µs, {mb}/{} of a vCPU); no memory limit.",
                    crate::function::CpuShare::quota_us(mb),
                    crate::function::CpuShare::PERIOD_US,
                    crate::function::CpuShare::FULL_VCPU_MB,
                ),
            }
        ),
        format!(
            "Cold start: spawn to response, first event already queued, median of {} fresh processes (binaries in the page cache). Warm: event available while the function polls /next, to its response read; p50/p99 of {} invocations after {} warm-up ones, in one process. Peak RSS: VmHWM after the warm run.",
            settings.cold_runs, settings.iterations, settings.warmup
        ),
        format!(
            "Floor: the main PostgREST request of the handler (tools/bench/src/cases.rs), sent straight to PostgREST with one keep-alive reqwest client, as the same user with the same token; p50/p99 of {} requests after {} warm-up ones.",
            settings.iterations, settings.warmup
        ),
        format!(
            "A series that would take longer than {} s stops there (its warm-up at a tenth of that); its count is then shown as (n=...) next to its p99. The functions run with UPSTREAM_TIMEOUT_MS=30000 instead of the default 5000, so a slow query is measured rather than answered 503.",
            settings.series_budget.as_secs()
        ),
        format!(
            "Stack: PostgreSQL {postgres_version} and {} on this machine, sharing its CPUs with the function and the bench process (one tokio thread). In the bench database every rate limit ({raised_rules} rules) was raised to {} hits per window (the most `rate_limit_rules.max_hits` allows), so the writes are counted but never refused.",
            settings.postgrest_version,
            thousands(seed::RATE_LIMIT_CEILING as u64)
        ),
        format!(
            "Data: seeded with one INSERT ... SELECT per table and step (tools/bench/src/seed.rs); small-scale users through the sign-up triggers, the large scale's filler users in bulk with the rows those triggers write; VACUUM ANALYZE after each scale. Memory: VmRSS after 1,000 and after {} warm invocations in one process.",
            thousands(settings.long as u64)
        ),
        format!(
            "Total time of the run (without the build): {:.0} s.",
            elapsed.as_secs_f64()
        ),
    ]
}

fn describe(counts: &seed::Counts) -> String {
    format!(
        "{} projects, {} users, {} workspaces",
        thousands(counts.projects as u64),
        thousands(counts.users as u64),
        thousands(counts.workspaces as u64)
    )
}

fn progress(message: &str) {
    eprintln!("[bench] {message}");
}

fn secs(since: Instant) -> f64 {
    since.elapsed().as_secs_f64()
}
