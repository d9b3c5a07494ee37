//! JSON log lines for CloudWatch: one object per line, fields at the top level.

use tracing_subscriber::EnvFilter;

/// Installs the process-wide subscriber. `RUST_LOG` filters (default `info`).
/// Safe to call more than once (later calls do nothing).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_env_filter(filter)
        .without_time()
        .try_init();
}
