//! What the handlers read from a request (axum extractors: a JSON body, query values,
//! the bearer token, the end user, the redirect URL) and the answers they give.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header::{HeaderValue, AUTHORIZATION, LOCATION, USER_AGENT};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::config::Api;
use super::error::{err, internal, respond, ApiError};
use super::urls::{query_param, redirect_allowed};

pub fn ok(body: Value) -> Result<Response, ApiError> {
    Ok(respond(200, Some(&body)))
}

pub fn no_content() -> Response {
    respond(204, None)
}

pub fn redirect(status: u16, location: &str) -> Result<Response, ApiError> {
    let value = HeaderValue::from_str(location).map_err(|e| internal("Invalid redirect URL", e))?;
    let mut resp = respond(status, None);
    resp.headers_mut().insert(LOCATION, value);
    Ok(resp)
}

/// The request body as JSON, whatever its Content-Type (as GoTrue reads it); an unreadable
/// body is an empty one.
pub struct GoTrueJson<T>(pub T);

pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        err(
            400,
            "bad_json",
            format!("Could not parse request body as JSON: {e}"),
        )
    })
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for GoTrueJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let Ok(RawBody(body)) = RawBody::from_request(req, state).await;
        parse_json(&body).map(GoTrueJson)
    }
}

/// The whole request body, of any size; an unreadable body is an empty one.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = std::convert::Infallible;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        let body = axum::body::to_bytes(req.into_body(), usize::MAX).await;
        Ok(RawBody(body.unwrap_or_default()))
    }
}

/// The query string's values as Go's `r.URL.Query()` holds them; `get` is the first.
pub struct Params(String);

impl Params {
    pub fn get(&self, name: &str) -> Option<String> {
        query_param(&self.0, name)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Params(parts.uri.query().unwrap_or_default().to_string()))
    }
}

/// `Authorization: Bearer <token>`, as GoTrue's `^(?:B|b)earer (\S+$)`; 401 without one.
pub struct Bearer(pub String);

pub fn bearer(headers: &HeaderMap) -> Result<Bearer, ApiError> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .filter(|t| !t.is_empty() && !t.contains(char::is_whitespace))
        .map(|t| Bearer(t.to_string()))
        .ok_or_else(|| {
            err(
                401,
                "no_authorization",
                "This endpoint requires a valid Bearer token",
            )
        })
}

impl<S: Send + Sync> FromRequestParts<S> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        bearer(&parts.headers)
    }
}

/// Who is asking, as GoTrue records it on a session (models.GrantParams) and gives to
/// hooks: the User-Agent, and the address (GetIPAddress: the first X-Forwarded-For entry,
/// else the peer).
pub struct EndUser {
    pub user_agent: Option<String>,
    pub ip: String,
}

impl<S: Send + Sync> FromRequestParts<S> for EndUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let forwarded = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string);
        let ip = match forwarded {
            Some(ip) => ip,
            None => {
                let ConnectInfo(peer) = ConnectInfo::<SocketAddr>::from_request_parts(parts, state)
                    .await
                    .map_err(|e| internal("No client address", e))?;
                peer.ip().to_string()
            }
        };
        let user_agent = parts
            .headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(EndUser { user_agent, ip })
    }
}

/// GoTrue's utilities.GetReferrer: where its emails and OAuth flows send the user back.
/// The `redirect_to` header or query parameter, else the Referer, when allowed; else the
/// site URL.
pub struct Referrer(pub String);

impl FromRequestParts<Arc<Api>> for Referrer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        api: &Arc<Api>,
    ) -> Result<Self, Self::Rejection> {
        let config = &api.config;
        let allowed = |url: &str| redirect_allowed(&config.site_url, &config.allow_list, url);
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        let mut wanted = header("redirect_to");
        if wanted.is_empty() {
            wanted = query_param(parts.uri.query().unwrap_or_default(), "redirect_to")
                .unwrap_or_default();
        }
        if allowed(&wanted) {
            return Ok(Referrer(wanted));
        }
        let referer = header("referer");
        if allowed(&referer) {
            return Ok(Referrer(referer));
        }
        Ok(Referrer(config.site_url.clone()))
    }
}

/// GoTrue's requireAdmin: a bearer token with an admin role (here: the service role key).
pub struct Admin;

impl FromRequestParts<Arc<Api>> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, api: &Arc<Api>) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers)?.0;
        let config = &api.config;
        if token == config.service_key {
            return Ok(Admin);
        }
        match config.keys.verify(&token, &config.issuer) {
            Err(e) if token != config.anon_key => Err(err(
                403,
                "bad_jwt",
                format!("invalid JWT: unable to parse or verify signature, {e}"),
            )),
            _ => Err(err(403, "not_admin", "User not allowed")),
        }
    }
}
