//! The markdown report: a header line naming the machine, date and commit, the notes on
//! method, then three tables (every case at the small scale; the cases that depend on
//! data size at 1k and 1M; memory over a long run).

use std::fmt::Write as _;
use std::time::Duration;

use crate::measure::Stats;

pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub kernel: String,
    pub date: String,
    pub commit: String,
}

impl Machine {
    /// The header line: the machine, the date and the commit.
    pub fn render(&self) -> String {
        format!(
            "Machine: {} CPUs ({}), Linux {} · {} · commit {}",
            self.cpus, self.cpu_model, self.kernel, self.date, self.commit
        )
    }

    pub fn describe(commit: String) -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_else(|| "unknown CPU".to_owned());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|k| k.trim().to_owned())
            .unwrap_or_else(|_| "unknown".to_owned());
        Self {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
            kernel,
            date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            commit,
        }
    }
}

/// One case at the small scale.
pub struct CaseRow {
    pub name: &'static str,
    pub function: &'static str,
    pub caller: &'static str,
    pub cold_median: Duration,
    pub warm: Stats,
    pub floor: Option<Stats>,
    pub peak_rss: u64,
    pub binary_size: u64,
}

/// One case measured at a scale.
pub struct ScalePoint {
    /// `pagination.total` of the function's answer.
    pub rows: Option<u64>,
    pub warm: Stats,
    pub floor: Option<Stats>,
}

pub struct ScaleRow {
    pub name: &'static str,
    pub small: ScalePoint,
    pub large: Option<ScalePoint>,
}

/// One case with the request gate's session check and without it, back to back.
pub struct SessionCheckRow {
    pub name: &'static str,
    pub with: (Stats, Option<Stats>),
    pub without: (Stats, Option<Stats>),
}

pub struct MemoryRow {
    pub name: &'static str,
    /// (invocations so far, VmRSS bytes), ascending.
    pub readings: Vec<(usize, u64)>,
}

pub struct Report {
    pub machine: Machine,
    /// The intended length of a series; shorter ones show their count.
    pub iterations: usize,
    pub notes: Vec<String>,
    pub small_scale: String,
    pub large_scale: Option<String>,
    pub cases: Vec<CaseRow>,
    pub scales: Vec<ScaleRow>,
    pub memory: Vec<MemoryRow>,
    pub session_check: Vec<SessionCheckRow>,
    pub enumeration: Vec<crate::identity::EnumerationRow>,
    pub warnings: Vec<String>,
}

impl Report {
    pub fn render(&self) -> String {
        let m = &self.machine;
        let mut out = String::new();
        let _ = writeln!(out, "# make bench\n");
        let _ = writeln!(out, "{}\n", m.render());
        for note in &self.notes {
            let _ = writeln!(out, "- {note}");
        }
        for warning in &self.warnings {
            let _ = writeln!(out, "- **warning:** {warning}");
        }

        let _ = writeln!(
            out,
            "\n## Functions and their floor ({})\n",
            self.small_scale
        );
        out.push_str(
            "| case | function | caller | cold start (median) | warm p50 | warm p99 | floor p50 | floor p99 | p50 function / floor | peak RSS (VmHWM) | binary |\n\
             |---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n",
        );
        for row in &self.cases {
            let (floor_p50, floor_p99, ratio) = match &row.floor {
                Some(f) => (ms(f.p50), self.p99(f), ratio(row.warm.p50, f.p50)),
                None => ("-".into(), "-".into(), "-".into()),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                row.name,
                row.function,
                row.caller,
                ms(row.cold_median),
                ms(row.warm.p50),
                self.p99(&row.warm),
                floor_p50,
                floor_p99,
                ratio,
                mib(row.peak_rss),
                mb(row.binary_size),
            );
        }

        if let Some(large) = &self.large_scale {
            let _ = writeln!(
                out,
                "\n## Small and large data: {} vs {large}\n",
                self.small_scale
            );
            out.push_str(
                "| case | rows seen (small) | rows seen (large) | function p50 (small) | function p50 (large) | large / small | floor p50 (small) | floor p50 (large) | function p99 (large) | function / floor (large) |\n\
                 |---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n",
            );
            for row in &self.scales {
                let Some(large) = &row.large else { continue };
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    row.name,
                    rows(row.small.rows),
                    rows(large.rows),
                    ms(row.small.warm.p50),
                    ms(large.warm.p50),
                    ratio(large.warm.p50, row.small.warm.p50),
                    row.small.floor.map_or("-".into(), |f| ms(f.p50)),
                    large.floor.map_or("-".into(), |f| ms(f.p50)),
                    self.p99(&large.warm),
                    large
                        .floor
                        .map_or("-".into(), |f| ratio(large.warm.p50, f.p50)),
                );
            }
        }

