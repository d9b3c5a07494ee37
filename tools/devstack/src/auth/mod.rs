//! A STAND-IN for Supabase Auth (GoTrue), used only by local development and tests, where
//! the real service cannot be installed. It is not Supabase Auth: it follows GoTrue's
//! documented request and response shapes (and its behaviour, where noted) for the few
//! endpoints this project uses, and nothing else. Never expose it to real users.
//!
//! Endpoints (under /auth/v1, behind a Kong-like `apikey` check, except where marked open
//! as Supabase's Kong leaves them), and the module of each:
//!   GET    /.well-known/jwks.json                 open; public keys (signing key +      keys
//!                                                 AUTH_EXTRA_PUBLIC_KEYS)
//!   POST   /token?grant_type=password             {email, password}                     token
//!   POST   /token?grant_type=refresh_token        {refresh_token}                       token
//!   POST   /token?grant_type=pkce                 {auth_code, code_verifier}            token
//!   POST   /logout[?scope=global|local|others]    user's bearer token; 204              logout
//!   GET    /user                                  user's bearer token                   user
//!   PUT    /user                                  user's bearer token;                  user
//!                                                 {email?, password?, data?}
//!   POST   /signup[?redirect_to=]                 {email, password, data?,              signup
//!                                                 code_challenge?, code_challenge_method?}
//!   POST   /otp[?redirect_to=]                    {email, create_user?, data?,          signup
//!                                                 code_challenge?, code_challenge_method?}
//!   POST   /recover[?redirect_to=]                {email}                               signup
//!   POST   /verify                                open; {type, token_hash}              verify
//!   GET    /authorize?provider=&redirect_to=&code_challenge=&code_challenge_method=   oauth
//!                                                 open; 302 to the fake provider's
//!                                                 consent page
//!   POST   /invite[?redirect_to=]                 service role bearer; {email, data?}   admin
//!   POST   /admin/users                           service role bearer;                  admin
//!                                                 {email, password?, ...}
//!   GET    /admin/users/<uuid>                    service role bearer; the user         admin
//!   DELETE /admin/users/<uuid>                    service role bearer                   admin
//! STAND-IN ONLY (no GoTrue equivalent):
//!   GET    /_fake-provider/<p>/authorize?state=[&email=][&name=][&deny=1]             oauth
//!                                                 open; the user at GitHub/Google
//!                                                 consenting (or not): 302 to
//!                                                 redirect_to with ?code=
//!   GET    /_dev/mailbox?email=                   service role bearer; the emails       mail
//!   DELETE /_dev/mailbox?email=                   "sent" to the address (all without
//!                                                 email), newest first; DELETE clears
//! Any other route under /auth/v1 is GoTrue's 404 `not_found` (after the key check),
//! and any path outside it Kong's 404.
//!
//! As GoTrue does: writes and hooks run as supabase_auth_admin; each sign-in is a row of
//! auth.sessions with the client's User-Agent and address (the first X-Forwarded-For
//! entry, else the peer), which a refresh updates with refreshed_at (UTC, without a zone);
//! a refresh of a session past its not_after is 400 session_expired; logout ends this
//! session, all of them or all others (scope local, global, others); refresh tokens rotate, a
//! rotated token stays usable while it is the parent of the session's active token or
//! within the reuse interval, and any other reuse revokes the session's tokens (400
//! refresh_token_already_used); the before-user-created hook runs before sign-up, OTP
//! sign-up, invite and an OAuth first sign-in (not before POST /admin/users), in a
//! transaction of its own, and its `{"error": {"http_code", "message"}}` stops the
//! creation; email links carry GoTrue's token hash (hex SHA-224 of address + 6-digit OTP)
//! in auth.one_time_tokens, single use, expiring AUTH_MAILER_OTP_EXP after *_sent_at; an
//! email to a confirmed address at POST /signup answers an obfuscated user (no mail) unless
//! autoconfirm is on (422 user_already_exists); OAuth accounts link by verified email.
//! Query strings are read as Go's url.ParseQuery reads them (`+` is a space).
//!
//! Simplified, knowingly:
//! - No SMTP: every email is a row of auth_standin.mailbox (type confirmation, magiclink,
//!   recovery, email_change or invite, its token hash and redirect URL), read over
//!   /_dev/mailbox. Links are built by the reader: {SiteURL}/auth/confirm?token_hash=&type=
//!   as in Supabase's server-side email templates.
//! - POST /verify takes token_hash only (not {email, token}, not GET /verify links).
//! - PKCE applies to OAuth only: signup/otp/recover accept and check code_challenge but
//!   their links are verified with token_hash, never exchanged for a code.
//! - Email change ("secure email change" in GoTrue mails both addresses) mails the NEW
//!   address only, and one confirmation applies it.
//! - OAuth: the fake provider's page is the provider and GoTrue's /callback in one: it
//!   answers the redirect GoTrue's callback would. Its users have verified emails; the
//!   subject is derived from provider + email. No scopes, no provider refresh tokens.
//! - AUTH_URI_ALLOW_LIST entries are prefixes (trailing `*` ignored), not GoTrue's globs.
//! - No phone, SSO, MFA, anonymous users, captcha or IP rate limits (the per-address email
//!   frequency limit is kept).
//!
//! Modules: `config` (the environment, and `Api`, the state handlers share), `kong` (the
//! gateway's key check), one module per endpoint area (above), and what they share:
//! `sessions` (a session's tokens; the `Authenticated` extractor), `users` (auth.users
//! and auth.identities as GoTrue's models), `mail` (the emails with links), `hooks`,
//! `keys` (signing and verifying), `input` (GoTrue's checks on emails, passwords, PKCE),
//! `http` (extractors and answers), `urls` (Go's query strings and redirect URLs),
//! `crypto`, `db`, and `error` (GoTrue's and Kong's error shapes). The database needs
//! supabase/local/bootstrap.sql and supabase/local/auth-standin.sql; the tests in
//! tools/devstack/tests/auth_standin/ run every endpoint against a database of their own.

