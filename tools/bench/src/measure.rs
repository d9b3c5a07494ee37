//! The measurements, each as a user would meet it:
//!
//! - cold start: a fresh process is spawned with its first event already queued in the
//!   emulator; wall time from spawning to the emulator having read the response (process
//!   start, configuration and clients, the first `/next`, the first PostgREST
//!   connections, the handler);
//! - warm: one process; each event is handed over while the function is already
//!   long-polling `/next`, and timed from that moment to its response having been read;
//! - floor: the same request straight to PostgREST with one keep-alive reqwest client,
//!   timed from sending to the body having been read;
//! - memory: VmHWM after the warm run, VmRSS at checkpoints of a long run.
//!
//! Any non-2xx answer, invocation error, failed cold start, crash or 30-second silence is
//! an error: the run stops with the response body or the end of the function's log.

use std::future::Future;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::emulator::{Emulator, Invocation, Outcome};
use crate::error::{bail, Context, Result};
use crate::event::{EventTemplate, FunctionResponse};
use crate::function::{Launcher, Memory, Process};

/// The longest any single wait may take (a cold start, an invocation, a poll).
const WAIT_LIMIT: Duration = Duration::from_secs(30);
/// How often a wait checks that the process is still alive.
const LIVENESS_INTERVAL: Duration = Duration::from_millis(20);

/// How long a series runs: `warmup` untimed requests, then `iterations` timed ones,
/// cut short when `budget` is spent (slow cases at the large scale), the warm-up at a
/// tenth of it.
#[derive(Debug, Clone, Copy)]
pub struct Series {
    pub warmup: usize,
    pub iterations: usize,
    pub budget: Duration,
}

impl Series {
    fn warming(&self, done: usize, started: Instant) -> bool {
        done < self.warmup && started.elapsed() < self.budget / 10
    }

    fn timing(&self, done: usize, started: Instant) -> bool {
        done < self.iterations && (done == 0 || started.elapsed() < self.budget)
    }
}

/// p50 and p99 of a series (nearest rank).
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    pub p50: Duration,
    pub p99: Duration,
    pub count: usize,
}

impl Stats {
    pub fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        Self {
            p50: percentile(&samples, 50.0),
            p99: percentile(&samples, 99.0),
            count: samples.len(),
        }
    }
}

/// The median (the mean of the middle two of an even count).
pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    let n = samples.len();
    match n {
        0 => Duration::ZERO,
        _ if n % 2 == 1 => samples[n / 2],
        _ => (samples[n / 2 - 1] + samples[n / 2]) / 2,
    }
}

/// Nearest-rank percentile of sorted samples.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One function process and the emulator it polls (the process is killed first).
pub struct Instance {
    process: Process,
    emulator: Emulator,
}

/// A successful invocation.
pub struct Answer {
    pub latency: Duration,
    pub response: FunctionResponse,
}

impl Instance {
    pub async fn start(launcher: &Launcher, function: &str) -> Result<Self> {
        let emulator = Emulator::start(function).await?;
        let process = launcher.spawn(function, &emulator.address())?;
        Ok(Self { emulator, process })
    }

    /// Waits until the function polls `/next`, hands it `event`, and waits for its
    /// outcome: when the event was handed over, and what came back.
    async fn exchange(&mut self, event: Vec<u8>) -> Result<(Instant, Outcome)> {
        supervised(
            &mut self.process,
            "waiting for it to poll /next",
            self.emulator.wait_for_poll(),
        )
        .await?;
        let mut invocation = self.emulator.enqueue(Bytes::from(event));
        let outcome = supervised(
            &mut self.process,
            "handling an invocation",
            invocation.outcome(),
        )
        .await??;
        Ok((invocation.enqueued_at, outcome))
    }

    /// A 2xx answer to `event`, and its latency; anything else is an error.
    pub async fn invoke(&mut self, event: Vec<u8>) -> Result<Answer> {
        let (enqueued_at, outcome) = self.exchange(event).await?;
        let (at, response) = accept(self.process.function(), outcome)?;
        Ok(Answer {
            latency: at.duration_since(enqueued_at),
            response,
        })
    }

    /// As [`Instance::invoke`], whatever the answer's status (a refusal is a result
    /// here): the latency and the status.
    pub async fn invoke_any(&mut self, event: Vec<u8>) -> Result<(Duration, u16)> {
        let (enqueued_at, outcome) = self.exchange(event).await?;
        let (at, response) = answered(self.process.function(), outcome)?;
        if response.status >= 500 {
            bail!(
                "{} answered {}: {}",
                self.process.function(),
                response.status,
                response.body
            );
        }
        Ok((at.duration_since(enqueued_at), response.status))
    }

