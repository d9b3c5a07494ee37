//! Sign-in by redirect and by email link, as @supabase/ssr's server-side guide does it in
//! a route handler, with Supabase Auth doing the provider and email work:
//!
//! GET  /auth/oauth/{provider}?next=    PKCE: a code verifier in a short-lived HttpOnly
//!                                      cookie, 302 to Supabase Auth's /authorize with
//!                                      its S256 challenge
//! GET  /auth/callback?code=&next=      the code exchanged (grant_type=pkce), the session
//!                                      cookie set, the verifier cleared, 303 to `next`
//! POST /auth/magic-link {email, next?} an email link through Supabase Auth (/otp); the
//!                                      same 202 whether or not the address has an account
//! POST /auth/recover {email, next?}    a password-recovery link (/recover), the same 202
//! GET  /auth/confirm?token_hash=&type=&next=&flow=
//!                                      an email link: opened in the browser that asked
//!                                      for it, verified (/verify) with the session
//!                                      cookie and 303 to `next`; opened anywhere else,
//!                                      303 to `next` with the confirmation step in its
//!                                      fragment, nothing verified
//! POST /auth/confirm {tokenHash, type} the confirmation step: the person chose to sign
//!                                      in here (a same-site request), verified, cookie
//! POST /auth/password {password}       the signed-in user's new password (after recovery)
//!
//! Email links sign in only the browser that asked for them, or a person who chooses to.
//! The request for a link (sign-up, magic link, recovery) sets an HttpOnly cookie with a
//! random secret and puts its SHA-256 (`flow`) in the link; the link signs in at once only
//! where the cookie matches. Anywhere else (another device, or a browser an attacker led
//! there with a link of their own: login CSRF) it lands on the app's confirmation step,
//! where only the person's own same-site POST signs in. A link checked by a mail scanner
//! is not used up either.
//!
//! `next` is a path on the app (`SITE_URL`, by default the first allowed origin) or a URL
//! on an allowed origin; anything else is refused, so no route here is an open redirect.
//! Whatever fails on a redirect route (the provider's `error`, a missing verifier, a used
//! or expired code or link, Supabase Auth down) lands on `next` with `error` and
//! `error_description` in its query, never on a 500. A first sign-in adds `new_user=true`.

use lambda_http::{Body, Request, RequestExt, Response};
use serde::{Deserialize, Serialize};
use shared::auth::cookies;
use shared::clients::supabase_auth::{self, AuthFailure, Session};
use shared::pipeline::contract::Example;
use shared::pipeline::typed::{Accepted, Data, Json, NoContent, ReadsQuery, With};
use shared::policy::rate_limit::{self, Limit};
use shared::{pipeline::input, ApiError, App, Caller, SignedIn};
use url::Url;
use validator::Validate;

use crate::links::{
    api_url_with_next, confirm_url, fail_to, pkce_pair, redirect, safe_next, site, site_root,
    with_query, LinkFlow,
};
use crate::sessions;
use crate::validate;

/// Email links asked for per client address, per window.
pub const MAGIC_LINK_PER_IP: Limit = Limit {
    rule: "magic-link:ip",
    max: 20,
    window_seconds: 300,
};
/// Email links asked for per email address, per window.
pub const MAGIC_LINK_PER_EMAIL: Limit = Limit {
    rule: "magic-link:email",
    max: 3,
    window_seconds: 300,
};

/// The session cookie for `session`, and the expiry of any previous one.
fn session_cookies(app: &App, req: &Request, session: &Session) -> Vec<String> {
    let previous = cookies::present_names(req, &app.config.auth_cookie_name);
    cookies::write(
        &app.config.auth_cookie_name,
        &session.json,
        app.config.cookie_scope(),
        &previous,
    )
}

fn clear_verifier(app: &App) -> String {
    cookies::clear_code_verifier(&app.config.auth_cookie_name, app.config.cookie_scope())
}

