//! Cookie sessions for frontends that do not run supabase-js.
//!
//! POST /auth/sign-up   {email, password, name} -> session cookie + user, or 202 (an email
//!                      to confirm); 403 while signupsEnabled is off, 503 in maintenance
//! POST /auth/sign-in   {email, password} -> session cookie (@supabase/ssr format) + user
//! POST /auth/refresh   session cookie    -> renewed session cookie + user
//! POST /auth/sign-out?scope=local|global|others
//!                      signed in         -> this session, all of them, or all others ended
//!                                           at Supabase Auth; the cookie cleared (but for
//!                                           `others`)
//!
//! The cookie is HttpOnly, SameSite=Lax, Secure (unless COOKIE_SECURE=false for plain-http
//! local dev). The refresh token lives only in the cookie, never in a response body.

use lambda_http::Request;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use shared::clients::supabase_auth::{self, AuthFailure, Session, SignOutScope};
use shared::pipeline::contract::Example;
use shared::pipeline::typed::{Accepted, Created, Data, Either, Json, NoContent, Query, With};
use shared::policy::answer_time;
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
/// Sign-ups per client address, per window.
pub const SIGN_UP_PER_IP: Limit = Limit {
    rule: "sign-up:ip",
    max: 10,
    window_seconds: 3600,
};
/// Session refreshes per client address, per window.
pub const REFRESH_PER_IP: Limit = Limit {
    rule: "refresh:ip",
    max: 60,
    window_seconds: 300,
};

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    #[validate(custom(function = "validate::email"))]
    #[schema(schema_with = validate::schema::email)]
    email: String,
    #[validate(custom(function = "validate::password"))]
    #[schema(schema_with = validate::schema::password)]
    password: String,
}

impl Example for Credentials {
    const EXAMPLE: &'static str =
        r#"{"email":"alice@example.com","password":"REPLACE_WITH_PASSWORD"}"#;
}

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    #[validate(custom(function = "validate::email"))]
    #[schema(schema_with = validate::schema::email)]
    email: String,
    #[validate(custom(function = "validate::new_password"))]
    #[schema(schema_with = validate::schema::new_password)]
    password: String,
    /// The profile's name.
    #[serde(deserialize_with = "input::trimmed")]
    #[validate(custom(function = "validate::full_name"))]
    #[schema(schema_with = validate::schema::full_name)]
    name: String,
}

impl Example for NewAccount {
    const EXAMPLE: &'static str =
        r#"{"email":"new@example.com","password":"REPLACE_WITH_PASSWORD","name":"New User"}"#;
}

/// The signed-in user; the tokens travel only in the session cookie.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Session)]
pub struct SignedIn {
    user: UserSummary,
    /// When the access token expires (Unix seconds); refresh before then.
    expires_at: Option<i64>,
    /// This was the user's first sign-in (send them to onboarding). Always false on a
    /// refresh.
    is_new_user: bool,
}

impl SignedIn {
    pub(crate) fn of(session: &Session, is_new_user: bool) -> Self {
        Self {
            user: UserSummary {
                id: session.user_id,
                email: session.email.clone(),
            },
            expires_at: session.expires_at,
            is_new_user,
        }
    }
}

/// A sign-up that waits for its email to be confirmed.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmationSent {
    email: String,
    /// Always true: the same answer whether or not the address already had an account.
    confirmation_sent: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UserSummary {
    id: Uuid,
    email: Option<String>,
}

