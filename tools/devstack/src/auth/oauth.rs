//! OAuth with a fake provider: GET /authorize (open; GoTrue's ExternalProviderRedirect),
//! and, STAND-IN ONLY, GET /_fake-provider/<p>/authorize?state=[&email=][&name=][&deny=1]
//! (open): the user at GitHub/Google consenting (or not) and GoTrue's /callback in one,
//! which answers the redirect GoTrue's callback would (`?code=` with PKCE, else the
//! tokens in the fragment; errors in the query and fragment). The provider's users have
//! verified emails; their subject is derived from provider + email.

use std::sync::Arc;

use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use serde_json::{json, Value};
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::config::{Api, KNOWN_PROVIDERS};
use super::crypto::{hex, random_bytes};
use super::db::as_auth_admin;
use super::error::{err, internal, no_route, pg_message, ApiError};
use super::hooks::before_user_created;
use super::http::{redirect, EndUser, Params, Referrer};
use super::input::{validate_email, validate_pkce};
use super::sessions::issue_session;
use super::token::FLOW_STATE_EXPIRY;
use super::urls::{encode_query, url_with, Query};
use super::users::{
    confirm_user, create_identity, insert_user, load_user, merge_user_metadata,
    remove_unconfirmed_identities, unsaved_user_json, update_providers, NewUser,
};

/// GoTrue's Provider(): enabled, known but disabled, or unknown.
fn check_provider(api: &Api, provider: &str) -> Result<(), ApiError> {
    if api.config.providers.iter().any(|p| p == provider) {
        return Ok(());
    }
    let why = match KNOWN_PROVIDERS.contains(&provider) {
        true => "provider is not enabled".to_string(),
        false => format!("Provider {provider} could not be found"),
    };
    Err(err(
        400,
        "validation_failed",
        format!("Unsupported provider: {why}"),
    ))
}

/// GET /authorize?provider=&redirect_to=&code_challenge=&code_challenge_method=: a flow
/// state (its id is the OAuth state), then 302 to the provider (here the fake provider's
/// consent page on the stand-in).
pub async fn authorize(
    State(api): State<Arc<Api>>,
    params: Params,
    Referrer(redirect_to): Referrer,
) -> Result<Response, ApiError> {
    let provider = params.get("provider").unwrap_or_default().to_lowercase();
    check_provider(&api, &provider)?;
    let challenge = params.get("code_challenge").unwrap_or_default();
    let method = params.get("code_challenge_method").unwrap_or_default();
    validate_pkce(&method, &challenge)?;
    let (auth_code, method) = match challenge.is_empty() {
        true => (None, None),
        false => match method.to_lowercase().as_str() {
            m @ ("s256" | "plain") => (Some(Uuid::new_v4().to_string()), Some(m.to_string())),
            _ => {
                let msg = "Invalid code_challenge_method";
                return Err(err(400, "validation_failed", msg));
            }
        },
    };
    let challenge = Some(challenge).filter(|c| !c.is_empty());
    let state = Uuid::new_v4();
    let mut conn = api.db.get().await?;
    let tx = conn.begin().await?;
    as_auth_admin(&tx).await?;
    tx.execute(
        "insert into auth.flow_state (id, auth_code, code_challenge_method, code_challenge,
                                      provider_type, authentication_method, referrer,
                                      created_at, updated_at)
         values ($1, $2, $3::text::auth.code_challenge_method, $4, $5, 'oauth', $6,
                 now(), now())",
        &[
            &state,
            &auth_code,
            &method,
            &challenge,
            &provider,
            &redirect_to,
        ],
    )
    .await
    .map_err(|e| internal("Error creating flow state", pg_message(&e)))?;
    tx.commit().await?;
    let base = api.config.issuer.trim_end_matches('/');
    redirect(
        302,
        &format!("{base}/_fake-provider/{provider}/authorize?state={state}"),
    )
}