/// The provider a session's user signed in with (GoTrue's `app_metadata.provider`),
/// as the audit row names it.
fn provider_of(session: &Session, fallback: &str) -> String {
    session.json["user"]["app_metadata"]["provider"]
        .as_str()
        .filter(|p| {
            p.len() <= 32
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
        .unwrap_or(fallback)
        .to_owned()
}

// ---------------------------------------------------------------------------------------
// OAuth with PKCE
// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, Validate, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OAuthQuery {
    /// Where to land after signing in: a path on the app, or a URL on an allowed origin.
    #[validate(length(max = 2048))]
    #[param(max_length = 2048)]
    next: Option<String>,
}

/// GET /auth/oauth/{provider}?next=
pub async fn oauth_start(
    app: App,
    _caller: Caller,
    _: ReadsQuery<OAuthQuery>,
    req: Request,
) -> Result<Response<Body>, ApiError> {
    let provider = req
        .path_parameters_ref()
        .and_then(|p| p.first("provider"))
        .map(str::to_ascii_lowercase)
        .filter(|p| app.config.auth_providers.iter().any(|known| known == p))
        .ok_or_else(|| ApiError::not_found("Provider"))?;
    let query: OAuthQuery = input::query(&req)?;
    site(&app)?;
    let next = safe_next(&app, query.next.as_deref()).ok_or_else(|| {
        ApiError::invalid_field("next", "must be a path or a URL on an allowed origin")
    })?;
    let (verifier, challenge) = pkce_pair()?;
    let callback = api_url_with_next(&app, &req, "/auth/callback", &next)?;
    let authorize = with_query(
        Url::parse(&format!(
            "{}/auth/v1/authorize",
            app.config.supabase_url.as_str().trim_end_matches('/')
        ))
        .map_err(|_| ApiError::internal("authorize URL"))?,
        &[
            ("provider", provider.as_str()),
            ("redirect_to", callback.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "s256"),
        ],
    );
    let cookie = cookies::write_code_verifier(
        &app.config.auth_cookie_name,
        &verifier,
        app.config.cookie_scope(),
    );
    redirect(302, &authorize, vec![cookie])
}

/// What Supabase Auth (or the provider, through it) sends back; other parameters are
/// ignored, and what is wrong with these lands on `next` as an `error` (never a 4xx: a
/// browser is following a redirect).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    /// The authorization code to exchange.
    code: Option<String>,
    /// Where to land (as given to /auth/oauth/{provider}).
    next: Option<String>,
    /// The provider's or Supabase Auth's error, instead of a code.
    error: Option<String>,
    /// What the error means, for people.
    error_description: Option<String>,
}

/// An email link's parameters (what the email templates put in it); a link that is
/// wrong lands on `next` as an `error`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConfirmQuery {
    /// `{{ .TokenHash }}` of the email.
    token_hash: Option<String>,
    /// signup, email, magiclink, recovery, invite or email_change.
    r#type: Option<String>,
    /// Where to land: a path on the app, or a URL on an allowed origin.
    next: Option<String>,
    /// The SHA-256 of the secret the asking browser keeps (set by this API in the link).
    flow: Option<String>,
}

/// A query parameter given exactly once (twice is as good as absent); what a redirect
/// route does not read (GoTrue and providers add their own) is ignored.
fn one(req: &Request, name: &str) -> Option<String> {
    let all: Vec<&str> = req
        .query_string_parameters_ref()
        .and_then(|p| p.all(name))
        .unwrap_or_default();
    (all.len() == 1).then(|| all[0].to_owned())
}

fn callback_query(req: &Request) -> CallbackQuery {
    CallbackQuery {
        code: one(req, "code"),
        next: one(req, "next"),
        error: one(req, "error"),
        error_description: one(req, "error_description"),
    }
}

/// Plain, bounded text from an upstream error description (it travels in the app's URL).
fn plain(description: Option<&str>, fallback: &str) -> String {
    let text: String = description
        .unwrap_or(fallback)
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    if text.trim().is_empty() {
        fallback.to_owned()
    } else {
        text
    }
}

