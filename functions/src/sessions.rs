//! Cookie sessions for frontends that do not run supabase-js.
//!
//! POST /auth/sign-in   {email, password} -> session cookie (@supabase/ssr format) + user
//! POST /auth/refresh   session cookie    -> renewed session cookie + user
//! POST /auth/sign-out  signed in         -> session ended at Supabase Auth, cookie cleared
//!
//! The cookie is HttpOnly, SameSite=Lax, Secure (unless COOKIE_SECURE=false for plain-http
//! local dev). The refresh token lives only in the cookie, never in a response body.

use lambda_http::Request;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use shared::clients::supabase_auth::{self, AuthFailure, Session};
use shared::pipeline::response::{self, ApiResult};
use shared::policy::audit::{self, AuditEvent};
use shared::policy::rate_limit::{self, Limit};
use shared::{auth::cookies, pipeline::input, ApiError, App, Caller};
use uuid::Uuid;
use validator::Validate;

use crate::validate;

/// Sign-in attempts per client address, per window (every attempt counts).
pub const SIGN_IN_PER_IP: Limit = Limit {
    rule: "sign-in:ip",
    max: 20,
    window_seconds: 300,
};
/// Failed sign-ins per email address and client address, per window. Only a wrong
/// password counts, and the key includes the address: a stranger's guesses lock the
/// stranger out of that account, not its owner.
pub const SIGN_IN_PER_EMAIL: Limit = Limit {
    rule: "sign-in:email",
    max: 5,
    window_seconds: 300,
};
/// Session refreshes per client address, per window.
pub const REFRESH_PER_IP: Limit = Limit {
    rule: "refresh:ip",
    max: 60,
    window_seconds: 300,
};

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Credentials {
    #[validate(custom(function = "validate::email"))]
    #[schema(schema_with = validate::schema::email)]
    email: String,
    #[validate(custom(function = "validate::password"))]
    #[schema(schema_with = validate::schema::password)]
    password: String,
}

