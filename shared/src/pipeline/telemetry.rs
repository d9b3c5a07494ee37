//! JSON log lines for CloudWatch: one object per line, fields at the top level, and the
//! invocation the process is serving.
//!
//! Every line carries `function` (`AWS_LAMBDA_FUNCTION_NAME`, else the route's function
//! name) and `cold_start` (true for the lines of the cold start and of the process's
//! first invocation, false afterwards); lines logged while an invocation is served also
//! carry its `requestId` (the Lambda request id) and `xray_trace_id` (the `Root=` part of
//! its trace header, `1-<8 hex>-<24 hex>`, what the X-Ray console searches by and what
//! Powertools logs; the whole header when it has no `Root=` part). Those come from the
//! invocation's span ([`Invocation::span`], entered by the runtime loop, and by any
//! future instrumented with it, however deep).
//!
//! The lines are json-subscriber's (tracing-subscriber's own JSON format nests span
//! fields under `span`): level, the event's fields flattened, and the four fields above
//! as its dynamic fields. Its own span flattening is not used: it adds the span's name
//! as a `name` field to every line, and merges the fields of every span, either of
//! which can repeat a key of the event's. [`InvocationLayer`] keeps the invocation
//! span's fields typed in the span's extensions instead, where the dynamic fields read
//! them. No event field may be named like one of the four: keys are not deduplicated.
//!
//! The same invocation is a tokio task-local ([`serve_invocation`]): the pipeline reads
//! its trace header once, into the request's context ([`crate::base::caller::Caller`]),
//! whose PostgREST, Supabase Auth and S3 calls carry it as `X-Amzn-Trace-Id`
//! ([`current_trace`]). Nothing is written to the environment (the reason the runtime
//! loop is ours: shared/src/pipeline/runtime.rs).
//!
//! The filter is `RUST_LOG` in its `target=level` form (`info`,
//! `info,cargo_lambda=warn`), or else Lambda's own `AWS_LAMBDA_LOG_LEVEL` (what a
//! function's `LoggingConfig` sets), parsed by tracing-subscriber's `Targets`: the same
//! directives as `EnvFilter` without span-field matching, which would link a regex
//! engine into every function for a feature no route uses.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use json_subscriber::JsonLayer;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Instrument, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// The name of the span the runtime loop serves each invocation in.
pub const INVOCATION_SPAN: &str = "invocation";

pub use crate::base::headers::TRACE_HEADER;

/// Set once the process's first invocation has been served.
static WARM: AtomicBool = AtomicBool::new(false);

tokio::task_local! {
    static CURRENT: Arc<Invocation>;
}

/// The invocation the process is serving: what its log lines and outgoing calls carry.
#[derive(Debug)]
pub struct Invocation {
    /// The Lambda request id (`Lambda-Runtime-Aws-Request-Id`).
    pub request_id: String,
    /// The trace header Lambda handed over (`Root=1-..;Parent=..;Sampled=..`), passed on
    /// as it is.
    pub trace_header: Option<String>,
    /// The process's first invocation.
    pub cold_start: bool,
}

impl Invocation {
    /// The next invocation of this process, cold when none was served before.
    pub fn new(request_id: &str, trace_header: Option<String>) -> Self {
        Self {
            request_id: request_id.to_owned(),
            trace_header,
            cold_start: !WARM.load(Ordering::Relaxed),
        }
    }

    /// The trace id of the log lines: the header's `Root=` part.
    pub fn xray_trace_id(&self) -> &str {
        self.trace_header.as_deref().map(xray_root).unwrap_or("")
    }

    /// The span its work runs in: its fields are top-level fields of every line inside.
    /// At ERROR level, so that whatever filter lets a line through keeps its span too.
    pub fn span(&self) -> tracing::Span {
        tracing::error_span!(
            INVOCATION_SPAN,
            requestId = self.request_id.as_str(),
            xray_trace_id = self.xray_trace_id(),
            cold_start = self.cold_start,
        )
    }
}

/// The `Root=` part of an X-Ray trace header (`Root=1-..;Parent=..;Sampled=1` gives
/// `1-..`), or the whole value when it has none.
pub fn xray_root(header: &str) -> &str {
    header
        .split(';')
        .find_map(|part| part.trim().strip_prefix("Root="))
        .unwrap_or(header)
}

/// Runs `work` as the invocation's: the clients read its trace header.
pub async fn serve_invocation<F: Future>(invocation: Arc<Invocation>, work: F) -> F::Output {
    CURRENT.scope(invocation, work).await
}