/// GET /auth/callback?code=&next=
pub async fn oauth_callback(
    app: App,
    caller: Caller,
    _: ReadsQuery<CallbackQuery>,
    req: Request,
) -> Result<Response<Body>, ApiError> {
    let query = callback_query(&req);
    let site_root = site_root(&app)?;
    // The verifier is single use: cleared on every answer.
    let clear = vec![clear_verifier(&app)];
    let Some(target) = safe_next(&app, query.next.as_deref()) else {
        return fail_to(
            site_root,
            "invalid_next",
            "The sign-in was sent to a place this app does not allow",
            clear,
        );
    };
    if let Some(error) = query.error.as_deref() {
        let error: String = error
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        let description = plain(
            query.error_description.as_deref(),
            "The provider did not sign you in",
        );
        return fail_to(
            target,
            if error.is_empty() {
                "provider_error"
            } else {
                &error
            },
            &description,
            clear,
        );
    }
    let Some(code) = query.code.filter(|c| (1..=512).contains(&c.len())) else {
        return fail_to(
            target,
            "missing_code",
            "The sign-in did not come back with a code; try again",
            clear,
        );
    };
    let Some(verifier) = cookies::read_code_verifier(&req, &app.config.auth_cookie_name) else {
        return fail_to(
            target,
            "missing_verifier",
            "The sign-in expired or was started in another browser; try again",
            clear,
        );
    };
    let session = match supabase_auth::exchange_code(&app, &caller, &code, &verifier).await {
        Ok(session) => session,
        Err(AuthFailure::Unavailable) => {
            return fail_to(
                target,
                "auth_unavailable",
                "Sign-in is unavailable right now; try again shortly",
                clear,
            )
        }
        Err(_) => {
            return fail_to(
                target,
                "invalid_code",
                "The sign-in code is invalid, used or expired; try again",
                clear,
            )
        }
    };
    let provider = provider_of(&session, "oauth");
    let is_new = sessions::record_sign_in(&app, &caller, session.user_id, &provider, "oauth").await;
    let mut set = session_cookies(&app, &req, &session);
    set.extend(clear);
    let target = if is_new {
        with_query(target, &[("new_user", "true")])
    } else {
        target
    };
    redirect(303, &target, set)
}

// ---------------------------------------------------------------------------------------
// Email links
// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    #[validate(custom(function = "validate::email"))]
    #[schema(schema_with = validate::schema::email)]
    email: String,
    /// Where the link lands after signing in: a path on the app, or a URL on an allowed
    /// origin.
    #[validate(length(max = 2048))]
    #[schema(max_length = 2048)]
    next: Option<String>,
}

impl Example for LinkRequest {
    const EXAMPLE: &'static str = r#"{"email":"alice@example.com","next":"/"}"#;
}

/// The answer to every accepted link request.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinkSent {
    /// Always true: a link is on its way if the address may sign in.
    sent: bool,
}

/// Which email link a request asks for.
#[derive(Clone, Copy)]
enum Link {
    /// A magic link (a sign-up confirmation for a new address while sign-ups are open).
    SignIn,
    /// A password-recovery link.
    Recovery,
}

/// POST /auth/magic-link {email, next?}
pub async fn magic_link(
    app: App,
    caller: Caller,
    Json(body): Json<LinkRequest>,
    req: Request,
) -> Result<With<Accepted<LinkSent>>, ApiError> {
    send_link(app, caller, body, req, Link::SignIn).await
}

/// POST /auth/recover {email, next?}: signs the user in when opened, to choose a new
/// password (POST /auth/password) on the page `next` names.
pub async fn recover(
    app: App,
    caller: Caller,
    Json(body): Json<LinkRequest>,
    req: Request,
) -> Result<With<Accepted<LinkSent>>, ApiError> {
    send_link(app, caller, body, req, Link::Recovery).await
}

/// Both link routes: the same limits (20 per client address, 3 per email address per 5
/// minutes, shared), and the same 202 whatever Supabase Auth did for the address.
async fn send_link(
    app: App,
    caller: Caller,
    body: LinkRequest,
    req: Request,
    link: Link,
) -> Result<With<Accepted<LinkSent>>, ApiError> {
    let started = std::time::Instant::now();
    sessions::check_browser_origin(&app, &req)?;
    let next = safe_next(&app, body.next.as_deref()).ok_or_else(|| {
        ApiError::invalid_field("next", "must be a path or a URL on an allowed origin")
    })?;
    let email = body.email.trim().to_lowercase();
    let ip = caller.ip.as_deref().unwrap_or("unknown");
    let gate = sessions::hit_auth_limit(&app, &caller, MAGIC_LINK_PER_IP.rule, ip).await?;
    let mut quotas = vec![gate.quota];
    if !quotas[0].allowed {
        return Err(rate_limit::refused(&quotas));
    }
    let per_email = rate_limit::hit_subjects(
        &app,
        &caller,
        &[(MAGIC_LINK_PER_EMAIL.rule, &sessions::email_key(&email))],
    )
    .await;
    match per_email {
        Ok(q) => quotas.extend(q),
        Err(e) => return Err(e.with_headers(rate_limit::headers(&quotas))),
    }
    // New addresses become users only while sign-ups are open (and Supabase Auth's
    // before-user-created hook says the same).
    let create_user = gate.signups_enabled && !gate.maintenance_mode;
    let flow = LinkFlow::new()?;
    let confirm = confirm_url(&app, &req, Some(next), &flow)?;
    let sent = match link {
        Link::SignIn => {
            let redirect = confirm.as_str();
            supabase_auth::send_email_link(&app, &caller, &email, create_user, redirect).await
        }
        Link::Recovery => {
            supabase_auth::send_recovery_link(&app, &caller, &email, confirm.as_str()).await
        }
    }
    .map_err(|f| ApiError::from(f).with_headers(rate_limit::headers(&quotas)))?;
    if !sent {
        tracing::info!("email link not sent (no such user, sign-ups closed, or Auth's own limit)");
    }
    // Sent or not, the same answer at the same time (policy::answer_time).
    shared::policy::answer_time::level(&app, started).await;
    Ok(With::new(Accepted(LinkSent { sent: true }))
        .headers(rate_limit::headers(&quotas))
        .cookies(vec![flow.cookie(&app)]))
}