/// STAND-IN ONLY: the provider's consent page and GoTrue's /callback in one.
pub async fn fake_provider(
    State(api): State<Arc<Api>>,
    client: EndUser,
    params: Params,
    uri: Uri,
) -> Result<Response, ApiError> {
    // As written in the path (the flow state names the provider it was started for); the
    // router lets an empty segment through.
    let provider = uri
        .path()
        .strip_prefix("/auth/v1/_fake-provider/")
        .and_then(|p| p.strip_suffix("/authorize"))
        .filter(|p| !p.is_empty())
        .ok_or_else(no_route)?;
    // GoTrue's loadFlowState: a bad state goes back to the site URL (303, query only).
    let state_error = |code: &str, msg: &str| {
        let set = [
            ("error", "invalid_request"),
            ("error_code", code),
            ("error_description", msg),
        ];
        redirect(303, &url_with(&api.config.site_url, &set, None))
    };
    let state = params.get("state").unwrap_or_default();
    if state.is_empty() {
        return state_error("bad_oauth_callback", "OAuth state parameter missing");
    }
    let Ok(state) = Uuid::parse_str(&state) else {
        return state_error("bad_oauth_state", "OAuth state parameter is invalid");
    };
    let flow = {
        let mut conn = api.db.get().await?;
        let tx = conn.begin().await?;
        tx.query_opt(
            "select provider_type, coalesce(referrer, ''), coalesce(code_challenge, '') <> '',
                    user_id, coalesce(created_at + make_interval(secs => $2) < now(), true)
             from auth.flow_state where id = $1 and authentication_method = 'oauth'",
            &[&state, &FLOW_STATE_EXPIRY],
        )
        .await?
    };
    let Some(flow) = flow.filter(|f| f.get::<_, String>(0) == provider) else {
        return state_error("bad_oauth_state", "OAuth state not found or expired");
    };
    let (pkce, user_id, expired): (bool, Option<Uuid>, bool) =
        (flow.get(2), flow.get(3), flow.get(4));
    if expired {
        return state_error("bad_oauth_state", "OAuth state has expired");
    }
    if pkce && user_id.is_some() {
        return state_error("flow_state_already_used", "State has already been used");
    }
    let to = Some(flow.get::<_, String>(1))
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| api.config.site_url.clone());
    let consent = Consent {
        provider,
        state,
        pkce,
        params: &params,
        client: &client,
    };
    match fake_consent(&api, consent).await {
        Ok(Consented::Code(code)) => redirect(302, &url_with(&to, &[("code", &code)], None)),
        Ok(Consented::Tokens(body, provider_token)) => {
            // GoTrue's AsRedirectURL: the tokens in the fragment.
            let text = |k: &str| match &body[k] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let mut fragment = Query::new();
            for k in [
                "access_token",
                "token_type",
                "expires_in",
                "expires_at",
                "refresh_token",
            ] {
                fragment.insert(k.into(), vec![text(k)]);
            }
            fragment.insert("provider_token".into(), vec![provider_token]);
            fragment.insert("sb".into(), vec![String::new()]);
            redirect(302, &format!("{to}#{}", encode_query(&fragment)))
        }
        Err(e) => redirect_errors(&to, e),
    }
}

/// What GoTrue's OAuth callback fails with: the provider's own error, or its own.
enum CallbackError {
    OAuth(&'static str, &'static str),
    Api(ApiError),
}

impl From<ApiError> for CallbackError {
    fn from(e: ApiError) -> Self {
        CallbackError::Api(e)
    }
}

impl From<tokio_postgres::Error> for CallbackError {
    fn from(e: tokio_postgres::Error) -> Self {
        CallbackError::Api(e.into())
    }
}

