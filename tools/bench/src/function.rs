//! Function processes: started as the Lambda service starts them (the runtime
//! variables, the function's configuration and nothing inherited from the shell), their
//! output read from pipes, as Lambda's own log collection reads a function's stdout and
//! stderr, and appended to `<log dir>/<function>.log` by threads of the bench (so a log
//! line costs the function a write to a pipe, not a write to a file on this machine's
//! disk), their memory read from `/proc/<pid>/status`, and killed when dropped.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;

use crate::error::{bail, Context, Result};

/// The CPU Lambda gives a memory size, as a cgroup CPU quota around each function
/// process: Lambda allots CPU in proportion to memory, one vCPU at 1,769 MB, so 128 MB
/// runs 128/1,769 of every 100 ms period (7.2 ms) and waits for the next one.
///
/// The group is made before anything is timed (cgroup v1's `cpu` controller, else v2's
/// `cpu.max`); a process joins it just after it is spawned (its pid written to
/// `cgroup.procs`, some microseconds, inside the measured cold start), so only the
/// first instructions of the exec run unconfined.
pub struct CpuShare {
    pub memory_mb: u32,
    procs: PathBuf,
    /// Where the group's CPU time is counted: cgroup v1's `cpuacct` group of the same
    /// name (its `cgroup.procs` joined too), or v2's `cpu.stat` in the same group.
    accounting: Accounting,
    /// The group's `cpu.stat` (periods throttled).
    stat: PathBuf,
}

enum Accounting {
    /// `cpuacct.usage` (nanoseconds) and the group's `cgroup.procs`.
    V1 { usage: PathBuf, procs: PathBuf },
    /// `cpu.stat`'s `usage_usec`.
    V2,
}

/// The CPU a group has used and how often the quota stopped it, at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuReading {
    pub used: std::time::Duration,
    /// Periods in which the group ran out of its quota and waited.
    pub throttled_periods: u64,
}

impl CpuShare {
    /// The memory size with a whole vCPU.
    pub const FULL_VCPU_MB: u32 = 1769;
    pub const PERIOD_US: u64 = 100_000;

    /// The quota of `memory_mb` per [`Self::PERIOD_US`], in microseconds.
    pub fn quota_us(memory_mb: u32) -> u64 {
        (Self::PERIOD_US * u64::from(memory_mb) / u64::from(Self::FULL_VCPU_MB)).max(1_000)
    }

    /// Creates (or reuses) the group of `memory_mb`'s share.
    pub fn create(memory_mb: u32) -> Result<Self> {
        let quota = Self::quota_us(memory_mb);
        let name = format!("supa-lambda-bench-{memory_mb}mb");
        let v1 = Path::new("/sys/fs/cgroup/cpu");
        if v1.join("cpu.cfs_quota_us").exists() {
            let dir = v1.join(&name);
            fs::create_dir_all(&dir).context(format!("creating {}", dir.display()))?;
            fs::write(dir.join("cpu.cfs_period_us"), Self::PERIOD_US.to_string())?;
            fs::write(dir.join("cpu.cfs_quota_us"), quota.to_string())?;
            let acct = Path::new("/sys/fs/cgroup/cpuacct").join(&name);
            let accounting = if acct
                .parent()
                .is_some_and(|p| p.join("cpuacct.usage").exists())
            {
                fs::create_dir_all(&acct).context(format!("creating {}", acct.display()))?;
                Accounting::V1 {
                    usage: acct.join("cpuacct.usage"),
                    procs: acct.join("cgroup.procs"),
                }
            } else {
                // cpu and cpuacct mounted together: the same directory.
                Accounting::V1 {
                    usage: dir.join("cpuacct.usage"),
                    procs: dir.join("cgroup.procs"),
                }
            };
            return Ok(Self {
                memory_mb,
                procs: dir.join("cgroup.procs"),
                stat: dir.join("cpu.stat"),
                accounting,
            });
        }
        let v2 = Path::new("/sys/fs/cgroup");
        let controllers = fs::read_to_string(v2.join("cgroup.controllers")).unwrap_or_default();
        if controllers.split_whitespace().any(|c| c == "cpu") {
            fs::write(v2.join("cgroup.subtree_control"), "+cpu")
                .context("enabling the cpu controller for child groups")?;
            let dir = v2.join(&name);
            fs::create_dir_all(&dir).context(format!("creating {}", dir.display()))?;
            fs::write(dir.join("cpu.max"), format!("{quota} {}", Self::PERIOD_US))?;
            return Ok(Self {
                memory_mb,
                procs: dir.join("cgroup.procs"),
                stat: dir.join("cpu.stat"),
                accounting: Accounting::V2,
            });
        }
        bail!(
            "BENCH_MEMORY_MB needs a cgroup CPU controller (v1 at /sys/fs/cgroup/cpu, or v2 \
             with cpu in /sys/fs/cgroup/cgroup.controllers) and root"
        )
    }