/// The process's first invocation has been served: later lines are warm.
pub fn end_invocation() {
    WARM.store(true, Ordering::Relaxed);
}

/// The invocation being served by this task, if any.
pub fn current() -> Option<Arc<Invocation>> {
    CURRENT.try_with(Arc::clone).ok()
}

/// `work` with the invocation and log span of the task that calls this: for a task to
/// spawn (a spawned task inherits neither).
pub fn propagate<F: Future>(work: F) -> impl Future<Output = F::Output> {
    let span = tracing::Span::current();
    let invocation = current();
    async move {
        match invocation {
            Some(invocation) => CURRENT.scope(invocation, work.instrument(span)).await,
            None => work.instrument(span).await,
        }
    }
}

/// The trace header of the invocation this task serves (none outside one), for the
/// request's context.
pub fn current_trace() -> Option<String> {
    CURRENT.try_with(|i| i.trace_header.clone()).ok().flatten()
}

/// The `function` of the log lines and metrics: Lambda's name for the function when it
/// is set, else the route's function name.
pub fn function_name(lambda_name: Option<&str>, route_function: &str) -> String {
    lambda_name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(route_function)
        .to_owned()
}

/// The fields of an invocation span, kept in its extensions by [`InvocationLayer`].
#[derive(Debug, Default)]
struct InvocationFields {
    request_id: String,
    xray_trace_id: String,
    cold_start: bool,
}

impl Visit for InvocationFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "requestId" => self.request_id = value.to_owned(),
            "xray_trace_id" => self.xray_trace_id = value.to_owned(),
            _ => {}
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if field.name() == "cold_start" {
            self.cold_start = value;
        }
    }

    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

/// Keeps the fields of each invocation span ([`Invocation::span`]) in its extensions,
/// for [`json_layer`].
pub struct InvocationLayer;

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for InvocationLayer {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != INVOCATION_SPAN {
            return;
        }
        if let Some(span) = ctx.span(id) {
            let mut fields = InvocationFields::default();
            attrs.record(&mut fields);
            span.extensions_mut().insert(fields);
        }
    }
}

/// `read` of the fields of the invocation span the event is in, if it is in one.
fn invocation_field<S, T>(
    event: &Event<'_>,
    ctx: &Context<'_, S>,
    read: impl Fn(&InvocationFields) -> T,
) -> Option<T>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    ctx.event_scope(event)?
        .find_map(|span| span.extensions().get::<InvocationFields>().map(&read))
}

/// The JSON layer: level, the event's fields, `function`, `cold_start`, and inside an
/// invocation `requestId` and `xray_trace_id`. Needs [`InvocationLayer`] beside it.
pub fn json_layer<S, W>(function: &str, writer: W) -> JsonLayer<S, W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    let mut layer = JsonLayer::new(writer);
    layer.with_level("level");
    layer.with_flattened_event();
    layer.add_static_field("function", serde_json::Value::from(function));
    layer.add_dynamic_field("cold_start", |event, ctx| {
        Some(
            invocation_field(event, ctx, |f| f.cold_start).unwrap_or(!WARM.load(Ordering::Relaxed)),
        )
    });
    layer.add_dynamic_field("requestId", |event, ctx| {
        invocation_field(event, ctx, |f| f.request_id.clone())
    });
    layer.add_dynamic_field("xray_trace_id", |event, ctx| {
        invocation_field(event, ctx, |f| f.xray_trace_id.clone())
    });
    layer
}

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

