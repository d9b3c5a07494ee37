//! JSON log lines for CloudWatch: one object per line, fields at the top level.
//!
//! The filter is `RUST_LOG` in its `target=level` form (`info`,
//! `info,cargo_lambda=warn`), parsed by tracing-subscriber's `Targets`: the same
//! directives as `EnvFilter` without span-field matching, which would link a regex
//! engine into every function for a feature no route uses.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The filter for a `RUST_LOG` value (default `info`; an unparsable value is `info` too).
pub fn filter(directives: Option<&str>) -> Targets {
    directives
        .and_then(|d| d.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
}

/// Installs the process-wide subscriber. `RUST_LOG` filters (default `info`).
/// Safe to call more than once (later calls do nothing).
pub fn init() {
    let filter = filter(std::env::var("RUST_LOG").ok().as_deref());
    let format = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .without_time();
    let _ = tracing_subscriber::registry()
        .with(format)
        .with(filter)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn rust_log_directives_filter_by_target() {
        let f = filter(Some("info,cargo_lambda=warn"));
        assert!(f.would_enable("functions", &Level::INFO));
        assert!(!f.would_enable("functions", &Level::DEBUG));
        assert!(!f.would_enable("cargo_lambda", &Level::INFO));
        assert!(f.would_enable("cargo_lambda", &Level::WARN));
        assert!(filter(None).would_enable("x", &Level::INFO));
        assert!(!filter(Some("warn")).would_enable("x", &Level::INFO));
    }
}
