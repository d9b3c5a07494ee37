//! Scheduled functions: a Lambda an EventBridge schedule invokes (not an HTTP route),
//! with the same cold start (telemetry, the clients, the secrets) and runtime loop as the
//! routes. A job's handler takes the app and answers a summary of its run (the
//! invocation's response, also logged); an error fails the invocation (EventBridge
//! Scheduler retries it, and the function's errors alarm counts it).
//!
//! `functions::routes::JOBS` is their table; `make routes` writes each one's binary,
//! `[[bin]]` entry, template.yaml function (schedule, IAM, alarms) and event fixture.

use std::future::Future;
use std::pin::Pin;

use lambda_http::lambda_runtime::LambdaEvent;
use lambda_http::service_fn;

use crate::base::caller::Caller;
use crate::base::error::ApiError;
use crate::clients::App;
use crate::pipeline::route::{Deploy, S3Grant, DEFAULT_DEPLOY};

/// The future a job's handler returns, boxed so the table holds a function pointer.
pub type JobFuture = Pin<Box<dyn Future<Output = Result<serde_json::Value, ApiError>> + Send>>;
/// A job's handler: the app, and the run's context (its trace, for the calls it makes).
pub type JobHandler = fn(App, Caller) -> JobFuture;

/// `job!(module::function)`: a job's handler from an `async fn(App, Caller) ->
/// Result<Value, ApiError>`.
#[macro_export]
macro_rules! job {
    ($f:path) => {
        |app, caller| ::std::boxed::Box::pin($f(app, caller))
    };
}

/// An alarm on one of the job's own metrics (embedded metric format, dimension
/// `function`): over the template parameter `threshold` for two periods of 15 minutes,
/// or missing (the job stopped running).
#[derive(Debug, Clone, Copy)]
pub struct MetricAlarm {
    pub metric: &'static str,
    /// The template.yaml parameter that holds the threshold.
    pub threshold: &'static str,
    pub description: &'static str,
}

/// One scheduled function.
#[derive(Debug, Clone, Copy)]
pub struct Job {
    /// The binary and template.yaml function name.
    pub function: &'static str,
    /// EventBridge Scheduler's expression: `rate(5 minutes)`.
    pub schedule: &'static str,
    /// What it does, for template.yaml.
    pub doc: &'static str,
    pub handler: JobHandler,
    pub deploy: Deploy,
    pub alarm: Option<MetricAlarm>,
}

impl Job {
    pub const fn scheduled(
        function: &'static str,
        schedule: &'static str,
        handler: JobHandler,
    ) -> Self {
        Self {
            function,
            schedule,
            doc: "",
            handler,
            deploy: DEFAULT_DEPLOY,
            alarm: None,
        }
    }

    pub const fn alarm(mut self, alarm: MetricAlarm) -> Self {
        self.alarm = Some(alarm);
        self
    }

    pub const fn doc(mut self, doc: &'static str) -> Self {
        self.doc = doc;
        self
    }

    /// Its statements on the uploads bucket, and why it needs them.
    pub const fn s3(mut self, why: &'static str, grants: &'static [S3Grant]) -> Self {
        self.deploy.s3 = grants;
        self.deploy.s3_why = why;
        self
    }

    pub const fn timeout(mut self, seconds: u32) -> Self {
        self.deploy.timeout = Some(seconds);
        self
    }
}

/// Starts the Lambda runtime for `job`: the cold start as a route's (a bad configuration
/// stops it with a message naming the variable), then each scheduled event through the
/// handler. Its binary's whole `main`.
pub fn serve(job: Job) -> Result<(), lambda_http::Error> {
    crate::pipeline::runtime::start(async move {
        crate::pipeline::runtime::init(job.function);
        let app = App::from_env_and_secrets(crate::clients::KeysAtStart::Skip)
            .await
            .inspect_err(|e| {
                tracing::error!(job = job.function, error = %e, "cold start failed");
            })?;
        let app = &app;
        let service = service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
            let caller = Caller::background(
                &event.context.request_id,
                crate::pipeline::telemetry::current_trace(),
            );
            let summary = (job.handler)(app.clone(), caller).await;
            match &summary {
                Ok(summary) => tracing::info!(job = job.function, %summary, "job run"),
                Err(e) => {
                    tracing::error!(job = job.function, cause = e.cause.as_deref(), "job failed")
                }
            }
            summary.map_err(|e| lambda_http::Error::from(e.code.as_str()))
        });
        crate::pipeline::runtime::serve(service).await
    })
}
