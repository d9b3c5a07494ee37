//! The report of `make chaos`: markdown for people, JSON for tooling.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use serde_json::{json, Value};

use super::check::{Check, State};
use super::workload::{Ending, History, Kind};
use super::{outcomes, ChaosSettings, Fault, Phases};
use crate::measure::percentile;
use crate::report::{ms, thousands, Machine};

pub struct Rendered<'a> {
    pub machine: Machine,
    pub chaos: &'a ChaosSettings,
    pub history: &'a History,
    pub faults: &'a [Fault],
    pub check: &'a Check,
    pub state: &'a State,
    pub phases: Phases,
    pub instances_started: usize,
    pub elapsed: Duration,
}

/// Latency of answered attempts: (count, p50, p99).
#[derive(Clone, Copy, Default)]
struct Latency {
    count: usize,
    p50: Duration,
    p99: Duration,
}

impl Latency {
    fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        Self {
            count: samples.len(),
            p50: percentile(&samples, 50.0),
            p99: percentile(&samples, 99.0),
        }
    }

    fn cell(&self) -> String {
        if self.count == 0 {
            "-".into()
        } else {
            format!("{} / {}", ms(self.p50), ms(self.p99))
        }
    }

    fn json(&self) -> Value {
        json!({ "count": self.count, "p50_ms": self.p50.as_secs_f64() * 1e3, "p99_ms": self.p99.as_secs_f64() * 1e3 })
    }
}

/// One phase's throughput: operations answered 2xx per second, and their latency.
struct Throughput {
    per_second: f64,
    latency: Latency,
}

