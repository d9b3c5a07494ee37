//! One limiter for every route that asks for one: fixed windows counted atomically in
//! Postgres (where all Lambda instances meet), with the limits in `rate_limit_rules`.
//!
//! - Writes (POST, PUT, PATCH, DELETE) of signed-in users whose first side effect is
//!   not a PostgREST write: the pipeline calls `hit_route_limit_for(<claims>, <function
//!   name>)` through the service role (the only caller that gets a pass); the key is
//!   derived in SQL from the claims' user (a rule per function where one exists, else
//!   `write`).
//! - Before sign-in: `hit_subject_limit(rule, subject)` through the service role, by
//!   address or by a hash of the email.
//!
//! Answers carry `RateLimit-Policy` and `RateLimit` (IETF httpapi draft) and, on 429,
//! `Retry-After`. When Postgres cannot be reached the limiter fails closed (503): the
//! routes it guards are writes and sign-ins, which need Postgres anyway.

use http::{HeaderName, HeaderValue};
use serde::Deserialize;

use crate::auth::SignedIn;
use crate::base::caller::Caller;
use crate::base::error::{ApiError, ErrorCode};
pub use crate::base::headers::{RATELIMIT, RATELIMIT_POLICY};
use crate::clients::postgrest::{self, ServiceDb};
use crate::clients::sql;
use crate::clients::App;

/// A rule as the migration seeds it in `rate_limit_rules` (the database is the source of
/// truth; these name the numbers for docs and tests, and a test checks they agree).
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub rule: &'static str,
    pub max: u32,
    pub window_seconds: u32,
}

/// One counted hit: where the caller stands in the rule's current window.
#[derive(Debug, Clone, Deserialize)]
pub struct Quota {
    pub rule: String,
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Window length in seconds.
    pub window: u32,
    /// Seconds until the window resets.
    pub reset: u64,
    /// For an allowed user-keyed hit: the pass that lets this request's own PostgREST
    /// writes through the database's request gate without a second count.
    #[serde(default)]
    pub pass: Option<String>,
}

impl Quota {
    /// The quota after its hit was given back ([`release_subject`]).
    pub fn given_back(&mut self) {
        self.remaining = (self.remaining + 1).min(self.limit);
        self.allowed = true;
    }
}

/// The header values for one or more quotas (a list, as the draft allows).
pub fn headers(quotas: &[Quota]) -> Vec<(HeaderName, HeaderValue)> {
    if quotas.is_empty() {
        return Vec::new();
    }
    let policy = quotas
        .iter()
        .map(|q| format!("\"{}\";q={};w={}", q.rule, q.limit, q.window))
        .collect::<Vec<_>>()
        .join(", ");
    let state = quotas
        .iter()
        .map(|q| format!("\"{}\";r={};t={}", q.rule, q.remaining, q.reset))
        .collect::<Vec<_>>()
        .join(", ");
    [(RATELIMIT_POLICY, policy), (RATELIMIT, state)]
        .into_iter()
        .filter_map(|(n, v)| HeaderValue::from_str(&v).ok().map(|v| (n, v)))
        .collect()
}

/// Puts the RateLimit headers of `quotas` on a successful response.
pub fn add_headers(response: &mut lambda_http::Response<lambda_http::Body>, quotas: &[Quota]) {
    for (name, value) in headers(quotas) {
        response.headers_mut().insert(name, value);
    }
}

/// 429 with Retry-After and the RateLimit headers of every quota.
pub fn refused(quotas: &[Quota]) -> ApiError {
    let retry = quotas
        .iter()
        .filter(|q| !q.allowed)
        .map(|q| q.reset)
        .max()
        .unwrap_or(1);
    ApiError::rate_limited(retry).with_headers(headers(quotas))
}

fn closed(e: ApiError) -> ApiError {
    match e.code {
        // The site's maintenance mode refusing the write, and the request gate refusing a
        // token whose session has ended, are answers, not failures.
        ErrorCode::ServiceUnavailable | ErrorCode::Maintenance | ErrorCode::Unauthorized => e,
        _ => ApiError::unavailable("rate limit: counter call failed"),
    }
}

