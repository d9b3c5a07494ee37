//! `make chaos` (issue 26, its first part): many instances of a function at once against
//! one database while its dependencies fail under them, and a checker over the history
//! that proves every acknowledged write.
//!
//! `scripts/bench.sh` (with `BENCH_CHAOS=1`) starts the bench's stack and runs `bench
//! chaos`, which for `CHAOS_SECONDS`:
//!
//! - runs `CHAOS_INSTANCES` create-project instances under their own Runtime API
//!   emulators, each serving one invocation at a time as Lambda runs them, as one
//!   signed-in editor creating projects in one workspace: every logical create has an
//!   `Idempotency-Key` and a name of its own, and is retried with the same key, as a
//!   client would, when the answer is a 503, a 409 `IDEMPOTENCY_IN_PROGRESS` or lost
//!   (the instance was killed); the functions run with `UPSTREAM_TIMEOUT_MS=1000`;
//! - injects faults at random times (seeded by `CHAOS_SEED`; printed): PostgREST paused
//!   (SIGSTOP, then SIGCONT after 0.3 to 2 s: requests already in Postgres commit while
//!   their answers are lost), PostgREST killed (SIGKILL) and started again after 0.2 to
//!   1 s with the same command line and environment ([`Postgrest`]), PostgREST's
//!   connections to Postgres ended (`pg_terminate_backend`), and a busy function instance
//!   killed in the middle of an invocation (SIGKILL; a fresh instance takes its place);
//! - then checks the history against the database: every acknowledged create exists,
//!   exactly once, under the id it was answered with; every retry of a key that was
//!   answered answered the same project; no key created more than one project; every
//!   answer is a 201, a 503 or a 409 with the error envelope, never a 500 or another
//!   status. A 201 with `Idempotent-Replayed: true` is counted apart: the retry of a create
//!   whose first answer was lost.
//!
//! It writes the report to `BENCH_OUTPUT` (default `.local/chaos.md`) and the history's
//! summary as JSON beside it, and exits non-zero when the checker found a violation.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::cases::Fixtures;
use crate::error::{bail, Context, Result};
use crate::event::{EventTemplate, HttpRequest};
use crate::function::Launcher;
use crate::measure::Instance;
use crate::report::{ms, thousands, Machine};
use crate::settings::Settings;
use crate::{seed, token};

/// The function the workload sends its writes to.
pub const FUNCTION: &str = "create-project";
/// Names of the run's projects start with this (and the key's first 12 hex digits).
const PREFIX: &str = "Chaos ";
/// Attempts per logical create before it is given up (and counted as unanswered).
const ATTEMPTS: usize = 8;

struct ChaosSettings {
    seconds: u64,
    instances: usize,
    seed: u64,
    postgrest_pid: u32,
}

impl ChaosSettings {
    fn from_env() -> Result<Self> {
        let optional = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let number = |name: &str, default: u64, min: u64| -> Result<u64> {
            match optional(name) {
                None => Ok(default),
                Some(v) => match v.trim().parse::<u64>() {
                    Ok(n) if n >= min => Ok(n),
                    _ => bail!("{name} must be a whole number of at least {min}"),
                },
            }
        };
        Ok(Self {
            seconds: number("CHAOS_SECONDS", 60, 5)?,
            instances: number("CHAOS_INSTANCES", 8, 1)? as usize,
            seed: match optional("CHAOS_SEED") {
                Some(_) => number("CHAOS_SEED", 0, 0)?,
                None => fastrand::u64(..),
            },
            postgrest_pid: number("CHAOS_POSTGREST_PID", 0, 1)
                .context("CHAOS_POSTGREST_PID: PostgREST's process (run it through `make chaos`)")?
                as u32,
        })
    }
}

/// One attempt of a logical create, as the client saw it.
#[derive(Debug, Clone)]
struct Attempt {
    key: String,
    /// The answer's status; none when there was no answer (the instance was killed).
    status: Option<u16>,
    /// `data.id` of a 2xx answer.
    project: Option<String>,
    /// `error.code` of an error answer; none when the body has no envelope.
    code: Option<String>,
    /// A 2xx with `Idempotent-Replayed: true`.
    replayed: bool,
    elapsed: Duration,
}

