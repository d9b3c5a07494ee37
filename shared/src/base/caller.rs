//! The request's context, carried explicitly from the pipeline to every client call:
//! who asked and from where (for logs, audit events and Supabase Auth), the trace the
//! outgoing calls continue, what the database must be told about this request (the
//! rate-limit pass the pipeline already counted, the create's idempotency key), and the
//! headers the services' answers hand back for the API's own answer.

use std::sync::{Arc, Mutex};

use http::{HeaderName, HeaderValue};

/// What the pipeline knows about a request before the handler runs. Public routes get
/// it as it is; user routes get it with the verified user (`auth::SignedIn`). Cloning
/// shares the headers kept for the answer.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub request_id: String,
    /// The client's address as API Gateway saw it.
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The invocation's `X-Amzn-Trace-Id`, passed on to the services called.
    trace: Option<String>,
    /// The pass of this request's rate-limit hit, for the database's request gate.
    rate_limit_pass: Option<String>,
    /// This request's `Idempotency-Key`, on the routes that take one.
    idempotency_key: Option<String>,
    /// Headers the services set for this request's answer (the request gate's
    /// RateLimit headers, `Idempotent-Replayed`), in the order they came.
    kept: Arc<Mutex<Vec<(HeaderName, HeaderValue)>>>,
}

impl Caller {
    pub fn new(
        request_id: String,
        ip: Option<String>,
        user_agent: Option<String>,
        trace: Option<String>,
    ) -> Self {
        // A trace that is not a valid header value is not passed on (it would fail the
        // calls that carry it).
        let trace = trace.filter(|t| HeaderValue::from_str(t).is_ok());
        Self {
            request_id,
            ip,
            user_agent,
            trace,
            ..Self::default()
        }
    }

    /// The context of work no client asked for (a scheduled job, a cold start): only
    /// the trace.
    pub fn background(request_id: &str, trace: Option<String>) -> Self {
        Self::new(request_id.to_owned(), None, None, trace)
    }

    /// The trace header to pass on, if the invocation has one.
    pub fn trace(&self) -> Option<&str> {
        self.trace.as_deref()
    }

    /// `request` carrying this request's trace header, if it has one.
    pub fn traced(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        with_trace(request, self.trace())
    }

    pub fn rate_limit_pass(&self) -> Option<&str> {
        self.rate_limit_pass.as_deref()
    }

    pub fn set_rate_limit_pass(&mut self, pass: Option<String>) {
        self.rate_limit_pass = pass;
    }

    /// The request's `Idempotency-Key`, as the pipeline checked it (routes that take one).
    pub fn idempotency_key(&self) -> Option<&str> {
        self.idempotency_key.as_deref()
    }

    pub fn set_idempotency_key(&mut self, key: Option<String>) {
        self.idempotency_key = key;
    }

    /// Keeps a header for the answer; a later value of the same name replaces it.
    pub fn keep_header(&self, name: HeaderName, value: HeaderValue) {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.retain(|(n, _)| *n != name);
        kept.push((name, value));
    }

    /// The headers kept so far, taken (each once).
    pub fn take_kept_headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        std::mem::take(&mut *self.kept.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// `request` carrying the trace header `trace`, if there is one (and it is a valid
/// header value).
pub fn with_trace(
    request: reqwest::RequestBuilder,
    trace: Option<&str>,
) -> reqwest::RequestBuilder {
    match trace {
        Some(trace) => request.header(crate::base::headers::TRACE_HEADER, trace),
        None => request,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_headers_are_shared_by_clones_and_taken_once() {
        let caller = Caller::new("r".into(), None, None, None);
        let handler_copy = caller.clone();
        handler_copy.keep_header(HeaderName::from_static("a"), HeaderValue::from_static("1"));
        handler_copy.keep_header(HeaderName::from_static("a"), HeaderValue::from_static("2"));
        let kept = caller.take_kept_headers();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].1, "2");
        assert!(caller.take_kept_headers().is_empty());
    }
}