    /// How the invocation of `event` ended, as the function reported it (a job's answer
    /// is its own JSON, not an API Gateway response). An error only when there was no
    /// outcome: the process ended, or it was silent for 30 s.
    pub async fn outcome(&mut self, event: Vec<u8>) -> Result<Outcome> {
        Ok(self.exchange(event).await?.1)
    }

    /// The function process's id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    pub fn memory(&self) -> Result<Memory> {
        self.process.memory()
    }
}

/// Waits for `future` while checking that the process is alive, at most [`WAIT_LIMIT`].
async fn supervised<F: Future>(process: &mut Process, doing: &str, future: F) -> Result<F::Output> {
    let deadline = Instant::now() + WAIT_LIMIT;
    tokio::pin!(future);
    loop {
        tokio::select! {
            biased;
            output = &mut future => return Ok(output),
            _ = tokio::time::sleep(LIVENESS_INTERVAL) => {
                if let Some(status) = process.exited() {
                    return process.exit_error(status, doing);
                }
                if Instant::now() >= deadline {
                    bail!(
                        "{} gave no sign of life for {} s while {doing}; the end of its log:\n{}",
                        process.function(),
                        WAIT_LIMIT.as_secs(),
                        process.log_tail()
                    );
                }
            }
        }
    }
}

/// A 2xx response, else the error the run stops with.
fn accept(function: &str, outcome: Outcome) -> Result<(Instant, FunctionResponse)> {
    let (at, response) = answered(function, outcome)?;
    if !response.is_success() {
        bail!("{function} answered {}: {}", response.status, response.body);
    }
    Ok((at, response))
}

/// A response of any status, else the error the run stops with.
fn answered(function: &str, outcome: Outcome) -> Result<(Instant, FunctionResponse)> {
    match outcome {
        Outcome::Response { body, at } => {
            let response = FunctionResponse::parse(&body).context(function)?;
            Ok((at, response))
        }
        Outcome::Error { body } => bail!(
            "{function} reported an invocation error: {}",
            String::from_utf8_lossy(&body)
        ),
        Outcome::InitError { body } => bail!(
            "{function} reported a failed cold start: {}",
            String::from_utf8_lossy(&body)
        ),
    }
}

/// Cold starts of `runs` fresh processes: spawn-to-response, first event already queued.
pub async fn cold_starts(
    launcher: &Launcher,
    function: &str,
    event: &EventTemplate,
    runs: usize,
) -> Result<Vec<Duration>> {
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let emulator = Emulator::start(function).await?;
        let invocation = emulator.enqueue(Bytes::from(event.render()));
        let spawned_at = Instant::now();
        let mut process = launcher.spawn(function, &emulator.address())?;
        let at = cold_outcome(&mut process, invocation).await?;
        samples.push(at.duration_since(spawned_at));
    }
    Ok(samples)
}

/// When a freshly spawned process's first invocation (queued before it started) was
/// answered, 2xx.
pub async fn cold_outcome(process: &mut Process, mut invocation: Invocation) -> Result<Instant> {
    let outcome = supervised(process, "starting cold", invocation.outcome()).await??;
    let (at, _) = accept(process.function(), outcome)?;
    Ok(at)
}

/// A warm series in one process, after its cold invocation. Returns the latencies, the
/// last answer and VmHWM.
pub struct Warm {
    pub latencies: Vec<Duration>,
    pub last: FunctionResponse,
    pub peak_rss: u64,
}

pub async fn warm(
    launcher: &Launcher,
    function: &str,
    event: &EventTemplate,
    series: Series,
) -> Result<Warm> {
    let mut instance = Instance::start(launcher, function).await?;
    let mut last = instance.invoke(event.render()).await?.response;
    let started = Instant::now();
    let mut warmed = 0;
    while series.warming(warmed, started) {
        last = instance.invoke(event.render()).await?.response;
        warmed += 1;
    }
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(series.iterations);
    while series.timing(latencies.len(), started) {
        let answer = instance.invoke(event.render()).await?;
        latencies.push(answer.latency);
        last = answer.response;
    }
    let peak_rss = instance.memory()?.peak;
    Ok(Warm {
        latencies,
        last,
        peak_rss,
    })
}