        if !self.session_check.is_empty() {
            let _ = writeln!(
                out,
                "\n## The session check: with and without ({})\n",
                self.small_scale
            );
            out.push_str(
                "The request gate's `private.session_is_live` (the token's session in auth.sessions, \
                 its user neither banned nor deleted) against the same gate with the check replaced by \
                 `true`, each case's warm function and floor in three alternating rounds (with, \
                 without, ...), their samples pooled.\n\n\
                 | case | function p50 with | without | difference | floor p50 with | without | difference | function p99 with | without |\n\
                 |---|--:|--:|--:|--:|--:|--:|--:|--:|\n",
            );
            for row in &self.session_check {
                let floor = |s: &Option<Stats>| s.map_or("-".into(), |f| ms(f.p50));
                let floor_difference = match (row.with.1, row.without.1) {
                    (Some(a), Some(b)) => signed_ms(a.p50, b.p50),
                    _ => "-".into(),
                };
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    row.name,
                    ms(row.with.0.p50),
                    ms(row.without.0.p50),
                    signed_ms(row.with.0.p50, row.without.0.p50),
                    floor(&row.with.1),
                    floor(&row.without.1),
                    floor_difference,
                    self.p99(&row.with.0),
                    self.p99(&row.without.0),
                );
            }
        }

        if !self.enumeration.is_empty() {
            out.push_str(
                "\n## The same answer for an address with an account and one without\n\n\
                 Each answer kind in one warm instance, an address with an account (a confirmed \
                 user, bcrypt cost 10) and one without interleaved, against the Supabase Auth \
                 stand-in; with the answer floor (`AUTH_ANSWER_FLOOR_MS`) and without it. \
                 Noise: the largest gap between the medians of a series' two halves.\n\n\
                 | answer | floor | account p50 | p90 | no account p50 | p90 | difference of p50s | noise |\n\
                 |---|--:|--:|--:|--:|--:|--:|--:|\n",
            );
            for row in &self.enumeration {
                let (a, b) = (&row.variants[0].1, &row.variants[1].1);
                let _ = writeln!(
                    out,
                    "| POST {} | {} | {} | {} | {} | {} | {} | {} |",
                    row.route,
                    row.floor_ms
                        .map_or("default".to_owned(), |f| format!("{f} ms")),
                    fine_ms(crate::measure::median(a.clone())),
                    fine_ms(crate::identity::EnumerationRow::p90(a)),
                    fine_ms(crate::measure::median(b.clone())),
                    fine_ms(crate::identity::EnumerationRow::p90(b)),
                    fine_ms(row.difference()),
                    fine_ms(row.noise()),
                );
            }
        }

        if !self.memory.is_empty() {
            let checkpoints: Vec<usize> = self.memory[0].readings.iter().map(|r| r.0).collect();
            let _ = writeln!(
                out,
                "\n## Memory over a long warm run ({})\n",
                self.small_scale
            );
            let _ = write!(out, "| case |");
            for c in &checkpoints {
                let _ = write!(out, " VmRSS after {} |", thousands(*c as u64));
            }
            out.push_str(" difference |\n|---|");
            for _ in &checkpoints {
                out.push_str("--:|");
            }
            out.push_str("--:|\n");
            for row in &self.memory {
                let _ = write!(out, "| {} |", row.name);
                for (_, rss) in &row.readings {
                    let _ = write!(out, " {} |", mib(*rss));
                }
                let first = row.readings.first().map_or(0, |r| r.1) as i64;
                let last = row.readings.last().map_or(0, |r| r.1) as i64;
                let _ = writeln!(out, " {} |", signed_kib(last - first));
            }
        }
        out
    }
}

impl Report {
    /// The p99, with the series' count when it was cut short.
    fn p99(&self, stats: &Stats) -> String {
        if stats.count < self.iterations {
            format!("{} (n={})", ms(stats.p99), stats.count)
        } else {
            ms(stats.p99)
        }
    }
}

pub fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 100.0 {
        format!("{ms:.1} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

/// Milliseconds with one decimal, however long (near a one-second floor, `ms` would round).
fn fine_ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// `a - b` in milliseconds, signed.
fn signed_ms(a: Duration, b: Duration) -> String {
    let diff = a.as_secs_f64() * 1000.0 - b.as_secs_f64() * 1000.0;
    format!("{diff:+.2} ms")
}

fn ratio(a: Duration, b: Duration) -> String {
    if b.is_zero() {
        return "-".into();
    }
    format!("{:.2}×", a.as_secs_f64() / b.as_secs_f64())
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn mb(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}

fn signed_kib(bytes: i64) -> String {
    let sign = if bytes < 0 { "-" } else { "+" };
    format!("{sign}{} KiB", thousands(bytes.unsigned_abs() / 1024))
}

fn rows(n: Option<u64>) -> String {
    n.map_or("-".into(), thousands)
}

/// 1234567 -> "1,234,567".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers_for_people() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(ms(Duration::from_micros(1234)), "1.23 ms");
        assert_eq!(ms(Duration::from_micros(45_600)), "45.6 ms");
        assert_eq!(ms(Duration::from_millis(321)), "321 ms");
        assert_eq!(ms(Duration::from_millis(1432)), "1.43 s");
        assert_eq!(signed_kib(-2048), "-2 KiB");
        assert_eq!(signed_kib(4096 * 1000), "+4,000 KiB");
        assert_eq!(
            ratio(Duration::from_millis(3), Duration::from_millis(2)),
            "1.50×"
        );
    }
}