/// The email as an audit key: a hash, not the address.
pub(crate) fn email_key(email: &str) -> String {
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

/// The password again, from a signed-in user (before a change that cannot be undone):
/// Supabase Auth's password grant for the account's own email. A wrong password counts
/// as a failed sign-in for this email and address (SIGN_IN_PER_EMAIL, so it is no way
/// around that limit) and is 403 REAUTHENTICATION_NEEDED. The grant opens a session:
/// its access token is returned for [`end_session`] once it is not needed.
pub(crate) async fn password_again(
    app: &App,
    caller: &Caller,
    user: &shared::AuthUser,
    password: &str,
) -> Result<String, ApiError> {
    let wrong = || ApiError::reauthenticate("That is not this account's password");
    let Some(email) = user.email.as_deref() else {
        return Err(ApiError::reauthenticate(
            "This account has no email to check a password against: sign in again",
        ));
    };
    let ip = caller.ip.as_deref().unwrap_or("unknown");
    let failures = failure_key(email, ip);
    let quotas =
        rate_limit::hit_subjects(app, caller, &[(SIGN_IN_PER_EMAIL.rule, &failures)]).await?;
    match supabase_auth::sign_in_with_password(app, caller, email, password).await {
        Ok(session) => {
            let token = session.json["access_token"].as_str().map(str::to_owned);
            match (session.user_id == user.id, token) {
                (true, Some(token)) => {
                    if let Err(e) =
                        rate_limit::release_subject(app, caller, SIGN_IN_PER_EMAIL.rule, &failures)
                            .await
                    {
                        tracing::warn!(
                            cause = e.cause.as_deref(),
                            "password check: failure not given back"
                        );
                    }
                    Ok(token)
                }
                // The address now belongs to another account: not this one's password.
                (false, Some(token)) => {
                    end_session(app, caller, &token).await;
                    Err(wrong())
                }
                (_, None) => Err(ApiError::from(AuthFailure::Unexpected)),
            }
        }
        Err(AuthFailure::InvalidCredentials) => {
            let event = AuditEvent::new("REAUTHENTICATION_FAILED", caller).actor(user.id);
            audit::record(app, event).await;
            let mut error = wrong().with_headers(rate_limit::headers(&quotas));
            error.audited = true;
            Err(error)
        }
        Err(other) => Err(other.into()),
    }
}

/// Ends one session by its access token (scope local), logging a failure: for sessions
/// this API opened only to check something.
pub(crate) async fn end_session(app: &App, caller: &Caller, access_token: &str) {
    if supabase_auth::sign_out(app, caller, access_token, SignOutScope::Local)
        .await
        .is_err()
    {
        tracing::warn!("a session opened to check a password was not ended");
    }
}

/// Login CSRF: a browser request (it sends Origin or Sec-Fetch-Site) must come from an
/// allowed origin. Clients that are not browsers send neither and are not at risk.
pub(crate) fn check_browser_origin(app: &App, req: &Request) -> Result<(), ApiError> {
    let headers = req.headers();
    if headers.contains_key("origin") || headers.contains_key("sec-fetch-site") {
        shared::pipeline::check_csrf(app, headers)?;
    }
    Ok(())
}

fn signed_in(
    app: &App,
    req: &Request,
    session: &Session,
    is_new_user: bool,
) -> With<Data<SignedIn>> {
    let previous = cookies::present_names(req, &app.config.auth_cookie_name);
    let cookies = cookies::write(
        &app.config.auth_cookie_name,
        &session.json,
        app.config.cookie_scope(),
        &previous,
    );
    With::new(Data(SignedIn::of(session, is_new_user))).cookies(cookies)
}

/// POST /auth/sign-in
pub async fn sign_in(
    app: App,
    caller: Caller,
    Json(credentials): Json<Credentials>,
    req: Request,
) -> Result<With<Data<SignedIn>>, ApiError> {
    let started = std::time::Instant::now();
    check_browser_origin(&app, &req)?;
    let ip = caller.ip.as_deref().unwrap_or("unknown");
    // Every attempt counts against the address. Then a failure is reserved against this
    // email from this address before Supabase Auth is asked (one atomic upsert: parallel
    // wrong passwords cannot slip past the limit between a check and a count), and given
    // back when the password was right. Refused at the address, nothing is reserved;
    // refused at the email, even the right password waits, without asking Supabase Auth.
    let failures = failure_key(&credentials.email, ip);
    let mut quotas = rate_limit::hit_subjects(
        &app,
        &caller,
        &[
            (SIGN_IN_PER_IP.rule, ip),
            (SIGN_IN_PER_EMAIL.rule, &failures),
        ],
    )
    .await?;

    match supabase_auth::sign_in_with_password(
        &app,
        &caller,
        credentials.email.trim(),
        &credentials.password,
    )
    .await
    {
        Ok(session) => {
            match rate_limit::release_subject(&app, &caller, SIGN_IN_PER_EMAIL.rule, &failures)
                .await
            {
                Ok(()) => quotas[1].given_back(),
                Err(e) => tracing::warn!(
                    cause = e.cause.as_deref(),
                    "sign-in: failure not given back"
                ),
            }
            let is_new_user =
                record_sign_in(&app, &caller, session.user_id, "email", "password").await;
            Ok(signed_in(&app, &req, &session, is_new_user).headers(rate_limit::headers(&quotas)))
        }
        Err(failure) => {
            if failure == AuthFailure::InvalidCredentials {
                let metadata = serde_json::json!({ "emailKey": email_key(&credentials.email) });
                audit_event(&app, &caller, "SIGN_IN_FAILED", None, metadata).await;
                // A known address with a wrong password and an unknown address take the
                // same time (policy::answer_time).
                answer_time::level(&app, started).await;
            }
            let mut error = ApiError::from(failure).with_headers(rate_limit::headers(&quotas));
            error.audited = true;
            Err(error)
        }
    }
}

/// The site's switches as the auth routes read them (`hit_auth_limit`), with the hit.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthGate {
    #[serde(flatten)]
    pub(crate) quota: rate_limit::Quota,
    pub(crate) signups_enabled: bool,
    pub(crate) maintenance_mode: bool,
}

