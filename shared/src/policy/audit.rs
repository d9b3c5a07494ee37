//! Security events: one structured log line each, and a row in `audit_log` written
//! through the service role (insert-only for everyone else). Refusals (401/403) are
//! coalesced in SQL per action, address, route and minute, so a flood of bad requests
//! adds to a counter instead of to the table.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::base::caller::Caller;
use crate::clients::{postgrest, App};

/// One security or administrative event. Built with [`AuditEvent::new`] and the
/// builder methods, stored with [`record`].
pub struct AuditEvent<'a> {
    /// SIGN_IN, SIGN_IN_FAILED, SIGN_OUT, AUTH_REFUSED, ACCESS_DENIED, CSRF_FAILED, ...
    pub action: &'static str,
    pub actor: Option<Uuid>,
    pub target: Option<String>,
    pub metadata: Value,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    /// Merge with the same event of the last minute instead of adding a row.
    pub coalesce: bool,
    /// The request it happened in (its trace goes with the write).
    caller: &'a Caller,
}

impl<'a> AuditEvent<'a> {
    /// An event of `action` from the caller's address and user agent: no actor, target
    /// or metadata yet, one row of its own.
    pub fn new(action: &'static str, caller: &'a Caller) -> Self {
        Self {
            action,
            actor: None,
            target: None,
            metadata: json!({}),
            ip: caller.ip.as_deref(),
            user_agent: caller.user_agent.as_deref(),
            coalesce: false,
            caller,
        }
    }

    /// Who did it (a user id), when known.
    pub fn actor(mut self, actor: impl Into<Option<Uuid>>) -> Self {
        self.actor = actor.into();
        self
    }

    /// What it was done to (`user:<id>`, a route's function name).
    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    pub fn metadata(mut self, metadata: Value) -> Self {
        self.metadata = metadata;
        self
    }

    /// Merge with the same event of the last minute instead of adding a row.
    pub fn coalesced(mut self) -> Self {
        self.coalesce = true;
        self
    }
}

/// Logs the event and stores it. Storage problems are logged, never raised: an audit
/// failure must not turn a refusal into a 500.
pub async fn record(app: &App, event: AuditEvent<'_>) {
    tracing::info!(
        audit = true,
        action = event.action,
        actor = event.actor.map(|a| a.to_string()),
        target = event.target.as_deref(),
        ip = event.ip,
        "security event"
    );
    let Some(service) = app.db.as_service(event.caller) else {
        return;
    };
    let params = crate::clients::sql::RecordAuditEvent {
        p_action: event.action.to_owned(),
        p_actor: event.actor,
        p_target: event.target.clone(),
        p_metadata: event.metadata.clone(),
        p_ip: event.ip.map(str::to_owned),
        p_user_agent: event.user_agent.map(str::to_owned),
        p_coalesce: event.coalesce,
    };
    let Ok(query) = service.rpc(&params) else {
        return;
    };
    if let Err(e) = postgrest::exec(query, "Audit event").await {
        tracing::warn!(
            code = e.code.as_str(),
            cause = e.cause.as_deref(),
            "audit write failed"
        );
    }
}
