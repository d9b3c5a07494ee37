//! JSON log lines for CloudWatch: one object per line, fields at the top level.
//!
//! The filter is `RUST_LOG` in its `target=level` form (`info`,
//! `info,cargo_lambda=warn`), or else Lambda's own `AWS_LAMBDA_LOG_LEVEL` (what a
//! function's `LoggingConfig` sets), parsed by tracing-subscriber's `Targets`: the same
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

/// The directives to filter with: `RUST_LOG` when set, else the level Lambda's
/// `LoggingConfig.ApplicationLogLevel` sets as `AWS_LAMBDA_LOG_LEVEL` (TRACE, DEBUG, INFO,
/// WARN, ERROR or FATAL; FATAL is `error`, the highest tracing has), else `info`.
pub fn directives(rust_log: Option<&str>, lambda_level: Option<&str>) -> Option<String> {
    if let Some(rust_log) = rust_log.filter(|d| !d.trim().is_empty()) {
        return Some(rust_log.to_owned());
    }
    let level = match lambda_level?.trim().to_ascii_uppercase().as_str() {
        "TRACE" => "trace",
        "DEBUG" => "debug",
        "INFO" => "info",
        "WARN" => "warn",
        "ERROR" | "FATAL" => "error",
        _ => return None,
    };
    Some(level.to_owned())
}

/// Installs the process-wide subscriber, filtered by [`directives`] (default `info`).
/// Safe to call more than once (later calls do nothing).
pub fn init() {
    let directives = directives(
        std::env::var("RUST_LOG").ok().as_deref(),
        std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(),
    );
    let filter = filter(directives.as_deref());
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

    #[test]
    fn rust_log_wins_else_lambdas_log_level_else_info() {
        assert_eq!(
            directives(Some("debug,x=warn"), Some("ERROR")).as_deref(),
            Some("debug,x=warn")
        );
        assert_eq!(directives(None, Some("WARN")).as_deref(), Some("warn"));
        assert_eq!(
            directives(Some(" "), Some("debug")).as_deref(),
            Some("debug")
        );
        assert_eq!(directives(None, Some("FATAL")).as_deref(), Some("error"));
        assert_eq!(directives(None, Some("TRACE")).as_deref(), Some("trace"));
        assert_eq!(directives(None, Some("LOUD")), None);
        assert_eq!(directives(None, None), None);
        let warn = filter(directives(None, Some("WARN")).as_deref());
        assert!(!warn.would_enable("functions", &Level::INFO));
        assert!(warn.would_enable("functions", &Level::WARN));
    }
}
