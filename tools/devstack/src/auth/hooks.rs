//! GoTrue's Postgres hooks: the custom access token hook (public.custom_access_token_hook,
//! called when it exists, as supabase/config.toml enables it) and the before-user-created
//! hook (AUTH_HOOK_BEFORE_USER_CREATED_URI). A hook's `{"error": {"http_code",
//! "message"}}` becomes GoTrue's answer.

use chrono::Utc;
use serde_json::{json, Value};
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::db::as_auth_admin;
use super::db::Db;
use super::error::{err, internal, pg_message, ApiError};

const ACCESS_TOKEN_HOOK_URI: &str = "pg-functions://postgres/public/custom_access_token_hook";

/// The claims GoTrue requires in a custom access token hook's output.
const REQUIRED_CLAIMS: [&str; 10] = [
    "aud",
    "exp",
    "iat",
    "sub",
    "email",
    "phone",
    "role",
    "aal",
    "session_id",
    "is_anonymous",
];

/// A pg-functions:// hook: its URI (for errors) and the call.
pub struct PgHook {
    uri: String,
    sql: String,
}

/// `pg-functions://postgres/<schema>/<function>` as GoTrue reads it ("schema"."function").
pub fn parse_pg_hook(var: &str, uri: &str) -> Result<PgHook, String> {
    let bad =
        || format!("{var} is malformed (want pg-functions://postgres/<schema>/<function>): {uri}");
    let rest = uri.strip_prefix("pg-functions://").ok_or_else(bad)?;
    let (_host, path) = rest.split_once('/').ok_or_else(bad)?;
    let parts: Vec<&str> = path.split('/').collect();
    if parts.len() != 2 || parts.iter().any(|p| p.is_empty()) {
        return Err(bad());
    }
    let quote = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
    Ok(PgHook {
        uri: uri.to_string(),
        sql: format!("select {}.{}($1::jsonb)", quote(parts[0]), quote(parts[1])),
    })
}

/// A hook's `{"error": {"http_code", "message"}}` as GoTrue answers it: that status (500
/// when absent or not an error status) and message, and GoTrue's fallback error_code.
fn hook_error(output: &Value) -> Option<ApiError> {
    let e = output
        .get("error")
        .filter(|e| e["message"].as_str().is_some_and(|m| !m.is_empty()))?;
    let status = e["http_code"]
        .as_u64()
        .filter(|c| (400..600).contains(c))
        .unwrap_or(500);
    let code = if status == 500 {
        "unexpected_failure"
    } else {
        "unknown"
    };
    let mut error = err(
        status as u16,
        code,
        e["message"].as_str().unwrap_or_default(),
    );
    error.hook = true;
    Some(error)
}

/// GoTrue's custom access token hook, when public.custom_access_token_hook(jsonb) exists:
/// the claims it returns (which must keep the required ones), else the claims as given.
/// In the caller's transaction (as supabase_auth_admin).
pub async fn custom_access_token(
    tx: &Transaction<'_>,
    user_id: Uuid,
    claims: Value,
    authentication_method: &str,
) -> Result<Value, ApiError> {
    let exists: bool = tx
        .query_one(
            "select to_regprocedure('public.custom_access_token_hook(jsonb)') is not null",
            &[],
        )
        .await?
        .get(0);
    if !exists {
        return Ok(claims);
    }
    let input = json!({
        "user_id": user_id,
        "claims": claims,
        "authentication_method": authentication_method,
    });
    let output = tx
        .query_one(
            "select public.custom_access_token_hook($1::jsonb)",
            &[&input],
        )
        .await
        .map_err(|e| {
            internal(
                &format!("Error running hook URI: {ACCESS_TOKEN_HOOK_URI}"),
                pg_message(&e),
            )
        })?
        .get::<_, Option<Value>>(0)
        .unwrap_or(Value::Null);
    if let Some(e) = hook_error(&output) {
        return Err(e);
    }
    match output.get("claims") {
        Some(c @ Value::Object(map)) if REQUIRED_CLAIMS.iter().all(|k| map.contains_key(*k)) => {
            Ok(c.clone())
        }
        _ => Err(internal(
            "output claims do not conform to the expected schema",
            output,
        )),
    }
}

/// GoTrue's triggerBeforeUserCreated: in a transaction of its own, as supabase_auth_admin,
/// with its 2 s statement timeout; an error in the output stops the creation. `user` is
/// the user as GoTrue builds it before inserting it; `ip` the client's address.
pub async fn before_user_created(
    hook: Option<&PgHook>,
    db: &Db,
    ip: &str,
    user: &Value,
) -> Result<(), ApiError> {
    let Some(hook) = hook else {
        return Ok(());
    };
    let event = json!({
        "metadata": {
            "uuid": Uuid::new_v4(),
            "time": Utc::now(),
            "name": "before-user-created",
            "ip_address": ip,
        },
        "user": user,
    });
    let mut conn = db.get().await?;
    let tx = conn.begin().await?;
    as_auth_admin(&tx).await?;
    tx.batch_execute("set local statement_timeout = 2000")
        .await?;
    let output = tx
        .query_one(&hook.sql, &[&event])
        .await
        .map_err(|e| {
            internal(
                &format!("Error running hook URI: {}", hook.uri),
                pg_message(&e),
            )
        })?
        .get::<_, Option<Value>>(0)
        .unwrap_or(Value::Null);
    tx.commit().await?;
    match hook_error(&output) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_uris_name_a_schema_and_a_function() {
        let hook = parse_pg_hook("V", "pg-functions://postgres/public/my\"hook").unwrap();
        assert_eq!(hook.sql, "select \"public\".\"my\"\"hook\"($1::jsonb)");
        for bad in [
            "https://x/public/f",
            "pg-functions://postgres",
            "pg-functions://postgres/public",
            "pg-functions://postgres/public/f/g",
            "pg-functions://postgres//f",
        ] {
            let e = parse_pg_hook("V", bad).err().unwrap();
            assert!(e.starts_with("V is malformed"), "{bad}: {e}");
        }
    }

    #[test]
    fn hook_errors_answer_their_status_or_500() {
        let e = hook_error(&json!({"error": {"http_code": 403, "message": "closed"}})).unwrap();
        assert_eq!(e.status, 403);
        assert_eq!(
            e.body,
            json!({"code": 403, "error_code": "unknown", "msg": "closed"})
        );
        assert!(e.hook);
        let e = hook_error(&json!({"error": {"http_code": 200, "message": "m"}})).unwrap();
        assert_eq!(
            (e.status, &e.body["error_code"]),
            (500, &json!("unexpected_failure"))
        );
        assert!(hook_error(&json!({"error": {"http_code": 403, "message": ""}})).is_none());
        assert!(hook_error(&json!({})).is_none());
    }
}