/// An email link's token hash and type, if both are well formed (the rules of the
/// confirmation step's body).
fn link_parts(token_hash: Option<String>, kind: Option<String>) -> Option<(String, String)> {
    let kind = kind.filter(|t| validate::LINK_TYPE.check(t).is_ok())?;
    let token_hash = token_hash.filter(|t| validate::TOKEN_HASH.check(t).is_ok())?;
    Some((token_hash, kind))
}

/// A sign-up confirmation (GoTrue's `signup`, or `email` for the same link).
fn confirms_sign_up(kind: &str) -> bool {
    matches!(kind, "signup" | "email")
}

/// Before a sign-up link is verified: tells the database which browser confirms (the
/// flow, when the link was opened where it was asked for), so a password set before
/// the confirmation survives only its own browser's (`prepare_email_confirmation`).
/// True when the confirmation will clear a password (the app offers to set one).
async fn prepare_confirmation(
    app: &App,
    caller: &Caller,
    token_hash: &str,
    flow: Option<&str>,
) -> Result<bool, ApiError> {
    let service = app
        .db
        .as_service(caller)
        .ok_or_else(|| ApiError::unavailable("confirmation: no service role key configured"))?;
    shared::clients::postgrest::call(
        service.rpc(&crate::sql::PrepareEmailConfirmation {
            p_token_hash: token_hash.to_owned(),
            p_flow: flow.map(str::to_owned),
        })?,
        "Confirmation",
    )
    .await
}

/// GET /auth/confirm?token_hash=&type=&next=&flow=
pub async fn confirm(
    app: App,
    caller: Caller,
    _: ReadsQuery<ConfirmQuery>,
    req: Request,
) -> Result<Response<Body>, ApiError> {
    let query = ConfirmQuery {
        token_hash: one(&req, "token_hash"),
        r#type: one(&req, "type"),
        next: one(&req, "next"),
        flow: one(&req, "flow"),
    };
    let site_root = site_root(&app)?;
    let Some(target) = safe_next(&app, query.next.as_deref()) else {
        return fail_to(
            site_root,
            "invalid_next",
            "The link was sent to a place this app does not allow",
            vec![],
        );
    };
    let Some((token_hash, kind)) = link_parts(query.token_hash, query.r#type) else {
        return fail_to(
            target,
            "invalid_link",
            "The email link is incomplete; open it from the email again",
            vec![],
        );
    };
    // Opened in the browser that asked for it? Anywhere else, nothing is verified: the
    // app's confirmation step (the link's parts in the fragment, never sent to a server).
    let flow = LinkFlow::of_browser(&app, &req).filter(|f| query.flow.as_deref() == Some(f));
    let Some(flow) = flow else {
        let mut step = target;
        step.set_fragment(Some(&format!(
            "confirm_token_hash={token_hash}&confirm_type={kind}"
        )));
        return redirect(303, &step, vec![]);
    };
    let clear_flow = vec![cookies::clear_email_link(
        &app.config.auth_cookie_name,
        app.config.cookie_scope(),
    )];
    let unavailable = |target| {
        fail_to(
            target,
            "auth_unavailable",
            "Sign-in is unavailable right now; try again shortly",
            vec![],
        )
    };
    let clears_password = if confirms_sign_up(&kind) {
        match prepare_confirmation(&app, &caller, &token_hash, Some(&flow)).await {
            Ok(clears) => clears,
            // The link is still unused: the person can open it again.
            Err(_) => return unavailable(target),
        }
    } else {
        false
    };
    let session = match supabase_auth::verify_email_link(&app, &caller, &kind, &token_hash).await {
        Ok(session) => session,
        Err(AuthFailure::Unavailable) => return unavailable(target),
        Err(_) => {
            return fail_to(
                target,
                "otp_expired",
                "The email link is invalid or has expired",
                clear_flow,
            )
        }
    };
    let is_new = record_link_sign_in(&app, &caller, &session, &kind).await;
    let mut flags = Vec::new();
    if is_new {
        flags.push(("new_user", "true"));
    }
    if clears_password {
        flags.push(("set_password", "true"));
    }
    let mut set = session_cookies(&app, &req, &session);
    set.extend(clear_flow);
    redirect(303, &with_query(target, &flags), set)
}

