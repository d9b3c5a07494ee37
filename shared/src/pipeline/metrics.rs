//! CloudWatch metrics in the embedded metric format (EMF): JSON lines on stdout that
//! CloudWatch Logs turns into metrics, no API call and no agent. The `metrics` facade
//! records them; `metrics_cloudwatch_embedded` is its recorder and writes the documents.
//!
//! Per function (dimension `function`, the same name as the log lines'
//! `function`):
//!
//! | metric | unit | recorded |
//! |---|---|---|
//! | `requests` | Count | every request through the pipeline (`log_and_audit`) |
//! | `latency` | Milliseconds | its time in the pipeline (for a stream: until the stream starts) |
//! | `refusals` | Count | a 4xx, with dimension `code` (`UNAUTHORIZED`, `VALIDATION_ERROR`, `RATE_LIMITED`, ...) |
//! | `errors` | Count | a 5xx with dimension `code` (`INTERNAL_ERROR`, `SERVICE_UNAVAILABLE`), or an invocation the runtime failed (`Runtime.Panic`, `Runtime.InvalidEvent`, ...) |
//! | `rate_limited` | Count | a 429 (also a `refusals` with code `RATE_LIMITED`) |
//! | `cold_starts` | Count | the process's first invocation |
//! | `storage_backlog` | Count | sweep-storage: objects still queued for deletion after its run |
//! | `storage_deleted` | Count | sweep-storage: objects deleted from S3 |
//! | `storage_delete_failures` | Count | sweep-storage: deletes S3 refused or could not answer |
//!
//! The runtime loop flushes after each invocation, once its response has been posted
//! (the client never waits for it): one EMF document a line per dimension set, with the
//! invocation's `requestId` and `xray_trace_id` as properties (searchable, not
//! dimensions). Counters with nothing to report are left out.
//!
//! The namespace is `POWERTOOLS_METRICS_NAMESPACE` (the variable Powertools for AWS
//! Lambda reads), default [`DEFAULT_NAMESPACE`].

use std::io::Write;
use std::sync::OnceLock;
use std::time::Duration;

use metrics_cloudwatch_embedded::{Builder, Collector};

use crate::pipeline::telemetry::Invocation;

/// The variable that names the CloudWatch namespace.
pub const NAMESPACE_VAR: &str = "POWERTOOLS_METRICS_NAMESPACE";
/// The namespace when the variable is not set.
pub const DEFAULT_NAMESPACE: &str = "supa-lambda";

pub const REQUESTS: &str = "requests";
pub const LATENCY: &str = "latency";
pub const REFUSALS: &str = "refusals";
pub const ERRORS: &str = "errors";
pub const RATE_LIMITED: &str = "rate_limited";
pub const COLD_STARTS: &str = "cold_starts";
pub const STORAGE_BACKLOG: &str = "storage_backlog";
pub const STORAGE_DELETED: &str = "storage_deleted";
pub const STORAGE_DELETE_FAILURES: &str = "storage_delete_failures";

static COLLECTOR: OnceLock<&'static Collector> = OnceLock::new();

/// The namespace for a `POWERTOOLS_METRICS_NAMESPACE` value.
pub fn namespace(value: Option<&str>) -> String {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .unwrap_or(DEFAULT_NAMESPACE)
        .to_owned()
}

/// Installs the process's recorder, its documents dimensioned by `function`. Later
/// calls do nothing; without it (tests calling handlers in-process) recording is a no-op.
pub fn init(function: &str) {
    if COLLECTOR.get().is_some() {
        return;
    }
    let namespace = namespace(std::env::var(NAMESPACE_VAR).ok().as_deref());
    match collector(namespace, function, None) {
        Ok(collector) => {
            let _ = COLLECTOR.set(collector);
        }
        Err(e) => tracing::warn!(error = %e, "metrics recorder not installed"),
    }
}

/// The recorder, installed as the process's (`timestamp` fixes the documents' time, for
/// tests).
fn collector(
    namespace: String,
    function: &str,
    timestamp: Option<u64>,
) -> Result<&'static Collector, String> {
    let mut builder = Builder::new()
        .cloudwatch_namespace(namespace)
        .with_dimension("function", function.to_owned());
    if let Some(timestamp) = timestamp {
        builder = builder.with_timestamp(timestamp);
    }
    let collector = builder.init().map_err(|e| e.to_string())?;
    describe();
    Ok(collector)
}

fn describe() {
    use ::metrics::Unit;
    ::metrics::describe_counter!(REQUESTS, Unit::Count, "requests served");
    ::metrics::describe_histogram!(LATENCY, Unit::Milliseconds, "time in the pipeline");
    ::metrics::describe_counter!(REFUSALS, Unit::Count, "4xx answers by error code");
    ::metrics::describe_counter!(ERRORS, Unit::Count, "5xx answers and failed invocations");
    ::metrics::describe_counter!(RATE_LIMITED, Unit::Count, "429 answers");
    ::metrics::describe_counter!(COLD_STARTS, Unit::Count, "first invocations");
    ::metrics::describe_gauge!(STORAGE_BACKLOG, Unit::Count, "objects queued for deletion");
    ::metrics::describe_counter!(STORAGE_DELETED, Unit::Count, "objects deleted");
    ::metrics::describe_counter!(STORAGE_DELETE_FAILURES, Unit::Count, "deletes that failed");
}