/// Installs the process-wide subscriber (JSON lines on stdout, filtered by
/// [`directives`], default `info`), naming `route_function` as [`function_name`] says,
/// and answers that name (for the metrics recorder: [`crate::pipeline::runtime::init`]).
/// Safe to call more than once (later calls do nothing).
pub fn init(route_function: &str) -> String {
    let function = function_name(
        std::env::var("AWS_LAMBDA_FUNCTION_NAME").ok().as_deref(),
        route_function,
    );
    let directives = directives(
        std::env::var("RUST_LOG").ok().as_deref(),
        std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(),
    );
    let filter = filter(directives.as_deref());
    let _ = tracing_subscriber::registry()
        .with(InvocationLayer)
        .with(json_layer(&function, std::io::stdout))
        .with(filter)
        .try_init();
    function
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::sync::Mutex;
    use tracing::Level;

    /// Log lines written to memory.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Lines {
        /// The lines, parsed; each key once (serde_json would keep the last of two).
        fn json(&self) -> Vec<Value> {
            let bytes = self.0.lock().unwrap().clone();
            String::from_utf8(bytes)
                .unwrap()
                .lines()
                .map(|l| {
                    let value: Value = serde_json::from_str(l).expect("one JSON object a line");
                    for key in value.as_object().unwrap().keys() {
                        assert_eq!(l.matches(&format!("\"{key}\":")).count(), 1, "{l}");
                    }
                    value
                })
                .collect()
        }

        fn subscriber(&self, directives: Option<&str>) -> impl Subscriber + Send + Sync {
            let writer = self.clone();
            tracing_subscriber::registry()
                .with(InvocationLayer)
                .with(json_layer("health", move || writer.clone()))
                .with(filter(directives))
        }
    }

    fn invocation(cold_start: bool) -> Invocation {
        Invocation {
            request_id: "req-1".into(),
            trace_header: Some("Root=1-abc-def;Parent=01;Sampled=0".into()),
            cold_start,
        }
    }

    #[test]
    fn the_trace_id_is_the_root_part_of_the_header() {
        let header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
        assert_eq!(xray_root(header), "1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(xray_root("Parent=1;Root=1-a-b"), "1-a-b");
        assert_eq!(xray_root("1-a-b"), "1-a-b");
        let invocation = Invocation::new("r", None);
        assert_eq!(invocation.xray_trace_id(), "");
    }

    #[test]
    fn the_function_is_lambdas_name_else_the_routes() {
        assert_eq!(
            function_name(Some("stack-Health-X1"), "health"),
            "stack-Health-X1"
        );
        assert_eq!(function_name(Some(" "), "health"), "health");
        assert_eq!(function_name(None, "health"), "health");
    }

    #[test]
    fn invocation_fields_are_top_level_and_lines_outside_carry_function_and_cold_start() {
        let lines = Lines::default();
        tracing::subscriber::with_default(lines.subscriber(None), || {
            tracing::info!(step = 1, "before");
            let span = invocation(false).span();
            span.in_scope(|| {
                tracing::info!(status = 200, "request");
                tracing::info_span!("inner", step = 2).in_scope(|| tracing::warn!("nested"));
            });
        });
        let lines = lines.json();
        assert_eq!(lines.len(), 3, "{lines:?}");
        let before = &lines[0];
        assert_eq!(before["function"], "health");
        assert_eq!(before["level"], "INFO");
        assert_eq!(before["message"], "before");
        assert_eq!(before["step"], 1);
        assert!(before["cold_start"].is_boolean(), "{before}");
        assert!(before.get("requestId").is_none());
        for line in &lines[1..] {
            assert_eq!(line["function"], "health");
            assert_eq!(line["requestId"], "req-1");
            assert_eq!(line["xray_trace_id"], "1-abc-def");
            assert_eq!(line["cold_start"], false, "the span's value, once: {line}");
            assert!(line.get("span").is_none() && line.get("spans").is_none());
            assert!(line.get("name").is_none(), "no span name: {line}");
        }
        assert_eq!(lines[1]["status"], 200);
        assert!(
            lines[2].get("step").is_none(),
            "only the invocation's span fields"
        );
        assert_eq!(lines[2]["level"], "WARN");
    }

    #[test]
    fn a_stricter_filter_keeps_the_invocation_on_the_lines_it_lets_through() {
        let lines = Lines::default();
        tracing::subscriber::with_default(lines.subscriber(Some("warn")), || {
            invocation(true).span().in_scope(|| {
                tracing::info!("dropped");
                tracing::warn!(reason = "x", "kept");
            });
        });
        let lines = lines.json();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0]["message"], "kept");
        assert_eq!(lines[0]["requestId"], "req-1");
        assert_eq!(lines[0]["cold_start"], true);
    }

    #[tokio::test]
    async fn the_trace_of_the_invocation_is_read_where_it_is_served_or_propagated() {
        let header = "Root=1-abc-def;Parent=01;Sampled=1";
        let invocation = Arc::new(Invocation::new("req-2", Some(header.into())));
        assert!(current_trace().is_none(), "no invocation, no trace");
        serve_invocation(invocation, async {
            assert_eq!(current_trace().as_deref(), Some(header));
            // A spawned task carries it only when propagated.
            let spawned = tokio::spawn(propagate(async { current_trace() }));
            assert_eq!(spawned.await.unwrap().as_deref(), Some(header));
            assert!(tokio::spawn(async { current_trace() })
                .await
                .unwrap()
                .is_none());
        })
        .await;
    }

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