/// GoTrue's redirectErrors: 302 to the flow's redirect URL, the error in its query and
/// (with `sb`) in its fragment.
fn redirect_errors(to: &str, e: CallbackError) -> Result<Response, ApiError> {
    let (error, description, code) = match &e {
        CallbackError::OAuth(error, description) => (*error, description.to_string(), None),
        CallbackError::Api(e) => {
            let code = match e.hook {
                true => "",
                false => e.body["error_code"].as_str().unwrap_or_default(),
            };
            let error = match (code, e.status) {
                ("signup_disabled" | "user_banned" | "provider_email_needs_verification", _) => {
                    "access_denied"
                }
                (_, 400) => "invalid_request",
                (_, 401) => "unauthorized_client",
                (_, 403) => "access_denied",
                (_, 503) => "temporarily_unavailable",
                _ => "server_error",
            };
            let msg = e.body["msg"].as_str().unwrap_or_default().to_string();
            (error, msg, Some(code))
        }
    };
    let mut set = vec![
        ("error", error),
        ("error_description", description.as_str()),
    ];
    let mut fragment = Query::new();
    for (k, v) in [
        ("error", error),
        ("error_description", description.as_str()),
    ] {
        if !v.is_empty() {
            fragment.insert(k.into(), vec![v.into()]);
        }
    }
    if let Some(code) = code {
        set.push(("error_code", code));
        if !code.is_empty() {
            fragment.insert("error_code".into(), vec![code.into()]);
        }
    }
    fragment.insert("sb".into(), vec![String::new()]);
    redirect(302, &url_with(to, &set, Some(&encode_query(&fragment))))
}

/// A stable fake subject (the provider's user id) for a provider and email (FNV-1a).
fn fake_subject(provider: &str, email: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in provider.bytes().chain([0]).chain(email.bytes()) {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % 100_000_000_000).to_string()
}

/// GoTrue's account linking decision for a provider identity with a verified email.
enum Linking {
    Exists { user_id: Uuid, identity_id: Uuid },
    Link(Uuid),
    Create,
    Multiple,
}