/// The SIGN_IN row of an email link (`signup` for a sign-up confirmation); true on a
/// first sign-in.
async fn record_link_sign_in(app: &App, caller: &Caller, session: &Session, kind: &str) -> bool {
    let method = if kind == "email" { "signup" } else { kind };
    sessions::record_sign_in(app, caller, session.user_id, "email", method).await
}

/// The confirmation step's request: the email link's parts, from the fragment the app
/// was sent to.
#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LinkConfirmation {
    /// The link's `token_hash` (the app's `confirm_token_hash`).
    #[validate(custom(function = "validate::token_hash"))]
    #[schema(schema_with = validate::schema::token_hash)]
    token_hash: String,
    /// The link's `type` (the app's `confirm_type`).
    #[validate(custom(function = "validate::link_type"))]
    #[schema(schema_with = validate::schema::link_type)]
    r#type: String,
}

impl Example for LinkConfirmation {
    const EXAMPLE: &'static str = r#"{"tokenHash":"REPLACE_WITH_TOKEN_HASH","type":"magiclink"}"#;
}

/// The person signed in by the confirmation step.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = LinkSignedIn)]
pub struct Confirmed {
    #[serde(flatten)]
    signed_in: sessions::SignedIn,
    /// The account's password was set before its address was confirmed, elsewhere, and
    /// is gone: offer to set one (POST /auth/password).
    set_password: bool,
}

/// POST /auth/confirm {tokenHash, type}: the confirmation step of an email link opened in
/// another browser than the one that asked for it; the person pressed the button. Only a
/// same-site request (an allowed Origin) or a client that is not a browser gets here.
pub async fn confirm_here(
    app: App,
    caller: Caller,
    Json(body): Json<LinkConfirmation>,
    req: Request,
) -> Result<With<Data<Confirmed>>, ApiError> {
    sessions::check_browser_origin(&app, &req)?;
    let clears_password = if confirms_sign_up(&body.r#type) {
        prepare_confirmation(&app, &caller, &body.token_hash, None).await?
    } else {
        false
    };
    let session = supabase_auth::verify_email_link(&app, &caller, &body.r#type, &body.token_hash)
        .await
        .map_err(|failure| match failure {
            AuthFailure::Unavailable | AuthFailure::Unexpected => ApiError::from(failure),
            _ => ApiError::new(
                shared::base::error::ErrorCode::Unauthorized,
                "The email link is invalid or has expired",
            )
            .with_cause("otp_expired"),
        })?;
    let is_new = record_link_sign_in(&app, &caller, &session, &body.r#type).await;
    let body = Confirmed {
        signed_in: sessions::SignedIn::of(&session, is_new),
        set_password: clears_password,
    };
    Ok(With::new(Data(body)).cookies(session_cookies(&app, &req, &session)))
}

// ---------------------------------------------------------------------------------------
// A new password
// ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPassword {
    #[validate(custom(function = "validate::new_password"))]
    #[schema(schema_with = validate::schema::new_password)]
    password: String,
}

impl Example for NewPassword {
    const EXAMPLE: &'static str = r#"{"password":"REPLACE_WITH_PASSWORD"}"#;
}

/// POST /auth/password {password}: the signed-in user's new password (for instance after
/// a recovery link signed them in).
pub async fn set_password(
    app: App,
    caller: SignedIn,
    Json(body): Json<NewPassword>,
) -> Result<NoContent, ApiError> {
    match supabase_auth::set_password(&app, &caller, caller.user.token(), &body.password).await {
        Ok(()) => {}
        Err(AuthFailure::InvalidRefreshToken) => {
            return Err(ApiError::unauthorized("Supabase Auth refused the session"))
        }
        Err(other) => return Err(other.into()),
    }
    let event =
        shared::policy::audit::AuditEvent::new("PASSWORD_CHANGED", &caller).actor(caller.user.id);
    shared::policy::audit::record(&app, event).await;
    Ok(NoContent)
}