/// The signed-in user; the tokens travel only in the session cookie.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Session)]
pub(crate) struct SignedIn {
    user: UserSummary,
    /// When the access token expires (Unix seconds); refresh before then.
    expires_at: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct UserSummary {
    id: Uuid,
    email: Option<String>,
}

/// The email as an audit key: a hash, not the address.
fn email_key(email: &str) -> String {
    let digest = Sha256::digest(email.trim().to_lowercase().as_bytes());
    format!("{digest:x}")
}

/// The subject failed sign-ins are counted under: the email and the client address,
/// hashed together.
fn failure_key(email: &str, ip: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(email.trim().to_lowercase().as_bytes());
    hasher.update(b"\n");
    hasher.update(ip.as_bytes());
    format!("{:x}", hasher.finalize())
}

/// Login CSRF: a browser request (it sends Origin or Sec-Fetch-Site) must come from an
/// allowed origin. Clients that are not browsers send neither and are not at risk.
fn check_browser_origin(app: &App, req: &Request) -> Result<(), ApiError> {
    let headers = req.headers();
    if headers.contains_key("origin") || headers.contains_key("sec-fetch-site") {
        shared::pipeline::check_csrf(app, headers)?;
    }
    Ok(())
}

fn signed_in(app: &App, req: &Request, session: &Session) -> ApiResult {
    let previous = cookies::present_names(req, &app.config.auth_cookie_name);
    let cookies = cookies::write(
        &app.config.auth_cookie_name,
        &session.json,
        app.config.cookie_secure,
        &previous,
    );
    let body = SignedIn {
        user: UserSummary {
            id: session.user_id,
            email: session.email.clone(),
        },
        expires_at: session.expires_at,
    };
    Ok(cookies::set(response::ok(&body)?, cookies))
}

/// POST /auth/sign-in
pub async fn sign_in(app: App, caller: Caller, req: Request) -> ApiResult {
    check_browser_origin(&app, &req)?;
    let credentials: Credentials = input::json_body(&req)?;
    let ip = caller.ip.as_deref().unwrap_or("unknown");
    // Every attempt counts against the address; refused there, nothing else is counted.
    let mut quotas = rate_limit::hit_subjects(&app, &[(SIGN_IN_PER_IP.rule, ip)]).await?;
    // This email from this address: refused once its failures are used up, even with
    // the right password, without asking Supabase Auth.
    let failures = failure_key(&credentials.email, ip);
    quotas.push(rate_limit::peek_subject(&app, SIGN_IN_PER_EMAIL.rule, &failures).await?);
    if quotas.iter().any(|q| !q.allowed) {
        return Err(rate_limit::refused(&quotas));
    }

    match supabase_auth::sign_in_with_password(
        &app,
        credentials.email.trim(),
        &credentials.password,
    )
    .await
    {
        Ok(session) => {
            audit_event(
                &app,
                &caller,
                "SIGN_IN",
                Some(session.user_id),
                serde_json::json!({}),
            )
            .await;
            let mut response = signed_in(&app, &req, &session)?;
            rate_limit::add_headers(&mut response, &quotas);
            Ok(response)
        }
        Err(failure) => {
            if failure == AuthFailure::InvalidCredentials {
                // A failed check: now it counts.
                quotas[1] =
                    rate_limit::count_subject(&app, SIGN_IN_PER_EMAIL.rule, &failures).await?;
                let metadata = serde_json::json!({ "emailKey": email_key(&credentials.email) });
                audit_event(&app, &caller, "SIGN_IN_FAILED", None, metadata).await;
            }
            let mut error = ApiError::from(failure).with_headers(rate_limit::headers(&quotas));
            error.audited = true;
            Err(error)
        }
    }
}

/// POST /auth/refresh: the refresh token comes from the session cookie only.
pub async fn refresh(app: App, caller: Caller, req: Request) -> ApiResult {
    // The cookie is the credential here: the same CSRF rule as any cookie request.
    shared::pipeline::check_csrf(&app, req.headers())?;
    let ip = caller.ip.as_deref().unwrap_or("unknown");
    let quotas = rate_limit::hit_subjects(&app, &[(REFRESH_PER_IP.rule, ip)]).await?;
    let refresh_token = cookies::read(&req, &app.config.auth_cookie_name)
        .and_then(cookie_refresh_token)
        .ok_or_else(|| ApiError::unauthorized("no refresh token in the session cookie"))?;
    match supabase_auth::refresh(&app, &refresh_token).await {
        Ok(session) => {
            let mut response = signed_in(&app, &req, &session)?;
            rate_limit::add_headers(&mut response, &quotas);
            Ok(response)
        }
        Err(failure) => {
            let error = ApiError::from(failure).with_headers(rate_limit::headers(&quotas));
            Err(if failure == AuthFailure::InvalidRefreshToken {
                // The session is over: clear the cookie so the client stops sending it.
                error.with_cookies(cookies::clearing(&app.config, &req))
            } else {
                error
            })
        }
    }
}

/// The refresh token a session cookie holds, if it is a plausible one.
fn cookie_refresh_token(stored: cookies::StoredSession) -> Option<String> {
    stored
        .refresh_token
        .filter(|t| !t.is_empty() && t.len() <= 1024)
}

/// POST /auth/sign-out: ends the session at Supabase Auth and clears the cookie, also
/// when the access token has expired (a user back after an hour): then the cookie's
/// refresh token renews the session once, and that session is ended. Every answer but a
/// CSRF refusal clears the cookie, an Auth outage (503) included, so the next person at
/// the machine never inherits the session. Without any session it is a 204 all the same.
pub async fn sign_out(app: App, caller: Caller, req: Request) -> ApiResult {
    let name = &app.config.auth_cookie_name;
    let has_cookie = !cookies::present_names(&req, name).is_empty();
    // As everywhere, an Authorization header wins over the cookie.
    let bearer = req.headers().contains_key(http::header::AUTHORIZATION);
    // The cookie is a credential here: the same CSRF rule as any cookie request.
    if has_cookie && !bearer {
        shared::pipeline::check_csrf(&app, req.headers())?;
    }
    let ended = if bearer {
        let token = shared::auth::bearer_token(&req).map_err(shared::pipeline::rejected)?;
        let user = app
            .tokens
            .verify(token)
            .await
            .map_err(shared::pipeline::rejected)?;
        supabase_auth::sign_out(&app, user.token())
            .await
            .map(|()| Some(user.id))
    } else {
        end_cookie_session(&app, &req).await
    };
    let clear = cookies::clearing(&app.config, &req);
    match ended {
        Ok(user_id) => {
            if let Some(id) = user_id {
                audit_event(&app, &caller, "SIGN_OUT", Some(id), serde_json::json!({})).await;
            }
            Ok(cookies::set(response::no_content()?, clear))
        }
        Err(failure) => Err(ApiError::from(failure).with_cookies(clear)),
    }
}

/// Ends the session in the cookie: with its access token while that is valid, else
/// through its refresh token. `None` when there was no session left to end.
async fn end_cookie_session(app: &App, req: &Request) -> Result<Option<Uuid>, AuthFailure> {
    let Some(stored) = cookies::read(req, &app.config.auth_cookie_name) else {
        return Ok(None);
    };
    if let Ok(user) = app.tokens.verify(&stored.access_token).await {
        return supabase_auth::sign_out(app, user.token())
            .await
            .map(|()| Some(user.id));
    }
    let Some(refresh_token) = cookie_refresh_token(stored) else {
        return Ok(None);
    };
    match supabase_auth::refresh(app, &refresh_token).await {
        Ok(renewed) => {
            let access_token = renewed
                .json
                .get("access_token")
                .and_then(|t| t.as_str())
                .ok_or(AuthFailure::Unexpected)?;
            supabase_auth::sign_out(app, access_token)
                .await
                .map(|()| Some(renewed.user_id))
        }
        // Already ended (revoked, reused or unknown): nothing to do.
        Err(AuthFailure::InvalidRefreshToken) => Ok(None),
        Err(other) => Err(other),
    }
}

async fn audit_event(
    app: &App,
    caller: &Caller,
    action: &'static str,
    actor: Option<Uuid>,
    metadata: serde_json::Value,
) {
    let event = AuditEvent::new(action, caller)
        .actor(actor)
        .metadata(metadata);
    audit::record(app, event).await;
}