/// One hit on an address- or email-keyed rule, and the site's switches, in one call.
pub(crate) async fn hit_auth_limit(
    app: &App,
    caller: &Caller,
    rule: &str,
    subject: &str,
) -> Result<AuthGate, ApiError> {
    let service = app
        .db
        .as_service(caller)
        .ok_or_else(|| ApiError::unavailable("auth gate: no service role key configured"))?;
    shared::clients::postgrest::call(
        service.rpc(&crate::sql::HitAuthLimit {
            p_rule: rule.to_owned(),
            p_subject: subject.to_owned(),
        })?,
        "Rate limit",
    )
    .await
}

/// POST /auth/sign-up: a new account through Supabase Auth (which creates the profile
/// and the `user` role, and whose before-user-created hook refuses while sign-ups are
/// off). Signed in at once when the project confirms emails itself (201 with the
/// cookie), else 202: a confirmation email was sent, which is also the answer for an
/// address that already has an account, pending or confirmed, in the same time
/// (policy::answer_time). The email's link signs in at once only in this browser (the
/// email-link cookie); the password survives the confirmation only there
/// (`bind_sign_up`: no pre-registered accounts).
pub async fn sign_up(
    app: App,
    caller: Caller,
    Json(account): Json<NewAccount>,
    req: Request,
) -> Result<SignUpAnswer, ApiError> {
    let started = std::time::Instant::now();
    check_browser_origin(&app, &req)?;
    let ip = caller.ip.as_deref().unwrap_or("unknown");
    let gate = hit_auth_limit(&app, &caller, SIGN_UP_PER_IP.rule, ip).await?;
    let quotas = [gate.quota];
    if gate.maintenance_mode {
        return Err(ApiError::maintenance(300));
    }
    if !gate.signups_enabled {
        return Err(ApiError::signups_closed().with_headers(rate_limit::headers(&quotas)));
    }
    if !quotas[0].allowed {
        return Err(rate_limit::refused(&quotas));
    }
    let email = account.email.trim();
    // The confirmation email's link: this API's GET /auth/confirm, landing on the app.
    // (Without a usable Host or site URL, Supabase Auth's site URL.)
    let flow = crate::links::LinkFlow::new()?;
    let confirm = crate::links::confirm_url(&app, &req, None, &flow).ok();
    let outcome = supabase_auth::sign_up(
        &app,
        &caller,
        email,
        &account.password,
        serde_json::json!({ "full_name": account.name }),
        confirm.as_ref().map(url::Url::as_str),
    )
    .await;
    let answer = match outcome {
        Ok(supabase_auth::SignUp::SignedIn(session)) => {
            let is_new_user =
                record_sign_in(&app, &caller, session.user_id, "email", "signup").await;
            let With {
                answer: Data(body),
                cookies,
                ..
            } = signed_in(&app, &req, &session, is_new_user);
            Either::First(With::new(Created(body)).cookies(cookies))
        }
        // Supabase Auth's limit on emails to one address holds only for an address it
        // knows: answered as if sent, or the answer would tell.
        Ok(supabase_auth::SignUp::ConfirmationSent) | Err(AuthFailure::EmailRateLimited) => {
            bind_sign_up(&app, &caller, email, &account.password, &flow).await;
            answer_time::level(&app, started).await;
            Either::Second(
                With::new(Accepted(ConfirmationSent {
                    email: email.to_owned(),
                    confirmation_sent: true,
                }))
                .cookies(vec![flow.cookie(&app)]),
            )
        }
        Err(failure) => {
            if failure == AuthFailure::AlreadyExists {
                answer_time::level(&app, started).await;
            }
            return Err(ApiError::from(failure).with_headers(rate_limit::headers(&quotas)));
        }
    };
    Ok(match answer {
        Either::First(a) => Either::First(a.headers(rate_limit::headers(&quotas))),
        Either::Second(b) => Either::Second(b.headers(rate_limit::headers(&quotas))),
    })
}