/// A user-keyed hit on `rule` (the route's function name), with the pass of an allowed
/// hit. Through the service role (`hit_route_limit_for`), which alone mints passes: with
/// the claims of the token the pipeline verified, whose session the database checks as
/// the request gate does.
pub async fn hit_route(app: &App, caller: &SignedIn, rule: &str) -> Result<Quota, ApiError> {
    let service = service(app, caller)?;
    let quota: Quota = postgrest::one(
        service.rpc(&crate::clients::sql::HitRouteLimitFor {
            p_claims: serde_json::to_value(&caller.user.claims)
                .map_err(|_| ApiError::internal("claims serialization"))?,
            p_rule: rule.to_owned(),
        })?,
        "Rate limit",
    )
    .await
    .map_err(closed)?;
    if quota.allowed {
        Ok(quota)
    } else {
        Err(refused(std::slice::from_ref(&quota)))
    }
}

/// Hits on subject-keyed rules (service role), in order; refused at the first rule
/// that is over (later rules are not counted).
pub async fn hit_subjects(
    app: &App,
    caller: &Caller,
    hits: &[(&str, &str)],
) -> Result<Vec<Quota>, ApiError> {
    let mut quotas = Vec::with_capacity(hits.len());
    for (rule, subject) in hits {
        let quota = count_subject(app, caller, rule, subject).await?;
        let allowed = quota.allowed;
        quotas.push(quota);
        if !allowed {
            return Err(refused(&quotas));
        }
    }
    Ok(quotas)
}

/// One hit on a subject-keyed rule (service role), whether or not it is over.
pub async fn count_subject(
    app: &App,
    caller: &Caller,
    rule: &str,
    subject: &str,
) -> Result<Quota, ApiError> {
    let call = sql::HitSubjectLimit {
        p_rule: rule.to_owned(),
        p_subject: subject.to_owned(),
    };
    subject_call(app, caller, &call).await
}

/// Gives back one hit of a subject-keyed rule in its current window (service role): a
/// reserved failure that turned out a success.
pub async fn release_subject(
    app: &App,
    caller: &Caller,
    rule: &str,
    subject: &str,
) -> Result<(), ApiError> {
    let service = service(app, caller)?;
    postgrest::exec(
        service.rpc(&crate::clients::sql::ReleaseSubjectHit {
            p_rule: rule.to_owned(),
            p_subject: subject.to_owned(),
        })?,
        "Rate limit",
    )
    .await
    .map_err(closed)
}

/// Where a subject stands on a subject-keyed rule, without counting (`allowed` says
/// whether one more hit would be).
pub async fn peek_subject(
    app: &App,
    caller: &Caller,
    rule: &str,
    subject: &str,
) -> Result<Quota, ApiError> {
    let call = sql::PeekSubjectLimit {
        p_rule: rule.to_owned(),
        p_subject: subject.to_owned(),
    };
    subject_call(app, caller, &call).await
}

async fn subject_call(
    app: &App,
    caller: &Caller,
    call: &impl sql::SqlFunction,
) -> Result<Quota, ApiError> {
    let service = service(app, caller)?;
    postgrest::one(service.rpc(call)?, "Rate limit")
        .await
        .map_err(closed)
}

/// PostgREST as the service role, which alone counts subject-keyed hits and mints passes.
fn service<'a>(app: &'a App, caller: &'a Caller) -> Result<ServiceDb<'a>, ApiError> {
    app.db
        .as_service(caller)
        .ok_or_else(|| ApiError::unavailable("rate limit: no service role key configured"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(rule: &str, allowed: bool, remaining: u32, reset: u64) -> Quota {
        Quota {
            rule: rule.into(),
            allowed,
            limit: 5,
            remaining,
            window: 300,
            reset,
            pass: None,
        }
    }

    #[test]
    fn headers_follow_the_draft_and_list_every_policy() {
        let h = headers(&[
            q("sign-in:ip", true, 4, 120),
            q("sign-in:email", false, 0, 90),
        ]);
        assert_eq!(h[0].0, RATELIMIT_POLICY);
        assert_eq!(
            h[0].1,
            "\"sign-in:ip\";q=5;w=300, \"sign-in:email\";q=5;w=300"
        );
        assert_eq!(
            h[1].1,
            "\"sign-in:ip\";r=4;t=120, \"sign-in:email\";r=0;t=90"
        );
        let e = refused(&[q("a", true, 1, 10), q("b", false, 0, 42)]);
        assert_eq!(e.retry_after, Some(42));
    }
}