#[derive(Debug)]
struct Fault {
    at: Duration,
    what: String,
}

/// What the workers and the fault injector share (one thread: a `RefCell` suffices).
struct Shared {
    history: RefCell<Vec<Attempt>>,
    faults: RefCell<Vec<Fault>>,
    /// The process id of each worker's instance while an invocation is in flight.
    busy: RefCell<Vec<Option<u32>>>,
}

pub async fn run() -> Result<()> {
    let started = Instant::now();
    let settings = Settings::from_env()?;
    let chaos = ChaosSettings::from_env()?;
    progress(&format!(
        "seed {} ({} instances, {} s); CHAOS_SEED={} reproduces the fault schedule",
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
    let writer = signer.user(
        &seed::user_id(seed::WRITER),
        &seed::user_email(seed::WRITER),
        "user",
    )?;
    let workspace = Fixtures::seeded().expand("${workspace_writer}")?;

    // Configured as `make bench` configures the functions, but a paused PostgREST is a
    // 503 after a second, not a 30 s wait.
    let launcher = Launcher::new(
        settings.functions_dir.clone(),
        crate::function_env(&settings, &signer)?,
        settings.log_dir.clone(),
    )
    .with_env("UPSTREAM_TIMEOUT_MS", "1000");
    let shared = Shared {
        history: RefCell::default(),
        faults: RefCell::default(),
        busy: RefCell::new(vec![None; chaos.instances]),
    };
    let deadline = Instant::now() + Duration::from_secs(chaos.seconds);
    let rng = RefCell::new(fastrand::Rng::with_seed(chaos.seed));
    progress(&format!(
        "{} instances of {FUNCTION} for {} s, with faults",
        chaos.instances, chaos.seconds
    ));
    let workers =
        (0..chaos.instances).map(|w| worker(w, &launcher, &shared, deadline, &writer, &workspace));
    let postgrest = Postgrest::attach(chaos.postgrest_pid, &settings.log_dir, &settings.rest_url)?;
    let (results, injected) = tokio::join!(
        futures_util::future::join_all(workers),
        inject_faults(&shared, &db, &rng, &postgrest, deadline, started),
    );
    // PostgREST runs again whatever happened.
    let _ = signal(postgrest.pid(), "CONT");
    injected?;
    for result in results {
        result?;
    }

    progress("checking the history against the database");
    // The requests of the last pause may still be committing.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rows = db.projects_named(PREFIX).await?;
    let history = shared.history.into_inner();
    let faults = shared.faults.into_inner();
    let check = check(&history, &rows);
    let text = render(&Rendered {
        machine: Machine::describe(settings.commit.clone()),
        chaos: &chaos,
        history: &history,
        faults: &faults,
        check: &check,
        rows: rows.len(),
        elapsed: started.elapsed(),
    });
    println!("{text}");
    let output = settings.output.clone();
    if let Some(dir) = output.parent() {
        std::fs::create_dir_all(dir).context(format!("creating {}", dir.display()))?;
    }
    std::fs::write(&output, &text).context(format!("writing {}", output.display()))?;
    let summary = json!({
        "seed": chaos.seed,
        "seconds": chaos.seconds,
        "instances": chaos.instances,
        "outcomes": outcomes(&history),
        "faults": faults.iter().map(|f| json!({ "at_ms": f.at.as_millis() as u64, "what": f.what })).collect::<Vec<_>>(),
        "violations": check.violations,
        "acknowledged": check.acknowledged,
        "created_unacknowledged": check.created_unacknowledged,
    });
    let json_path = output.with_extension("json");
    std::fs::write(
        &json_path,
        serde_json::to_vec_pretty(&summary).unwrap_or_default(),
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

/// One instance's loop: logical creates until the deadline, each retried with its key
/// until it is answered (or [`ATTEMPTS`] run out).
async fn worker(
    w: usize,
    launcher: &Launcher,
    shared: &Shared,
    deadline: Instant,
    token: &str,
    workspace: &str,
) -> Result<()> {
    let mut instance = Instance::start(launcher, FUNCTION).await?;
    while Instant::now() < deadline {
        let key = uuid::Uuid::new_v4().to_string();
        let body = json!({
            "name": format!("{PREFIX}{}", &key[..12]),
            "description": "make chaos",
            "workspaceId": workspace,
        })
        .to_string();
        let event = EventTemplate::new(&HttpRequest {
            method: "POST",
            route: "/projects",
            path: "/projects",
            query: "",
            body: Some(&body),
            bearer_token: Some(token),
        })?
        .with_header("idempotency-key", &key);
        for n in 0..ATTEMPTS {
            let sent = Instant::now();
            shared.busy.borrow_mut()[w] = Some(instance.pid());
            let answer = instance.call(event.render()).await;
            shared.busy.borrow_mut()[w] = None;
            let elapsed = sent.elapsed();
            let (attempt, retry) = match answer {
                Ok(response) => {
                    let value: Value = serde_json::from_str(&response.body).unwrap_or(Value::Null);
                    let status = response.status;
                    let retry = matches!(status, 503 | 409);
                    (
                        Attempt {
                            key: key.clone(),
                            status: Some(status),
                            project: value["data"]["id"].as_str().map(str::to_owned),
                            code: value["error"]["code"].as_str().map(str::to_owned),
                            replayed: response.replayed,
                            elapsed,
                        },
                        retry,
                    )
                }
                Err(_) => {
                    // No answer: the instance is gone. A fresh one takes its place, and
                    // the client sends the same request again.
                    instance = Instance::start(launcher, FUNCTION).await?;
                    (
                        Attempt {
                            key: key.clone(),
                            status: None,
                            project: None,
                            code: None,
                            replayed: false,
                            elapsed,
                        },
                        true,
                    )
                }
            };
            shared.history.borrow_mut().push(attempt);
            if !retry {
                break;
            }
            // A client's backoff: 100 ms, doubling, at most 1 s (a 409 says Retry-After: 1).
            let backoff = Duration::from_millis(100 << n.min(4)).min(Duration::from_secs(1));
            tokio::time::sleep(backoff).await;
        }
    }
    Ok(())
}

/// Faults at random intervals until the deadline, each logged with its time.
async fn inject_faults(
    shared: &Shared,
    db: &seed::Database,
    rng: &RefCell<fastrand::Rng>,
    postgrest: &Postgrest,
    deadline: Instant,
    started: Instant,
) -> Result<()> {
    // The first second runs without faults (every instance has started).
    tokio::time::sleep(Duration::from_secs(1)).await;
    loop {
        let wait = Duration::from_millis(rng.borrow_mut().u64(300..2_500));
        tokio::time::sleep(wait).await;
        if Instant::now() >= deadline {
            return Ok(());
        }
        let at = started.elapsed();
        let kind = rng.borrow_mut().u8(0..4);
        let what = match kind {
            0 => {
                let pause = Duration::from_millis(rng.borrow_mut().u64(300..2_000));
                signal(postgrest.pid(), "STOP")?;
                tokio::time::sleep(pause).await;
                signal(postgrest.pid(), "CONT")?;
                format!("PostgREST paused for {}", ms(pause))
            }
            3 => {
                let down = Duration::from_millis(rng.borrow_mut().u64(200..1_000));
                let ready = postgrest.kill_and_restart(down).await?;
                format!(
                    "PostgREST killed, started again after {}, answering after {}",
                    ms(down),
                    ms(ready)
                )
            }
            1 => {
                let ended = db.terminate_postgrest_backends().await?;
                format!("PostgREST's {ended} connection(s) to Postgres ended")
            }
            _ => {
                let busy: Vec<u32> = shared.busy.borrow().iter().flatten().copied().collect();
                if busy.is_empty() {
                    continue;
                }
                let pid = busy[rng.borrow_mut().usize(..busy.len())];
                signal(pid, "KILL")?;
                format!("a busy {FUNCTION} instance killed (pid {pid})")
            }
        };
        shared.faults.borrow_mut().push(Fault { at, what });
    }
}

/// PostgREST as the script started it, and as this run starts it again: its command line
/// and environment read from `/proc` when the run begins, so a restart runs the same
/// binary with the same configuration on the same port. A PostgREST this run started is
/// killed when the run ends.
struct Postgrest {
    argv: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    pid: Cell<u32>,
    started: RefCell<Option<std::process::Child>>,
    log: std::path::PathBuf,
    url: String,
}

impl Postgrest {
    fn attach(pid: u32, log_dir: &Path, url: &str) -> Result<Self> {
        use std::os::unix::ffi::OsStrExt;
        let read = |what: &str| -> Result<Vec<OsString>> {
            let bytes = std::fs::read(format!("/proc/{pid}/{what}"))
                .context(format!("reading PostgREST's {what} (pid {pid})"))?;
            Ok(bytes
                .split(|b| *b == 0)
                .filter(|part| !part.is_empty())
                .map(|part| std::ffi::OsStr::from_bytes(part).to_owned())
                .collect())
        };
        let argv = read("cmdline")?;
        if argv.is_empty() {
            bail!("PostgREST (pid {pid}) has no command line");
        }
        let env = read("environ")?
            .into_iter()
            .filter_map(|pair| {
                let bytes = pair.as_bytes();
                let eq = bytes.iter().position(|b| *b == b'=')?;
                Some((
                    std::ffi::OsStr::from_bytes(&bytes[..eq]).to_owned(),
                    std::ffi::OsStr::from_bytes(&bytes[eq + 1..]).to_owned(),
                ))
            })
            .collect();
        Ok(Self {
            argv,
            env,
            pid: Cell::new(pid),
            started: RefCell::default(),
            log: log_dir.join("postgrest-restarted.log"),
            url: format!("{}/", url.trim_end_matches('/')),
        })
    }

    fn pid(&self) -> u32 {
        self.pid.get()
    }

    /// SIGKILL, `down` later the same command again; how long until it answered.
    async fn kill_and_restart(&self, down: Duration) -> Result<Duration> {
        let old = self.pid();
        signal(old, "KILL")?;
        if let Some(mut child) = self.started.borrow_mut().take() {
            let _ = child.wait();
        }
        // Gone, or a zombie its parent (the script) has not reaped: either way its port
        // is free.
        for _ in 0..200 {
            let state = std::fs::read_to_string(format!("/proc/{old}/stat")).unwrap_or_default();
            if state.is_empty() || state.split(") ").nth(1).is_some_and(|s| s.starts_with('Z')) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(down).await;
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(&self.log)
            .context(format!("opening {}", self.log.display()))?;
        let child = std::process::Command::new(&self.argv[0])
            .args(&self.argv[1..])
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting PostgREST again")?;
        self.pid.set(child.id());
        *self.started.borrow_mut() = Some(child);
        let started = Instant::now();
        let client = reqwest::Client::new();
        while started.elapsed() < Duration::from_secs(20) {
            if client.get(&self.url).send().await.is_ok() {
                return Ok(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        bail!(
            "PostgREST did not answer within 20 s of its restart; see {}",
            self.log.display()
        )
    }
}

impl Drop for Postgrest {
    fn drop(&mut self) {
        if let Some(mut child) = self.started.borrow_mut().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn signal(pid: u32, signal: &str) -> Result<()> {
    let status = std::process::Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .context("running kill")?;
    if !status.success() {
        bail!("kill -{signal} {pid} failed ({status})");
    }
    Ok(())
}

/// What the checker found.
#[derive(Debug, Default)]
struct Check {
    violations: Vec<String>,
    /// Logical creates answered 2xx at least once.
    acknowledged: usize,
    /// Logical creates whose project exists although no attempt was answered 2xx.
    created_unacknowledged: usize,
    /// Logical creates never answered 2xx and not created.
    not_created: usize,
}

/// The history against the rows the database holds.
fn check(history: &[Attempt], rows: &[(String, String)]) -> Check {
    let mut check = Check::default();
    let mut by_name: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (id, name) in rows {
        by_name.entry(name.as_str()).or_default().push(id.as_str());
    }
    let mut keys: BTreeMap<&str, Vec<&Attempt>> = BTreeMap::new();
    for attempt in history {
        keys.entry(attempt.key.as_str()).or_default().push(attempt);
        match (attempt.status, attempt.code.as_deref()) {
            (None, _) => {}
            (Some(200..=299), _) if attempt.project.is_some() => {}
            (Some(503), Some(_)) | (Some(409), Some("IDEMPOTENCY_IN_PROGRESS")) => {}
            (Some(status), code) => check.violations.push(format!(
                "key {}: answered {status} ({}) where only 201, 503 or 409 IDEMPOTENCY_IN_PROGRESS with the error envelope may come",
                attempt.key,
                code.unwrap_or("no error envelope")
            )),
        }
    }
    for (key, attempts) in &keys {
        let name = format!("{PREFIX}{}", &key[..12]);
        let created = by_name.get(name.as_str()).cloned().unwrap_or_default();
        if created.len() > 1 {
            check.violations.push(format!(
                "key {key}: {} projects for one Idempotency-Key: {}",
                created.len(),
                created.join(", ")
            ));
        }
        let answered: Vec<&str> = attempts
            .iter()
            .filter_map(|a| a.project.as_deref())
            .collect();
        match answered.first() {
            Some(first) => {
                check.acknowledged += 1;
                if answered.iter().any(|id| id != first) {
                    check.violations.push(format!(
                        "key {key}: its retries answered different projects: {}",
                        answered.join(", ")
                    ));
                }
                if !created.contains(first) {
                    check.violations.push(format!(
                        "key {key}: answered {first}, which the database does not hold"
                    ));
                }
            }
            None if created.is_empty() => check.not_created += 1,
            None => check.created_unacknowledged += 1,
        }
    }
    check
}

/// Attempts by outcome: `201`, `503 SERVICE_UNAVAILABLE`, `no answer`, ...
fn outcomes(history: &[Attempt]) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for attempt in history {
        let label = match (attempt.status, &attempt.code) {
            (None, _) => "no answer (instance killed)".to_owned(),
            (Some(status), None) if attempt.replayed => format!("{status} replayed"),
            (Some(status), Some(code)) => format!("{status} {code}"),
            (Some(status), None) => status.to_string(),
        };
        *counts.entry(label).or_insert(0) += 1;
    }
    counts
}

struct Rendered<'a> {
    machine: Machine,
    chaos: &'a ChaosSettings,
    history: &'a [Attempt],
    faults: &'a [Fault],
    check: &'a Check,
    rows: usize,
    elapsed: Duration,
}

fn render(r: &Rendered<'_>) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "# make chaos\n");
    let _ = writeln!(out, "{}\n", r.machine.render());
    let _ = writeln!(
        out,
        "Seed {} (`CHAOS_SEED={}` reproduces the fault schedule), {} instances of {FUNCTION}, {} s; {:.0} s in all.\n",
        r.chaos.seed,
        r.chaos.seed,
        r.chaos.instances,
        r.chaos.seconds,
        r.elapsed.as_secs_f64()
    );
    let mut latencies: Vec<Duration> = r
        .history
        .iter()
        .filter(|a| a.status.is_some())
        .map(|a| a.elapsed)
        .collect();
    latencies.sort_unstable();
    let _ = writeln!(out, "## Attempts by outcome\n");
    let _ = writeln!(out, "| outcome | attempts |\n|---|--:|");
    for (label, count) in outcomes(r.history) {
        let _ = writeln!(out, "| {label} | {} |", thousands(count));
    }
    let _ = writeln!(
        out,
        "\nAnswered attempts: p50 {}, p99 {}, slowest {}.\n",
        ms(crate::measure::percentile(&latencies, 50.0)),
        ms(crate::measure::percentile(&latencies, 99.0)),
        ms(latencies.last().copied().unwrap_or_default())
    );
    let _ = writeln!(out, "## The checker\n");
    let keys = r.check.acknowledged + r.check.created_unacknowledged + r.check.not_created;
    let _ = writeln!(
        out,
        "- {} logical creates: {} acknowledged (each found exactly once, under the id it was answered with), {} created but never acknowledged (every attempt lost or refused: at most once, as promised), {} neither; {} projects in the database.",
        thousands(keys as u64),
        thousands(r.check.acknowledged as u64),
        r.check.created_unacknowledged,
        r.check.not_created,
        thousands(r.rows as u64)
    );
    if r.check.violations.is_empty() {
        let _ = writeln!(out, "- **Violations: none.**");
    } else {
        let _ = writeln!(out, "- **Violations: {}**", r.check.violations.len());
        for v in &r.check.violations {
            let _ = writeln!(out, "  - {v}");
        }
    }
    let _ = writeln!(out, "\n## Faults injected ({})\n", r.faults.len());
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for fault in r.faults {
        let kind = if fault.what.starts_with("PostgREST paused") {
            "PostgREST paused"
        } else if fault.what.starts_with("PostgREST killed") {
            "PostgREST killed and started again"
        } else if fault.what.contains("connection") {
            "PostgREST's connections ended"
        } else {
            "instance killed mid-invocation"
        };
        *kinds.entry(kind).or_insert(0) += 1;
    }
    for (kind, n) in kinds {
        let _ = writeln!(out, "- {kind}: {n}");
    }
    let _ = writeln!(out, "\n| at | fault |\n|--:|---|");
    for fault in r.faults {
        let _ = writeln!(out, "| {:.2} s | {} |", fault.at.as_secs_f64(), fault.what);
    }
    out
}

fn progress(message: &str) {
    eprintln!("[chaos] {message}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(
        key: &str,
        status: Option<u16>,
        project: Option<&str>,
        code: Option<&str>,
    ) -> Attempt {
        Attempt {
            key: key.to_owned(),
            status,
            project: project.map(str::to_owned),
            code: code.map(str::to_owned),
            replayed: false,
            elapsed: Duration::from_millis(5),
        }
    }

    const K1: &str = "11111111-1111-4111-8111-111111111111";
    const K2: &str = "22222222-2222-4222-8222-222222222222";
    const K3: &str = "33333333-3333-4333-8333-333333333333";

    fn named(key: &str) -> String {
        format!("{PREFIX}{}", &key[..12])
    }

    #[test]
    fn a_clean_history_has_no_violation() {
        let history = [
            attempt(K1, None, None, None),
            attempt(K1, Some(503), None, Some("SERVICE_UNAVAILABLE")),
            attempt(K1, Some(201), Some("p1"), None),
            attempt(K2, None, None, None),
            attempt(K3, Some(409), None, Some("IDEMPOTENCY_IN_PROGRESS")),
            attempt(K3, Some(201), Some("p3"), None),
        ];
        let rows = [
            ("p1".to_owned(), named(K1)),
            ("p2".to_owned(), named(K2)),
            ("p3".to_owned(), named(K3)),
        ];
        let check = check(&history, &rows);
        assert!(check.violations.is_empty(), "{:?}", check.violations);
        assert_eq!(check.acknowledged, 2);
        assert_eq!(check.created_unacknowledged, 1);
    }

    #[test]
    fn the_checker_finds_each_broken_promise() {
        let history = [
            // Answered, but not in the database.
            attempt(K1, Some(201), Some("p1"), None),
            // Two answers naming two projects.
            attempt(K2, Some(201), Some("p2"), None),
            attempt(K2, Some(201), Some("p2b"), None),
            // A 500.
            attempt(K3, Some(500), None, Some("INTERNAL_ERROR")),
        ];
        let rows = [("p2".to_owned(), named(K2)), ("p2b".to_owned(), named(K2))];
        let check = check(&history, &rows);
        let all = check.violations.join("\n");
        assert!(all.contains("which the database does not hold"), "{all}");
        assert!(all.contains("2 projects for one Idempotency-Key"), "{all}");
        assert!(all.contains("retries answered different projects"), "{all}");
        assert!(all.contains("answered 500 (INTERNAL_ERROR)"), "{all}");
        assert_eq!(check.violations.len(), 4, "{all}");
    }
}