    fn join(&self, pid: u32) -> Result<()> {
        fs::write(&self.procs, pid.to_string())
            .context(format!("moving {pid} into {}", self.procs.display()))?;
        if let Accounting::V1 { procs, .. } = &self.accounting {
            if procs != &self.procs {
                fs::write(procs, pid.to_string())
                    .context(format!("moving {pid} into {}", procs.display()))?;
            }
        }
        Ok(())
    }

    /// The CPU time every process that was in the group has used (exited ones and all
    /// their threads included), counted by the kernel's scheduler in nanoseconds (v1)
    /// or microseconds (v2), not in ticks; and the periods throttled.
    pub fn reading(&self) -> Result<CpuReading> {
        let stat =
            fs::read_to_string(&self.stat).context(format!("reading {}", self.stat.display()))?;
        let field = |name: &str| -> Option<u64> {
            stat.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        };
        let used = match &self.accounting {
            Accounting::V1 { usage, .. } => {
                let text =
                    fs::read_to_string(usage).context(format!("reading {}", usage.display()))?;
                let ns: u64 = text
                    .trim()
                    .parse()
                    .context(format!("{}: not a number", usage.display()))?;
                std::time::Duration::from_nanos(ns)
            }
            Accounting::V2 => std::time::Duration::from_micros(
                field("usage_usec").context(format!("no usage_usec in {}", self.stat.display()))?,
            ),
        };
        Ok(CpuReading {
            used,
            throttled_periods: field("nr_throttled").unwrap_or(0),
        })
    }
}

/// Starts function binaries from one directory (`target/release` or `target/debug`).
pub struct Launcher {
    dir: PathBuf,
    /// The function configuration every function gets (Supabase URLs, keys, log level).
    env: Vec<(String, String)>,
    log_dir: PathBuf,
    /// Each process confined to a memory size's CPU share, if set.
    share: Option<Arc<CpuShare>>,
}

impl Launcher {
    pub fn new(dir: PathBuf, env: Vec<(String, String)>, log_dir: PathBuf) -> Self {
        Self {
            dir,
            env,
            log_dir,
            share: None,
        }
    }

    /// Each process it starts runs with `share`'s CPU (and that memory size in its
    /// environment).
    pub fn with_cpu_share(mut self, share: Option<CpuShare>) -> Self {
        self.share = share.map(Arc::new);
        self
    }

    /// The group its processes run in, if any.
    pub fn cpu_share(&self) -> Option<&CpuShare> {
        self.share.as_deref()
    }

    /// The memory size the functions are told (and given the CPU of, with a share).
    pub fn memory_mb(&self) -> u32 {
        self.share.as_ref().map_or(128, |s| s.memory_mb)
    }

    /// The same launcher, with `name=value` added to (or replacing in) the configuration.
    pub fn with_env(&self, name: &str, value: &str) -> Self {
        let mut env: Vec<(String, String)> = self
            .env
            .iter()
            .filter(|(k, _)| k != name)
            .cloned()
            .collect();
        env.push((name.to_owned(), value.to_owned()));
        Self {
            dir: self.dir.clone(),
            env,
            log_dir: self.log_dir.clone(),
            share: self.share.clone(),
        }
    }

    pub fn binary(&self, function: &str) -> PathBuf {
        self.dir.join(function)
    }