impl Rendered<'_> {
    /// Whether an attempt overlapped a fault (or the second after one).
    fn during_fault(&self, sent: Duration, elapsed: Duration) -> bool {
        let end = sent + elapsed;
        self.faults
            .iter()
            .any(|f| sent <= f.until + Duration::from_secs(1) && end >= f.at)
    }

    /// Per route, answered attempts of the faults phase: without and during faults.
    fn latency_by_route(&self) -> BTreeMap<&'static str, (Latency, Latency)> {
        let mut samples: BTreeMap<&'static str, (Vec<Duration>, Vec<Duration>)> = BTreeMap::new();
        for a in &self.history.attempts {
            let op = &self.history.ops[a.op];
            if op.baseline || a.ending != Ending::Answered {
                continue;
            }
            let entry = samples.entry(op.kind.route()).or_default();
            if self.during_fault(a.sent, a.elapsed) {
                entry.1.push(a.elapsed);
            } else {
                entry.0.push(a.elapsed);
            }
        }
        samples
            .into_iter()
            .map(|(route, (calm, faulty))| (route, (Latency::of(calm), Latency::of(faulty))))
            .collect()
    }

    fn throughput(&self, kind: Kind, (from, to): (Duration, Duration)) -> Option<Throughput> {
        let seconds = (to - from).as_secs_f64();
        if seconds <= 0.0 {
            return None;
        }
        let done: Vec<Duration> = self
            .history
            .attempts
            .iter()
            .filter(|a| {
                self.history.ops[a.op].kind == kind
                    && self.history.ops[a.op].baseline
                    && a.status.is_some_and(|s| (200..300).contains(&s))
            })
            .map(|a| a.elapsed)
            .collect();
        Some(Throughput {
            per_second: done.len() as f64 / seconds,
            latency: Latency::of(done),
        })
    }

    fn fault_kinds(&self) -> BTreeMap<&'static str, usize> {
        let mut kinds = BTreeMap::new();
        for f in self.faults {
            *kinds.entry(f.kind).or_insert(0) += 1;
        }
        kinds
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let c = self.chaos;
        let _ = writeln!(out, "# make chaos\n");
        let _ = writeln!(out, "{}\n", self.machine.render());
        let _ = writeln!(
            out,
            "Seed {} (`CHAOS_SEED={}` reproduces the fault schedule), {} users, {} s under faults after a {} s baseline; {} function instances started; {:.0} s in all.\n",
            c.seed, c.seed, c.instances, c.seconds, c.baseline_seconds, self.instances_started, self.elapsed.as_secs_f64()
        );

        let _ = writeln!(out, "## The checker\n");
        if self.check.violations.is_empty() {
            let _ = writeln!(out, "**Violations: none.**\n");
        } else {
            let _ = writeln!(out, "**Violations: {}**\n", self.check.violations.len());
            for v in &self.check.violations {
                let _ = writeln!(out, "- {v}");
            }
            let _ = writeln!(out);
        }
        let _ = writeln!(out, "| create | acknowledged (found exactly once) | done, every answer lost (at most once) | not done (refused, or given up) |\n|---|--:|--:|--:|");
        for (kind, [ack, unack, none]) in &self.check.creates {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                kind.route(),
                thousands(*ack as u64),
                unack,
                none
            );
        }
        let s = self.state;
        let _ = writeln!(
            out,
            "\nAt the end: {} projects, {} uploads ({} ready), {} objects in the bucket, {} keys still queued for deletion (claimed by a sweep that failed or was killed: a later sweep takes them), {} posts, {} users made by the admin; orphans (profiles without a user, users without a profile, without a role): {:?}.\n",
            thousands(s.projects.len() as u64),
            s.uploads.len(),
            s.uploads.values().filter(|(_, st)| st == "ready").count(),
            s.objects.len(),
            s.queued.len(),
            s.posts.len(),
            s.users.len(),
            s.orphans
        );

        let _ = writeln!(out, "## Throughput, before the faults\n");
        let _ = writeln!(
            out,
            "| project creates | per second | p50 / p99 |\n|---|--:|--:|"
        );
        for (label, kind, phase) in [
            (
                "through create-project",
                Kind::CreateProject,
                self.phases.baseline_functions,
            ),
            (
                "straight to PostgREST (rpc/create_project)",
                Kind::StraightCreate,
                self.phases.baseline_straight,
            ),
        ] {
            if let Some(t) = self.throughput(kind, phase) {
                let _ = writeln!(
                    out,
                    "| {label} | {:.0} | {} |",
                    t.per_second,
                    t.latency.cell()
                );
            }
        }

        let _ = writeln!(out, "\n## Requests by route, under faults\n");
        let _ = writeln!(out, "p50 / p99 of answered attempts, apart for those that overlapped a fault (or the second after it).\n");
        let _ = writeln!(out, "| route | attempts | outcomes | without faults | during faults |\n|---|--:|---|--:|--:|");
        let latency = self.latency_by_route();
        for (route, counts) in outcomes(self.history) {
            if route == Kind::StraightCreate.route() {
                continue;
            }
            let total: u64 = counts.values().sum();
            let list = counts
                .iter()
                .map(|(label, n)| format!("{label}: {}", thousands(*n)))
                .collect::<Vec<_>>()
                .join(", ");
            let (calm, faulty) = latency.get(route).copied().unwrap_or_default();
            let _ = writeln!(
                out,
                "| {route} | {} | {list} | {} | {} |",
                thousands(total),
                calm.cell(),
                faulty.cell()
            );
        }

        let _ = writeln!(out, "\n## Faults injected ({})\n", self.faults.len());
        for (kind, n) in self.fault_kinds() {
            let _ = writeln!(out, "- {kind}: {n}");
        }
        let _ = writeln!(out, "\n| at | fault |\n|--:|---|");
        for f in self.faults {
            let _ = writeln!(out, "| {:.2} s | {} |", f.at.as_secs_f64(), f.what);
        }
        out
    }

    pub fn json(&self) -> Value {
        let latency: BTreeMap<&str, Value> = self
            .latency_by_route()
            .into_iter()
            .map(|(route, (calm, faulty))| {
                (
                    route,
                    json!({ "without_faults": calm.json(), "during_faults": faulty.json() }),
                )
            })
            .collect();
        let throughput = |kind, phase| {
            self.throughput(kind, phase)
                .map(|t| json!({ "per_second": t.per_second, "latency": t.latency.json() }))
        };
        json!({
            "seed": self.chaos.seed,
            "seconds": self.chaos.seconds,
            "baseline_seconds": self.chaos.baseline_seconds,
            "users": self.chaos.instances,
            "instances_started": self.instances_started,
            "outcomes": outcomes(self.history),
            "latency": latency,
            "throughput": {
                "functions": throughput(Kind::CreateProject, self.phases.baseline_functions),
                "postgrest": throughput(Kind::StraightCreate, self.phases.baseline_straight),
            },
            "creates": self.check.creates.iter().map(|(k, v)| (k.route(), v.to_vec())).collect::<BTreeMap<_, _>>(),
            "faults": self.faults.iter().map(|f| json!({ "at_ms": f.at.as_millis() as u64, "until_ms": f.until.as_millis() as u64, "kind": f.kind, "what": f.what })).collect::<Vec<_>>(),
            "violations": self.check.violations,
        })
    }
}