mod admin;
mod config;
mod crypto;
mod db;
mod error;
mod hooks;
mod http;
mod input;
mod keys;
mod kong;
mod logout;
mod mail;
mod oauth;
mod sessions;
mod signup;
mod token;
mod urls;
mod user;
mod users;
mod verify;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{HeaderValue, CACHE_CONTROL};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{any, get, post, MethodRouter};
use axum::Router;
use tokio::net::TcpListener;

pub use config::{Api, Config};

/// The stand-in's routes, behind Kong's key check.
pub fn router(api: Arc<Api>) -> Router {
    Router::new()
        .route("/auth/v1/.well-known/jwks.json", only(get(jwks)))
        .route("/auth/v1/token", only(post(token::grant)))
        .route("/auth/v1/logout", only(post(logout::logout)))
        .route(
            "/auth/v1/user",
            only(get(user::get_user).put(user::update_user)),
        )
        .route("/auth/v1/signup", only(post(signup::signup)))
        .route("/auth/v1/otp", only(post(signup::otp)))
        .route("/auth/v1/recover", only(post(signup::recover)))
        .route("/auth/v1/verify", only(post(verify::verify)))
        .route("/auth/v1/authorize", only(get(oauth::authorize)))
        .route("/auth/v1/invite", only(post(admin::invite)))
        .route("/auth/v1/admin/users", only(post(admin::create_user)))
        // Any rest of the path is the id (refused unless a UUID), an empty one too.
        .route(
            "/auth/v1/admin/users/",
            only(get(admin::get_user).delete(admin::delete_user)),
        )
        .route(
            "/auth/v1/admin/users/{*id}",
            only(get(admin::get_user).delete(admin::delete_user)),
        )
        .route(
            "/auth/v1/_fake-provider/{provider}/authorize",
            only(get(oauth::fake_provider)),
        )
        .route(
            "/auth/v1/_dev/mailbox",
            only(get(mail::mailbox).delete(mail::clear_mailbox)),
        )
        .fallback(error::not_found)
        .layer(middleware::from_fn_with_state(api.clone(), kong::gateway))
        .with_state(api)
}

/// A route answers its own methods only: any other, HEAD included (which axum would give
/// to a GET handler), is GoTrue's 404 as for an unknown route (no 405, no Allow header).
fn only(route: MethodRouter<Arc<Api>>) -> MethodRouter<Arc<Api>> {
    route.head(error::not_found).merge(any(error::not_found))
}

/// Serves the stand-in on `listener` until `shutdown` completes, logging one line per
/// request (`auth-standin: <method> <path> <status>`) to stderr.
pub async fn serve(
    listener: TcpListener,
    api: Arc<Api>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(api).layer(middleware::from_fn(log_request));
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

async fn log_request(req: Request, next: Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let resp = next.run(req).await;
    eprintln!("auth-standin: {method} {path} {}", resp.status().as_u16());
    resp
}

/// GET /.well-known/jwks.json (open): the published keys, cacheable for 10 minutes.
async fn jwks(State(api): State<Arc<Api>>) -> Response {
    let mut resp = error::respond(200, Some(&api.config.keys.jwks()));
    let cache = HeaderValue::from_static("public, max-age=600");
    resp.headers_mut().insert(CACHE_CONTROL, cache);
    resp
}