    /// The binary's size in bytes (the release profile strips symbols).
    pub fn binary_size(&self, function: &str) -> Result<u64> {
        let path = self.binary(function);
        let meta = fs::metadata(&path).context(format!(
            "{}: no such binary (build the functions first)",
            path.display()
        ))?;
        Ok(meta.len())
    }

    pub fn log_path(&self, function: &str) -> PathBuf {
        self.log_dir.join(format!("{function}.log"))
    }

    /// Starts `function` against the Runtime API at `runtime_api` (`host:port`).
    pub fn spawn(&self, function: &str, runtime_api: &str) -> Result<Process> {
        let log_path = self.log_path(function);
        let log = File::options()
            .create(true)
            .append(true)
            .open(&log_path)
            .context(format!("opening {}", log_path.display()))?;
        let child = Command::new(self.binary(function))
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .envs([
                ("AWS_LAMBDA_RUNTIME_API", runtime_api),
                ("AWS_LAMBDA_FUNCTION_NAME", function),
                (
                    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                    &self.memory_mb().to_string(),
                ),
                ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
                (
                    "AWS_LAMBDA_LOG_GROUP_NAME",
                    &format!("/aws/lambda/{function}"),
                ),
                ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/01/01/[$LATEST]bench"),
                ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context(format!("starting {}", self.binary(function).display()))?;
        let mut child = child;
        for output in [
            child
                .stdout
                .take()
                .map(|o| Box::new(o) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|e| Box::new(e) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let mut log = log.try_clone()?;
            let mut output = output;
            // Ends when the process does (its end of the pipe closes).
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut output, &mut log);
            });
        }
        if let Some(share) = &self.share {
            share.join(child.id())?;
        }
        Ok(Process {
            child,
            function: function.to_owned(),
            log: log_path,
        })
    }
}

/// A running function; killed (SIGKILL) when dropped, as Lambda freezes and discards
/// execution environments without warning.
pub struct Process {
    child: Child,
    function: String,
    log: PathBuf,
}

/// From `/proc/<pid>/status`, in bytes.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    /// VmRSS: resident now.
    pub rss: u64,
    /// VmHWM: the most ever resident.
    pub peak: u64,
}

impl Process {
    pub fn function(&self) -> &str {
        &self.function
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status if the process has ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    pub fn memory(&self) -> Result<Memory> {
        let path = format!("/proc/{}/status", self.child.id());
        let status = fs::read_to_string(&path).context(format!("reading {path}"))?;
        parse_status(&status).context(format!("no VmRSS/VmHWM in {path}"))
    }

    /// The last lines of the function's log, for error messages.
    pub fn log_tail(&self) -> String {
        tail(&self.log, 20)
    }

    /// An error that says the process ended, with its status and the end of its log.
    pub fn exit_error<T>(&self, status: ExitStatus, doing: &str) -> Result<T> {
        bail!(
            "{} exited ({status}) while {doing}; the end of {}:\n{}",
            self.function,
            self.log.display(),
            self.log_tail()
        )
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn parse_status(status: &str) -> Option<Memory> {
    let kilobytes = |key: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(key))?;
        let value = line[key.len()..].trim().strip_suffix("kB")?.trim();
        value.parse::<u64>().ok().map(|kb| kb * 1024)
    };
    Some(Memory {
        rss: kilobytes("VmRSS:")?,
        peak: kilobytes("VmHWM:")?,
    })
}

fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rss_and_peak_from_proc_status() {
        let status =
            "Name:\thealth\nVmPeak:\t  20000 kB\nVmHWM:\t    5120 kB\nVmRSS:\t    4096 kB\n";
        let memory = parse_status(status).unwrap();
        assert_eq!(memory.rss, 4096 * 1024);
        assert_eq!(memory.peak, 5120 * 1024);
        assert!(parse_status("Name:\tx\n").is_none());
    }

    #[test]
    fn a_memory_size_gets_its_share_of_a_vcpu_per_period() {
        assert_eq!(CpuShare::quota_us(128), 7_235);
        assert_eq!(CpuShare::quota_us(512), 28_942);
        assert_eq!(CpuShare::quota_us(1769), 100_000);
        // Above 1,769 MB a function gets more than one vCPU (6 at 10,240 MB on Lambda).
        assert_eq!(CpuShare::quota_us(10_240), 578_858);
    }
}
