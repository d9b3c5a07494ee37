//! What issue 22's identity rules cost and whether they hide what they must:
//!
//! - the session check: the same cases with the request gate's `private.session_is_live`
//!   and with it replaced by `true` in the bench's own database (restored after), warm
//!   function and floor in alternating rounds (main.rs, `Bench::session_check`), so the
//!   difference is the check's cost on one machine in one run;
//! - the answers that must not tell accounts apart: sign-in with a wrong password,
//!   sign-up, magic link and recovery, for an address with an account and one without,
//!   interleaved in one warm instance each, with the functions' answer floor
//!   (`AUTH_ANSWER_FLOOR_MS`, default 1000 ms) and without it (0), against the Supabase
//!   Auth stand-in (bcrypt cost 10, as GoTrue). The spread of each series' two halves is
//!   the run-to-run noise the difference is held against.

use std::time::Duration;

use serde_json::json;

use crate::error::{Context, Result};
use crate::event::{EventTemplate, HttpRequest};
use crate::function::Launcher;
use crate::measure::{median, percentile, Instance};

/// The functions of the sign-in answers.
pub const FUNCTIONS: [&str; 4] = ["sign-in", "sign-up", "magic-link", "recover"];

/// One answer kind, for an existing and for an unknown address.
pub struct EnumerationRow {
    pub route: &'static str,
    /// `AUTH_ANSWER_FLOOR_MS`, or `None` for the functions' default.
    pub floor_ms: Option<u64>,
    /// (label, samples), the first two compared.
    pub variants: Vec<(&'static str, Vec<Duration>)>,
}

impl EnumerationRow {
    /// |median(a) - median(b)| of the first two variants.
    pub fn difference(&self) -> Duration {
        let a = median(self.variants[0].1.clone());
        let b = median(self.variants[1].1.clone());
        a.abs_diff(b)
    }

    /// The noise of the run: the largest gap between the medians of a series' first and
    /// second halves.
    pub fn noise(&self) -> Duration {
        self.variants
            .iter()
            .map(|(_, samples)| {
                let (first, second) = samples.split_at(samples.len() / 2);
                median(first.to_vec()).abs_diff(median(second.to_vec()))
            })
            .max()
            .unwrap_or_default()
    }

    pub fn p90(samples: &[Duration]) -> Duration {
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        percentile(&sorted, 90.0)
    }
}

/// A request to one of the sign-in routes, as API Gateway hands it over.
fn auth_event(route: &str, body: serde_json::Value) -> Result<EventTemplate> {
    let body = body.to_string();
    EventTemplate::new(&HttpRequest {
        method: "POST",
        route,
        path: route,
        query: "",
        body: Some(&body),
        bearer_token: None,
    })
}

/// The addresses the measurements use.
pub struct Addresses {
    /// A confirmed account with a password (bcrypt cost 10), which the measurements
    /// never send: every sign-in is a wrong password.
    pub known: String,
}

/// Each answer kind `samples` times per address kind, interleaved, in one warm instance
/// of its function whose environment sets `AUTH_ANSWER_FLOOR_MS=floor_ms` (or leaves the
/// default).
pub async fn enumeration(
    launcher: &Launcher,
    addresses: &Addresses,
    samples: usize,
    floor_ms: Option<u64>,
) -> Result<Vec<EnumerationRow>> {
    let launcher = match floor_ms {
        Some(ms) => launcher.with_env("AUTH_ANSWER_FLOOR_MS", &ms.to_string()),
        None => launcher.with_env("RUST_LOG", "warn"),
    };
    let fresh = || format!("nobody-{}@bench.example", uuid::Uuid::new_v4());
    let known = addresses.known.as_str();
    let mut rows = Vec::new();
    // (route, function, the body for an address): the known address first.
    type Body<'a> = Box<dyn Fn(&str) -> serde_json::Value + 'a>;
    let kinds: Vec<(&'static str, &'static str, Body)> = vec![
        (
            "/auth/sign-in",
            "sign-in",
            Box::new(|email: &str| json!({ "email": email, "password": "not the password" })),
        ),
        (
            "/auth/sign-up",
            "sign-up",
            Box::new(
                |email: &str| json!({ "email": email, "password": "a long enough password", "name": "Bench User" }),
            ),
        ),
        (
            "/auth/magic-link",
            "magic-link",
            Box::new(|email: &str| json!({ "email": email })),
        ),
        (
            "/auth/recover",
            "recover",
            Box::new(|email: &str| json!({ "email": email })),
        ),
    ];
    for (route, function, body) in kinds {
        let mut instance = Instance::start(&launcher, function)
            .await
            .context(function)?;
        // The cold invocation is not one of them.
        instance
            .invoke_any(auth_event(route, body(&fresh()))?.render())
            .await?;
        let (mut with_account, mut without) = (Vec::new(), Vec::new());
        for _ in 0..samples {
            let (latency, _) = instance
                .invoke_any(auth_event(route, body(known))?.render())
                .await?;
            with_account.push(latency);
            let (latency, _) = instance
                .invoke_any(auth_event(route, body(&fresh()))?.render())
                .await?;
            without.push(latency);
        }
        rows.push(EnumerationRow {
            route,
            floor_ms,
            variants: vec![("an account", with_account), ("no account", without)],
        });
    }
    Ok(rows)
}