/// VmRSS after each checkpoint's number of warm invocations (ascending), in one
/// process; `progress` hears of every 10,000th.
pub async fn memory_growth(
    launcher: &Launcher,
    function: &str,
    event: &EventTemplate,
    checkpoints: &[usize],
    mut progress: impl FnMut(usize),
) -> Result<Vec<(usize, u64)>> {
    let mut instance = Instance::start(launcher, function).await?;
    // The cold invocation is not one of them.
    instance.invoke(event.render()).await?;
    let mut readings = Vec::with_capacity(checkpoints.len());
    let mut done = 0;
    for &checkpoint in checkpoints {
        while done < checkpoint {
            instance.invoke(event.render()).await?;
            done += 1;
            if done.is_multiple_of(10_000) {
                progress(done);
            }
        }
        readings.push((checkpoint, instance.memory()?.rss));
    }
    Ok(readings)
}

/// A floor request, ready to send many times.
pub struct FloorRequest {
    pub method: reqwest::Method,
    pub url: String,
    pub headers: HeaderMap,
    pub body: Option<String>,
}

impl FloorRequest {
    pub fn new(
        method: &str,
        url: String,
        token: Option<&str>,
        anon_key: &str,
        extra: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<Self> {
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .context(format!("{method}: not an HTTP method"))?;
        let mut headers = HeaderMap::new();
        let mut add = |name: &str, value: &str| -> Result<()> {
            headers.insert(
                HeaderName::from_bytes(name.as_bytes()).context(format!("header {name}"))?,
                HeaderValue::from_str(value).context(format!("header {name}"))?,
            );
            Ok(())
        };
        add("apikey", anon_key)?;
        if let Some(token) = token {
            add("authorization", &format!("Bearer {token}"))?;
        }
        if body.is_some() {
            add("content-type", "application/json")?;
        }
        for (name, value) in extra {
            add(name, value)?;
        }
        Ok(Self {
            method,
            url,
            headers,
            body,
        })
    }
}

/// The floor's latencies and the row total of its last answer (lists): the
/// `Content-Range` total of a table read, else a top-level `total` in the JSON.
pub struct FloorSeries {
    pub latencies: Vec<Duration>,
    pub total: Option<u64>,
}

pub async fn floor(
    client: &reqwest::Client,
    request: &FloorRequest,
    series: Series,
) -> Result<FloorSeries> {
    let started = Instant::now();
    let mut warmed = 0;
    while series.warming(warmed, started) {
        send(client, request).await?;
        warmed += 1;
    }
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(series.iterations);
    let mut total = None;
    while series.timing(latencies.len(), started) {
        let (elapsed, rows) = send(client, request).await?;
        latencies.push(elapsed);
        total = rows;
    }
    Ok(FloorSeries { latencies, total })
}

/// One floor request, its answer 2xx (the background load).
pub async fn send_once(client: &reqwest::Client, request: &FloorRequest) -> Result<()> {
    send(client, request).await.map(|_| ())
}

/// One floor request: its time from sending to the body read, and its row total.
async fn send(client: &reqwest::Client, request: &FloorRequest) -> Result<(Duration, Option<u64>)> {
    let mut builder = client
        .request(request.method.clone(), &request.url)
        .headers(request.headers.clone());
    if let Some(body) = &request.body {
        builder = builder.body(body.clone());
    }
    let built = builder.build().context("building a floor request")?;
    let sent = Instant::now();
    let response = client
        .execute(built)
        .await
        .context(format!("{} {}", request.method, request.url))?;
    let status = response.status();
    let range_total = response
        .headers()
        .get("content-range")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit_once('/'))
        .and_then(|(_, t)| t.parse().ok());
    let body = response.bytes().await.context("reading a floor response")?;
    let elapsed = sent.elapsed();
    if !status.is_success() {
        bail!(
            "PostgREST answered {status} to {} {}: {}",
            request.method,
            request.url,
            String::from_utf8_lossy(&body)
        );
    }
    let total = range_total.or_else(|| {
        serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["total"].as_u64())
    });
    Ok((elapsed, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<Duration> = (1..=300).map(Duration::from_millis).collect();
        let stats = Stats::of(samples.into_iter().rev().collect());
        assert_eq!(stats.p50, Duration::from_millis(150));
        assert_eq!(stats.p99, Duration::from_millis(297));
        assert_eq!(stats.count, 300);
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
        let ms = Duration::from_millis;
        assert_eq!(
            median(vec![ms(4), ms(1), ms(3), ms(2)]),
            Duration::from_micros(2500)
        );
        assert_eq!(median(vec![ms(9), ms(1), ms(5)]), ms(5));
        assert_eq!(
            percentile(&[Duration::from_millis(7)], 99.0),
            Duration::from_millis(7)
        );
    }
}