/// What a sign-up answers: signed in at once (201), or a confirmation email sent (202).
pub type SignUpAnswer = Either<With<Created<SignedIn>>, With<Accepted<ConfirmationSent>>>;

/// Binds the unconfirmed account of `email` to this sign-up's browser when the password
/// Supabase Auth stored is the one sent (`bind_sign_up`). A failure is logged: without
/// the binding the password is cleared at confirmation, the safe side.
async fn bind_sign_up(
    app: &App,
    caller: &Caller,
    email: &str,
    password: &str,
    flow: &crate::links::LinkFlow,
) {
    let Some(service) = app.db.as_service(caller) else {
        return;
    };
    let params = crate::sql::BindSignUp {
        p_email: email.to_owned(),
        p_password: password.to_owned(),
        p_flow: flow.flow.to_string(),
    };
    let result = match service.rpc(&params) {
        Ok(builder) => shared::clients::postgrest::exec(builder, "Sign-up").await,
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        tracing::warn!(cause = e.cause.as_deref(), "sign-up binding not written");
    }
}

/// The SIGN_IN audit row (provider, method, client address) through `record_sign_in`,
/// which also says whether this was the user's first sign-in. A storage problem is
/// logged, never raised: it must not undo a sign-in.
pub(crate) async fn record_sign_in(
    app: &App,
    caller: &Caller,
    user: Uuid,
    provider: &str,
    method: &str,
) -> bool {
    tracing::info!(
        audit = true,
        action = "SIGN_IN",
        actor = %user,
        provider,
        method,
        ip = caller.ip.as_deref(),
        "security event"
    );
    let Some(service) = app.db.as_service(caller) else {
        return false;
    };
    let params = crate::sql::RecordSignIn {
        p_user: user,
        p_provider: provider.to_owned(),
        p_method: method.to_owned(),
        p_ip: caller.ip.clone(),
        p_user_agent: caller.user_agent.clone(),
    };
    let Ok(builder) = service.rpc(&params) else {
        return false;
    };
    match shared::clients::postgrest::call::<bool>(builder, "Sign-in").await {
        Ok(first) => first,
        Err(e) => {
            tracing::warn!(cause = e.cause.as_deref(), "sign-in audit write failed");
            false
        }
    }
}

