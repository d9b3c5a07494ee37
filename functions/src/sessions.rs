//! Cookie sessions for frontends that do not run supabase-js.
//!
//! POST /auth/sign-in   {email, password} -> session cookie (@supabase/ssr format) + user
//! POST /auth/refresh   session cookie    -> renewed session cookie + user
//! POST /auth/sign-out  signed in         -> session ended at Supabase Auth, cookie cleared
//!
//! The cookie is HttpOnly, SameSite=Lax, Secure (unless COOKIE_SECURE=false for plain-http
//! local dev). The refresh token lives only in the cookie, never in a response body.

use http::header::SET_COOKIE;
use http::HeaderValue;
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use shared::audit::{self, AuditEvent};
use shared::rate_limit::{self, Limit};
use shared::response::{self, ApiResult};
use shared::supabase_auth::{self, AuthFailure, Session};
use shared::{input, session, ApiError, App, Caller};
use uuid::Uuid;
use validator::Validate;

/// Sign-in attempts per client address, and per email address, per window.
pub const SIGN_IN_PER_IP: Limit = Limit {
    rule: "sign-in:ip",
    max: 20,
    window_seconds: 300,
};
pub const SIGN_IN_PER_EMAIL: Limit = Limit {
    rule: "sign-in:email",
    max: 5,
    window_seconds: 300,
};

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
struct Credentials {
    #[validate(
        email(message = "must be an email address"),
        length(max = 254, message = "must be at most 254 characters")
    )]
    email: String,
    #[validate(length(min = 1, max = 1024, message = "must be 1 to 1024 characters"))]
    password: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SignedIn {
    user: UserSummary,
    expires_at: Option<i64>,
}

#[derive(Serialize)]
struct UserSummary {
    id: Uuid,
    email: Option<String>,
}

/// The email as a rate-limit subject and audit key: a hash, not the address.
fn email_key(email: &str) -> String {
    let digest = Sha256::digest(email.trim().to_lowercase().as_bytes());
    format!("{digest:x}")
}

/// Login CSRF: a browser request (it sends Origin or Sec-Fetch-Site) must come from an
/// allowed origin. Clients that are not browsers send neither and are not at risk.
fn check_browser_origin(app: &App, req: &Request) -> Result<(), ApiError> {
    let headers = req.headers();
    if headers.contains_key("origin") || headers.contains_key("sec-fetch-site") {
        shared::http::check_csrf(app, headers)?;
    }
    Ok(())
}

fn with_cookies(mut response: Response<Body>, cookies: Vec<String>) -> Response<Body> {
    for cookie in cookies {
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(SET_COOKIE, v);
        }
    }
    response
}

fn signed_in(app: &App, req: &Request, session: &Session) -> ApiResult {
    let previous = session::present_names(req, &app.config.auth_cookie_name);
    let cookies = session::write(
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
    Ok(with_cookies(response::ok(&body)?, cookies))
}

/// POST /auth/sign-in
pub async fn sign_in(app: App, caller: Caller, req: Request) -> ApiResult {
    check_browser_origin(&app, &req)?;
    let credentials: Credentials = input::json_body(&req)?;
    let ip = caller.ip.as_deref().unwrap_or("unknown");
    let quotas = rate_limit::hit_subjects(
        &app,
        &[
            (SIGN_IN_PER_IP.rule, ip),
            (SIGN_IN_PER_EMAIL.rule, &email_key(&credentials.email)),
        ],
    )
    .await?;
    let limit_headers = rate_limit::headers(&quotas);

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
            for (name, value) in limit_headers {
                response.headers_mut().insert(name, value);
            }
            Ok(response)
        }
        Err(failure) => {
            if failure == AuthFailure::InvalidCredentials {
                let metadata = serde_json::json!({ "emailKey": email_key(&credentials.email) });
                audit_event(&app, &caller, "SIGN_IN_FAILED", None, metadata).await;
            }
            let mut error = ApiError::from(failure).with_headers(limit_headers);
            error.audited = true;
            Err(error)
        }
    }
}

/// POST /auth/refresh: the refresh token comes from the session cookie only.
pub async fn refresh(app: App, _caller: Caller, req: Request) -> ApiResult {
    // The cookie is the credential here: the same CSRF rule as any cookie request.
    shared::http::check_csrf(&app, req.headers())?;
    let name = &app.config.auth_cookie_name;
    let refresh_token = session::read(&req, name)
        .and_then(|s| s.refresh_token)
        .filter(|t| !t.is_empty() && t.len() <= 1024)
        .ok_or_else(|| ApiError::unauthorized("no refresh token in the session cookie"))?;
    match supabase_auth::refresh(&app, &refresh_token).await {
        Ok(session) => signed_in(&app, &req, &session),
        Err(AuthFailure::InvalidRefreshToken) => {
            // The session is over: clear the cookie so the client stops sending it.
            let clear = session::clear(
                name,
                app.config.cookie_secure,
                &session::present_names(&req, name),
            );
            Err(ApiError::from(AuthFailure::InvalidRefreshToken).with_cookies(clear))
        }
        Err(other) => Err(other.into()),
    }
}

/// POST /auth/sign-out
pub async fn sign_out(app: App, caller: Caller, req: Request) -> ApiResult {
    let user = caller.user()?;
    supabase_auth::sign_out(&app, user.token())
        .await
        .map_err(ApiError::from)?;
    audit_event(
        &app,
        &caller,
        "SIGN_OUT",
        Some(user.id),
        serde_json::json!({}),
    )
    .await;
    let name = &app.config.auth_cookie_name;
    let clear = session::clear(
        name,
        app.config.cookie_secure,
        &session::present_names(&req, name),
    );
    Ok(with_cookies(response::no_content()?, clear))
}

async fn audit_event(
    app: &App,
    caller: &Caller,
    action: &'static str,
    actor: Option<Uuid>,
    metadata: serde_json::Value,
) {
    audit::record(
        app,
        AuditEvent {
            action,
            actor,
            target: None,
            metadata,
            ip: caller.ip.as_deref(),
            user_agent: caller.user_agent.as_deref(),
            coalesce: false,
        },
    )
    .await;
}
