//! The tool's configuration, from the environment: the stack `scripts/bench.sh` started
//! (required) and the shape of the run (optional).

use std::path::PathBuf;
use std::time::Duration;

use crate::cases::Case;
use crate::error::{bail, Context, Result};
use crate::measure::Series;

pub const USAGE: &str = "\
bench: measures the Lambda functions through a Runtime API emulator, next to the same
requests sent straight to PostgREST. Normally run by `make bench` (scripts/bench.sh),
which starts the stack and sets the first group of variables.

Stack (required):
  BENCH_DATABASE_URL    superuser URL of the bench's own database (seeded, then dropped)
  SUPABASE_URL          base URL the tokens' issuer derives from (<url>/auth/v1)
  SUPABASE_REST_URL     the bench's PostgREST
  SUPABASE_JWT_SECRET   the bench's HS256 secret (PostgREST and the functions trust it)
  SUPABASE_ANON_KEY     sent as apikey
Optional:
  BENCH_FUNCTIONS_DIR   where the function binaries are (default target/release)
  BENCH_ITERATIONS      timed warm invocations and floor requests per case (default 300)
  BENCH_WARMUP          untimed ones before them (default 20)
  BENCH_COLD_RUNS       fresh processes per cold start median (default 10)
  BENCH_SERIES_SECONDS  a warm or floor series stops early after this long (default 90)
  BENCH_LONG            invocations of the long memory run (default 100000)
  BENCH_SCALES          small,large (default) or small
  BENCH_CASES           comma-separated case names or function names (default: all)
  BENCH_SESSION_CHECK_CASES  the cases measured with and without the session check
                        (default: list-projects (one workspace),get-project,create-project;
                        empty: none)
  BENCH_MEMORY_MB       run every function with the CPU share Lambda gives this memory
                        size (128: 7.2% of a vCPU, 1769: one vCPU) through a cgroup CPU
                        quota; needs root (default: no limit)
  BENCH_ENUMERATION_SAMPLES  invocations per address kind of each sign-in answer, with
                        and without the answer floor (default 20; 0: none)
  BENCH_LOG_DIR         function logs (default .local/logs/bench)
  BENCH_OUTPUT          the markdown report (default .local/bench.md)
  BENCH_GIT_COMMIT      shown in the header
  BENCH_POSTGREST_VERSION  shown in the notes
";

/// The first memory checkpoint.
pub const MEMORY_SHORT: usize = 1_000;

pub struct Settings {
    pub database_url: String,
    pub supabase_url: String,
    pub rest_url: String,
    pub jwt_secret: String,
    pub anon_key: String,
    pub functions_dir: PathBuf,
    pub iterations: usize,
    pub warmup: usize,
    pub cold_runs: usize,
    pub series_budget: Duration,
    pub long: usize,
    pub large: bool,
    pub cases: Option<Vec<String>>,
    pub session_check_cases: Vec<String>,
    pub enumeration_samples: usize,
    pub log_dir: PathBuf,
    pub output: PathBuf,
    pub commit: String,
    pub postgrest_version: String,
    /// Run each function with the CPU share of this Lambda memory size (a cgroup quota).
    pub memory_mb: Option<u32>,
}

/// A variable's value, when it is set and not blank.
pub fn optional(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A variable `make_target` (through scripts/bench.sh) sets.
pub fn required(name: &str, make_target: &str) -> Result<String> {
    optional(name).context(format!(
        "{name} is not set (run it through `{make_target}`)"
    ))
}

/// A whole number of at least `min`; `default` when the variable is not set.
pub fn number(name: &str, default: u64, min: u64) -> Result<u64> {
    match optional(name) {
        None => Ok(default),
        Some(v) => match v.trim().parse::<u64>() {
            Ok(n) if n >= min => Ok(n),
            _ => bail!("{name} must be a whole number of at least {min}"),
        },
    }
}

impl Settings {
    pub fn from_env() -> Result<Self> {
        let required = |name: &str| required(name, "make bench");
        let count = |name: &str, default: usize, min: usize| -> Result<usize> {
            Ok(number(name, default as u64, min as u64)? as usize)
        };
        let large = match optional("BENCH_SCALES").as_deref().map(str::trim) {
            None | Some("small,large") | Some("large") => true,
            Some("small") => false,
            Some(other) => bail!("BENCH_SCALES must be small,large or small, not {other}"),
        };
        let long = count("BENCH_LONG", 100_000, MEMORY_SHORT)?;
        Ok(Self {
            database_url: required("BENCH_DATABASE_URL")?,
            supabase_url: required("SUPABASE_URL")?.trim_end_matches('/').to_owned(),
            rest_url: required("SUPABASE_REST_URL")?
                .trim_end_matches('/')
                .to_owned(),
            jwt_secret: required("SUPABASE_JWT_SECRET")?,
            anon_key: required("SUPABASE_ANON_KEY")?,
            functions_dir: optional("BENCH_FUNCTIONS_DIR")
                .unwrap_or_else(|| "target/release".into())
                .into(),
            iterations: count("BENCH_ITERATIONS", 300, 1)?,
            warmup: count("BENCH_WARMUP", 20, 0)?,
            cold_runs: count("BENCH_COLD_RUNS", 10, 1)?,
            series_budget: Duration::from_secs(count("BENCH_SERIES_SECONDS", 90, 1)? as u64),
            long,
            large,
            cases: optional("BENCH_CASES")
                .map(|v| v.split(',').map(|s| s.trim().to_owned()).collect()),
            session_check_cases: std::env::var("BENCH_SESSION_CHECK_CASES")
                .unwrap_or_else(|_| {
                    "list-projects (one workspace),get-project,create-project".into()
                })
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
            enumeration_samples: count("BENCH_ENUMERATION_SAMPLES", 20, 0)?,
            memory_mb: match optional("BENCH_MEMORY_MB") {
                None => None,
                Some(mb) => Some(
                    mb.trim()
                        .parse::<u32>()
                        .ok()
                        .filter(|mb| (128..=10_240).contains(mb))
                        .ok_or_else(|| {
                            crate::error::Error::msg(format!(
                                "BENCH_MEMORY_MB must be a Lambda memory size, 128 to 10240, not {mb}"
                            ))
                        })?,
                ),
            },
            log_dir: optional("BENCH_LOG_DIR")
                .unwrap_or_else(|| ".local/logs/bench".into())
                .into(),
            output: optional("BENCH_OUTPUT")
                .unwrap_or_else(|| ".local/bench.md".into())
                .into(),
            commit: optional("BENCH_GIT_COMMIT").unwrap_or_else(|| "unknown".into()),
            postgrest_version: optional("BENCH_POSTGREST_VERSION")
                .unwrap_or_else(|| "PostgREST".into()),
        })
    }

    pub fn series(&self) -> Series {
        Series {
            warmup: self.warmup,
            iterations: self.iterations,
            budget: self.series_budget,
        }
    }

    pub fn selects(&self, case: &Case) -> bool {
        self.cases
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| n == case.name || n == case.function))
    }
}