/// One request through the pipeline: its status, time, and the code of its error
/// envelope when it was refused or failed.
pub fn record_request(status: u16, latency: Duration, code: Option<&'static str>) {
    ::metrics::counter!(REQUESTS).increment(1);
    ::metrics::histogram!(LATENCY).record(latency.as_secs_f64() * 1000.0);
    let Some(code) = code else {
        return;
    };
    let name = if status >= 500 { ERRORS } else { REFUSALS };
    ::metrics::counter!(name, "code" => code).increment(1);
    if status == 429 {
        ::metrics::counter!(RATE_LIMITED).increment(1);
    }
}

/// An invocation the runtime answered with an error (`Runtime.Panic`, ...): no request
/// line was logged for it.
pub fn record_failed_invocation(kind: &'static str) {
    ::metrics::counter!(ERRORS, "code" => kind).increment(1);
}

/// One run of the storage sweep: what it deleted, what failed, what is left queued.
pub fn record_storage_sweep(deleted: u64, failed: u64, backlog: u64) {
    ::metrics::counter!(STORAGE_DELETED).increment(deleted);
    ::metrics::counter!(STORAGE_DELETE_FAILURES).increment(failed);
    ::metrics::gauge!(STORAGE_BACKLOG).set(backlog as f64);
}

pub fn record_cold_start() {
    ::metrics::counter!(COLD_STARTS).increment(1);
}

/// Writes what was recorded since the last flush, as EMF lines on stdout (one write, so
/// no log line lands inside one), with the invocation's ids as properties.
pub fn flush(invocation: &Invocation) {
    let Some(collector) = COLLECTOR.get() else {
        return;
    };
    let lines = emf_lines(collector, invocation);
    if !lines.is_empty() {
        let _ = std::io::stdout().lock().write_all(&lines);
    }
}

fn emf_lines(collector: &Collector, invocation: &Invocation) -> Vec<u8> {
    collector
        .set_property("requestId", invocation.request_id.clone())
        .set_property("xray_trace_id", invocation.xray_trace_id().to_owned());
    let mut lines = Vec::with_capacity(1024);
    if collector.flush(&mut lines).is_err() {
        lines.clear();
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn the_namespace_is_powertools_variable_else_the_default() {
        assert_eq!(namespace(Some("Shop")), "Shop");
        assert_eq!(namespace(Some(" ")), DEFAULT_NAMESPACE);
        assert_eq!(namespace(None), DEFAULT_NAMESPACE);
    }

    /// The one test that installs the process's recorder (a process has one).
    #[test]
    fn a_flush_writes_one_emf_document_per_dimension_set() {
        let collector = collector("TestNs".into(), "health", Some(1_700_000_000_000)).unwrap();
        let invocation = Invocation::new("req-1", Some("Root=1-abc-def;Sampled=0".into()));
        record_cold_start();
        record_request(200, Duration::from_millis(3), None);
        record_request(401, Duration::from_micros(1500), Some("UNAUTHORIZED"));
        record_request(429, Duration::from_millis(1), Some("RATE_LIMITED"));
        record_request(503, Duration::from_millis(2), Some("SERVICE_UNAVAILABLE"));
        let text = String::from_utf8(emf_lines(collector, &invocation)).unwrap();
        let docs: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON document a line"))
            .collect();
        for doc in &docs {
            assert_eq!(doc["_aws"]["Timestamp"], 1_700_000_000_000u64);
            assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"], "TestNs");
            assert_eq!(doc["function"], "health");
            assert_eq!(doc["requestId"], "req-1");
            assert_eq!(doc["xray_trace_id"], "1-abc-def");
        }
        let by_dimensions = |dims: Value| {
            docs.iter()
                .find(|d| d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == json!([dims]))
                .unwrap_or_else(|| panic!("no document for {dims}: {text}"))
        };
        let plain = by_dimensions(json!(["function"]));
        assert_eq!(plain[REQUESTS], 4);
        assert_eq!(plain[COLD_STARTS], 1);
        assert_eq!(plain[RATE_LIMITED], 1);
        assert_eq!(plain[LATENCY], json!([3.0, 1.5, 1.0, 2.0]));
        let metrics = &plain["_aws"]["CloudWatchMetrics"][0]["Metrics"];
        assert!(metrics
            .as_array()
            .unwrap()
            .contains(&json!({"Name": LATENCY, "Unit": "Milliseconds"})));
        let unauthorized = docs
            .iter()
            .find(|d| d["code"] == "UNAUTHORIZED")
            .expect("a refusals document for UNAUTHORIZED");
        assert_eq!(
            unauthorized["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["function", "code"]])
        );
        assert_eq!(unauthorized[REFUSALS], 1);
        let limited = docs.iter().find(|d| d["code"] == "RATE_LIMITED").unwrap();
        assert_eq!(limited[REFUSALS], 1);
        let unavailable = docs
            .iter()
            .find(|d| d["code"] == "SERVICE_UNAVAILABLE")
            .unwrap();
        assert_eq!(unavailable[ERRORS], 1);

        // Counters are deltas: nothing new, nothing written.
        assert!(emf_lines(collector, &invocation).is_empty());
    }
}