async fn determine_linking(
    tx: &Transaction<'_>,
    provider: &str,
    sub: &str,
    email: &str,
) -> Result<Linking, ApiError> {
    if let Some(row) = tx
        .query_opt(
            "select id, user_id from auth.identities where provider_id = $1 and provider = $2",
            &[&sub, &provider],
        )
        .await?
    {
        return Ok(Linking::Exists {
            identity_id: row.get(0),
            user_id: row.get(1),
        });
    }
    let ids: Vec<Uuid> = tx
        .query(
            "select distinct user_id from auth.identities
             where email = lower($1) and provider not like 'sso:%'",
            &[&email],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let ids = match ids.len() {
        0 => tx
            .query(
                "select id from auth.users where lower(email) = lower($1) and not is_sso_user",
                &[&email],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect(),
        _ => ids,
    };
    Ok(match ids.as_slice() {
        [] => Linking::Create,
        [id] => Linking::Link(*id),
        _ => Linking::Multiple,
    })
}

/// The fake provider's page as the user answered it, for the flow `state`.
struct Consent<'a> {
    provider: &'a str,
    state: Uuid,
    pkce: bool,
    params: &'a Params,
    client: &'a EndUser,
}

enum Consented {
    Code(String),
    Tokens(Value, String),
}

/// GoTrue's internalExternalProviderCallback for the fake provider's user.
async fn fake_consent(api: &Api, consent: Consent<'_>) -> Result<Consented, CallbackError> {
    let Consent {
        provider,
        state,
        pkce,
        params,
        client,
    } = consent;
    if params
        .get("deny")
        .is_some_and(|d| !d.is_empty() && d != "0")
    {
        let description = "The user has denied your application access.";
        return Err(CallbackError::OAuth("access_denied", description));
    }
    let email = params
        .get("email")
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| format!("{provider}-user@example.test"));
    let email = validate_email(&email)?;
    let sub = fake_subject(provider, &email);
    let login = email.split('@').next().unwrap_or_default().to_string();
    let name = params
        .get("name")
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| login.clone());
    let iss = match provider {
        "github" => "https://api.github.com",
        "google" => "https://accounts.google.com",
        _ => "https://fake-provider.example.test",
    };
    let identity_data = json!({
        "iss": iss,
        "sub": sub,
        "provider_id": sub,
        "email": email,
        "email_verified": true,
        "phone_verified": false,
        "name": name,
        "full_name": name,
        "user_name": login,
        "preferred_username": login,
    });
    let identity_map = identity_data.as_object().cloned().unwrap_or_default();

    let new_id = Uuid::new_v4();
    let decision = {
        let mut conn = api.db.get().await?;
        let tx = conn.begin().await?;
        determine_linking(&tx, provider, &sub, &email).await?
    };
    if matches!(decision, Linking::Create) {
        let user = unsaved_user_json(new_id, &email, provider, &identity_data);
        before_user_created(
            api.config.before_user_created.as_ref(),
            &api.db,
            &client.ip,
            &user,
        )
        .await?;
    }

    let mut conn = api.db.get().await?;
    let tx = conn.begin().await?;
    as_auth_admin(&tx).await?;
    let (user_id, identity_id) = match determine_linking(&tx, provider, &sub, &email).await? {
        Linking::Exists {
            user_id,
            identity_id,
        } => {
            tx.execute(
                "update auth.identities set identity_data = $2, last_sign_in_at = now(),
                   updated_at = now()
                 where id = $1",
                &[&identity_id, &identity_data],
            )
            .await?;
            merge_user_metadata(&tx, user_id, &identity_map).await?;
            update_providers(&tx, user_id).await?;
            (user_id, identity_id)
        }
        Linking::Link(user_id) => {
            let identity_id = create_identity(&tx, user_id, provider, &sub, &identity_data).await?;
            merge_user_metadata(&tx, user_id, &identity_map).await?;
            update_providers(&tx, user_id).await?;
            (user_id, identity_id)
        }
        Linking::Create => {
            let app_metadata = json!({ "provider": provider, "providers": [provider] });
            let new_user = NewUser {
                id: new_id,
                email: &email,
                password_hash: None,
                confirmed: false,
                app_metadata: &app_metadata,
                user_metadata: &identity_data,
            };
            insert_user(&tx, &new_user, "Database error saving new user").await?;
            let identity_id = create_identity(&tx, new_id, provider, &sub, &identity_data).await?;
            (new_id, identity_id)
        }
        Linking::Multiple => {
            return Err(internal(
                "Multiple accounts with the same email address in the same linking domain \
                 detected: default",
                &email,
            )
            .into())
        }
    };
    let user = load_user(&tx, user_id)
        .await?
        .ok_or_else(|| internal("Database error loading user", user_id))?;
    if user.banned {
        return Err(err(403, "user_banned", "User is banned").into());
    }
    if !user.confirmed {
        // Pre-account-takeover protection, then confirmed: the provider verified the email.
        remove_unconfirmed_identities(&tx, user_id, identity_id, provider, &identity_data).await?;
        confirm_user(&tx, user_id).await?;
    }
    let provider_token = format!("fake-{provider}-{}", hex(&random_bytes::<20>()?));
    if pkce {
        let used: Option<Option<Uuid>> = tx
            .query_opt(
                "select user_id from auth.flow_state where id = $1 for update",
                &[&state],
            )
            .await?
            .map(|r| r.get(0));
        match used {
            None => {
                let msg = "OAuth state not found or expired";
                return Err(err(400, "bad_oauth_state", msg).into());
            }
            Some(Some(_)) => {
                let msg = "State has already been used";
                return Err(err(400, "flow_state_already_used", msg).into());
            }
            Some(None) => {}
        }
        let auth_code: String = tx
            .query_one(
                "update auth.flow_state set user_id = $2, provider_access_token = $3,
                   auth_code_issued_at = now(), updated_at = now()
                 where id = $1 returning auth_code",
                &[&state, &user_id, &provider_token],
            )
            .await?
            .get(0);
        tx.commit().await?;
        Ok(Consented::Code(auth_code))
    } else {
        let body = issue_session(api, &tx, client, user_id, "oauth", Some(&provider_token)).await?;
        tx.execute("delete from auth.flow_state where id = $1", &[&state])
            .await?;
        tx.commit().await?;
        Ok(Consented::Tokens(body, provider_token))
    }
}