/// POST /auth/refresh: the refresh token comes from the session cookie only.
pub async fn refresh(
    app: App,
    caller: Caller,
    req: Request,
) -> Result<With<Data<SignedIn>>, ApiError> {
    // The cookie is the credential here: the same CSRF rule as any cookie request.
    shared::pipeline::check_csrf(&app, req.headers())?;
    let ip = caller.ip.as_deref().unwrap_or("unknown");
    let quotas = rate_limit::hit_subjects(&app, &caller, &[(REFRESH_PER_IP.rule, ip)]).await?;
    let refresh_token = cookies::read(&req, &app.config.auth_cookie_name)
        .and_then(cookie_refresh_token)
        .ok_or_else(|| ApiError::unauthorized("no refresh token in the session cookie"))?;
    match supabase_auth::refresh(&app, &caller, &refresh_token).await {
        Ok(session) => {
            Ok(signed_in(&app, &req, &session, false).headers(rate_limit::headers(&quotas)))
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

/// `POST /auth/sign-out`'s query: which sessions to end.
#[derive(Debug, Deserialize, Validate, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SignOutQuery {
    /// `local` (default): this session; `global`: every session of the user, on every
    /// device; `others`: every session but this one (the cookie stays).
    #[param(inline)]
    scope: Option<SignOutScope>,
}

/// POST /auth/sign-out?scope=: ends sessions at Supabase Auth: this one (`local`, the
/// default), every one (`global`) or every other (`others`); each ended session's access
/// tokens are refused from their next request (the database's request gate). With a
/// cookie whose access token has expired (a user back after an hour), the cookie's
/// refresh token renews the session once, and the sign-out goes through that. Every
/// answer but a CSRF refusal, a bad scope and `others` clears the cookie, an Auth outage
/// (503) included, so the next person at the machine never inherits the session. Without
/// any session it is a 204 all the same.
pub async fn sign_out(
    app: App,
    caller: Caller,
    Query(query): Query<SignOutQuery>,
    req: Request,
) -> Result<With<NoContent>, ApiError> {
    let scope = query.scope.unwrap_or(SignOutScope::Local);
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
            .verify(token, caller.trace())
            .await
            .map_err(shared::pipeline::rejected)?;
        supabase_auth::sign_out(&app, &caller, user.token(), scope)
            .await
            .map(|()| Some(user.id))
    } else {
        end_cookie_session(&app, &caller, &req, scope).await
    };
    // Signing out the other devices leaves this one signed in.
    let clear = if scope == SignOutScope::Others {
        Vec::new()
    } else {
        cookies::clearing(&app.config, &req)
    };
    match ended {
        Ok(user_id) => {
            if let Some(id) = user_id {
                let metadata = serde_json::json!({ "scope": scope.as_str() });
                audit_event(&app, &caller, "SIGN_OUT", Some(id), metadata).await;
            }
            Ok(With::new(NoContent).cookies(clear))
        }
        Err(failure) => Err(ApiError::from(failure).with_cookies(clear)),
    }
}

/// Ends the sessions `scope` names, from the session in the cookie: with its access
/// token while that is valid, else through its refresh token. `None` when there was no
/// session left to end.
async fn end_cookie_session(
    app: &App,
    caller: &Caller,
    req: &Request,
    scope: SignOutScope,
) -> Result<Option<Uuid>, AuthFailure> {
    let Some(stored) = cookies::read(req, &app.config.auth_cookie_name) else {
        return Ok(None);
    };
    if let Ok(user) = app
        .tokens
        .verify(&stored.access_token, caller.trace())
        .await
    {
        return supabase_auth::sign_out(app, caller, user.token(), scope)
            .await
            .map(|()| Some(user.id));
    }
    let Some(refresh_token) = cookie_refresh_token(stored) else {
        return Ok(None);
    };
    match supabase_auth::refresh(app, caller, &refresh_token).await {
        Ok(renewed) => {
            let access_token = renewed
                .json
                .get("access_token")
                .and_then(|t| t.as_str())
                .ok_or(AuthFailure::Unexpected)?;
            supabase_auth::sign_out(app, caller, access_token, scope)
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
