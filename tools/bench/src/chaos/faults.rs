//! The faults of `make chaos`, and what they act on: a service started again with its
//! own command line ([`Service`]), the network between the functions and PostgREST
//! ([`DelayProxy`]), and the PostgreSQL cluster ([`restart_postgres`]).

use std::cell::{Cell, RefCell};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::error::{bail, Context, Result};

/// A process of the stack as the script started it, and as this run starts it again:
/// its command line, environment and working directory read from `/proc` when the run
/// begins, so a restart runs the same binary with the same configuration on the same
/// port. A process this run started is killed when the run ends.
pub struct Service {
    pub name: &'static str,
    argv: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    cwd: PathBuf,
    pid: Cell<u32>,
    started: RefCell<Option<std::process::Child>>,
    log: PathBuf,
    /// Any answer from this URL means it is up.
    probe: String,
}

impl Service {
    pub fn attach(name: &'static str, pid: u32, log_dir: &Path, probe: &str) -> Result<Self> {
        use std::os::unix::ffi::OsStrExt;
        let read = |what: &str| -> Result<Vec<OsString>> {
            let bytes = std::fs::read(format!("/proc/{pid}/{what}"))
                .context(format!("reading {name}'s {what} (pid {pid})"))?;
            Ok(bytes
                .split(|b| *b == 0)
                .filter(|part| !part.is_empty())
                .map(|part| std::ffi::OsStr::from_bytes(part).to_owned())
                .collect())
        };
        let argv = read("cmdline")?;
        if argv.is_empty() {
            bail!("{name} (pid {pid}) has no command line");
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
        let cwd = std::fs::read_link(format!("/proc/{pid}/cwd"))
            .context(format!("reading {name}'s working directory (pid {pid})"))?;
        Ok(Self {
            name,
            argv,
            env,
            cwd,
            pid: Cell::new(pid),
            started: RefCell::default(),
            log: log_dir.join(format!("{}-restarted.log", name.replace(' ', "-"))),
            probe: probe.to_owned(),
        })
    }

    pub fn pid(&self) -> u32 {
        self.pid.get()
    }

    /// SIGKILL, `down` later the same command again; how long until it answered.
    pub async fn kill_and_restart(&self, down: Duration) -> Result<Duration> {
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
            .current_dir(&self.cwd)
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context(format!("starting {} again", self.name))?;
        self.pid.set(child.id());
        *self.started.borrow_mut() = Some(child);
        wait_until_up(self.name, &self.probe, &self.log).await
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(mut child) = self.started.borrow_mut().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// How long until `probe` answers at all (20 s at most).
async fn wait_until_up(name: &str, probe: &str, log: &Path) -> Result<Duration> {
    let started = Instant::now();
    let client = reqwest::Client::new();
    while started.elapsed() < Duration::from_secs(20) {
        if client.get(probe).send().await.is_ok() {
            return Ok(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bail!(
        "{name} did not answer within 20 s of its restart; see {}",
        log.display()
    )
}

pub fn signal(pid: u32, signal: &str) -> Result<()> {
    let status = std::process::Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .context("running kill")?;
    if !status.success() {
        bail!("kill -{signal} {pid} failed ({status})");
    }
    Ok(())
}

/// A TCP proxy between the functions and PostgREST that holds every chunk, both ways,
/// for the delay currently set (none by default): network delay on one upstream.
///
/// Written here: this kernel has no `netem` queueing discipline (`tc` cannot delay
/// loopback traffic), Toxiproxy is a Go binary from GitHub releases (not on the
/// registries this project installs from), and its Rust port (noxious) would add a
/// server and an HTTP API for one latency setting.
pub struct DelayProxy {
    delay_ms: Arc<AtomicU64>,
    url: String,
}

impl DelayProxy {
    /// Listens on a free local port, forwarding to `upstream` (an `http://host:port` URL).
    pub async fn start(upstream: &str) -> Result<Self> {
        let target = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the delay proxy")?;
        let url = format!("http://{}", listener.local_addr()?);
        let delay_ms = Arc::new(AtomicU64::new(0));
        let delay = delay_ms.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (target, delay) = (target.clone(), delay.clone());
                tokio::spawn(async move {
                    // Upstream down: the client's connection closes, as a refused one would.
                    if let Ok(server) = TcpStream::connect(&target).await {
                        let _ = client.set_nodelay(true);
                        let _ = server.set_nodelay(true);
                        let (cr, cw) = client.into_split();
                        let (sr, sw) = server.into_split();
                        tokio::join!(pipe(cr, sw, delay.clone()), pipe(sr, cw, delay));
                    }
                });
            }
        });
        Ok(Self { delay_ms, url })
    }

    /// The URL the functions are given instead of PostgREST's.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn set_delay(&self, delay: Duration) {
        self.delay_ms
            .store(delay.as_millis() as u64, Ordering::Relaxed);
    }
}

/// Copies `from` to `to`, holding each chunk for the delay set when it arrived.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: Arc<AtomicU64>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let ms = delay.load(Ordering::Relaxed);
        if ms > 0 {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// The local Debian cluster that serves `127.0.0.1:<port>` (`pg_lsclusters`), if any:
/// its version and name.
pub fn postgres_cluster(port: u16) -> Option<(String, String)> {
    let out = std::process::Command::new("pg_lsclusters")
        .arg("-h")
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.len() >= 4 && fields[2] == port.to_string() && fields[3] == "online")
                .then(|| (fields[0].to_owned(), fields[1].to_owned()))
        })
}

/// Restarts the cluster (fast shutdown: open transactions are rolled back, every
/// connection ends); how long until it accepted connections again.
pub async fn restart_postgres(cluster: &(String, String), url: &str) -> Result<Duration> {
    let started = Instant::now();
    let (version, name) = cluster.clone();
    let status = tokio::task::spawn_blocking(move || {
        std::process::Command::new("pg_ctlcluster")
            .args([
                "--skip-systemctl-redirect",
                &version,
                &name,
                "restart",
                "-m",
                "fast",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
    })
    .await
    .context("waiting for pg_ctlcluster")?
    .context("running pg_ctlcluster")?;
    if !status.success() {
        bail!("pg_ctlcluster restart failed ({status})");
    }
    while started.elapsed() < Duration::from_secs(30) {
        if tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .is_ok()
        {
            return Ok(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("PostgreSQL did not accept connections within 30 s of its restart")
}
