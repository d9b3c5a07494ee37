//! The database functions the API calls through PostgREST (`POST /rpc/<name>`), each as a
//! typed call: a struct of its arguments (named as the function names them), and the
//! SQL type of each, which `tests/tests/api/sql_functions.rs` checks against `pg_proc`
//! (a missing or renamed argument, a changed type or a new argument without a default
//! fails it). [`crate::clients::postgrest::UserDb::rpc`] and `ServiceDb::rpc` take
//! nothing else, so a function is called only through its declaration.
//!
//! This file declares the functions of the pipeline and the policies; the routes' own are
//! in functions/src/sql.rs, made with the same [`crate::sql_functions!`].

use serde::Serialize;

use crate::auth::permissions::Permission;

/// A database function as the API calls it: its name, and its arguments' names and SQL
/// types.
pub trait SqlFunction: Serialize {
    /// The function's name in the `public` schema.
    const NAME: &'static str;
    /// Each argument the call sends: its name and SQL type (`format_type` spelling).
    const ARGS: &'static [(&'static str, &'static str)];
}

/// A function's name and its declared arguments, for the check against `pg_proc`.
pub type Declared = (&'static str, &'static [(&'static str, &'static str)]);

/// `sql_functions! { Name = "sql_name" (arg: RustType = "sql type", ...); ... }`: a
/// struct per function implementing [`SqlFunction`], and `DECLARED`, the list of them.
#[macro_export]
macro_rules! sql_functions {
    ($(
        $(#[$meta:meta])*
        $name:ident = $sql:literal ( $( $(#[$fmeta:meta])* $field:ident : $ty:ty = $sqlty:literal ),* $(,)? );
    )*) => {
        $(
            $(#[$meta])*
            #[derive(Debug, ::serde::Serialize)]
            pub struct $name {
                $( $(#[$fmeta])* pub $field: $ty, )*
            }

            impl $crate::clients::sql::SqlFunction for $name {
                const NAME: &'static str = $sql;
                const ARGS: &'static [(&'static str, &'static str)] =
                    &[$((stringify!($field), $sqlty)),*];
            }
        )*

        /// Every function declared here, for the check against `pg_proc`.
        pub const DECLARED: &[$crate::clients::sql::Declared] = &[$(
            (
                <$name as $crate::clients::sql::SqlFunction>::NAME,
                <$name as $crate::clients::sql::SqlFunction>::ARGS,
            )
        ),*];
    };
}

sql_functions! {
    /// authorize(requested_permission): whether the caller's role holds it now.
    Authorize = "authorize" (requested_permission: Permission = "app_permission");
    /// record_audit_event(...): one security event (service role).
    RecordAuditEvent = "record_audit_event" (
        p_action: String = "text",
        p_actor: Option<uuid::Uuid> = "uuid",
        p_target: Option<String> = "text",
        p_metadata: serde_json::Value = "jsonb",
        p_ip: Option<String> = "text",
        p_user_agent: Option<String> = "text",
        p_coalesce: bool = "boolean",
    );
    /// hit_route_limit_for(claims, rule): a route's hit for the user the claims name.
    HitRouteLimitFor = "hit_route_limit_for" (
        p_claims: serde_json::Value = "jsonb",
        p_rule: String = "text",
    );
    /// hit_subject_limit(rule, subject): one hit on a subject-keyed rule.
    HitSubjectLimit = "hit_subject_limit" (p_rule: String = "text", p_subject: String = "text");
    /// peek_subject_limit(rule, subject): where the subject stands, without a hit.
    PeekSubjectLimit = "peek_subject_limit" (p_rule: String = "text", p_subject: String = "text");
    /// release_subject_hit(rule, subject): gives one hit back.
    ReleaseSubjectHit = "release_subject_hit" (p_rule: String = "text", p_subject: String = "text");
}
