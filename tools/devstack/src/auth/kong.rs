//! Kong, the gateway in front of GoTrue in a Supabase project: paths outside /auth/v1 are
//! its 404, and every route but the open ones needs the anon or service role key (the
//! `apikey` header, else the `apikey` query parameter).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::config::Api;
use super::error::{kong, ApiError};
use super::urls::query_param;

pub async fn gateway(State(api): State<Arc<Api>>, req: Request, next: Next) -> Response {
    let Some(path) = req.uri().path().strip_prefix("/auth/v1") else {
        return kong(404, "no Route matched with those values", None).into_response();
    };
    if !is_open(req.method(), path) {
        let query = req.uri().query().unwrap_or_default();
        if let Err(e) = check_apikey(&api, req.headers(), query) {
            return e.into_response();
        }
    }
    next.run(req).await
}

/// Kong's open routes (no apikey): /verify, /callback, /authorize and GET of the JWKS;
/// and the stand-in's own pages (the fake provider is a browser page; the mailbox wants
/// the service role).
fn is_open(method: &Method, path: &str) -> bool {
    match path {
        "/.well-known/jwks.json" => method == Method::GET,
        "/authorize" | "/verify" | "/callback" => true,
        "/_dev/mailbox" => method == Method::GET || method == Method::DELETE,
        _ => method == Method::GET && path.starts_with("/_fake-provider/"),
    }
}

fn check_apikey(api: &Api, headers: &HeaderMap, query: &str) -> Result<(), ApiError> {
    let key = headers
        .get("apikey")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| query_param(query, "apikey"));
    match key {
        None => Err(kong(
            401,
            "No API key found in request",
            Some("No `apikey` request header or url param was found."),
        )),
        Some(k) if k == api.config.anon_key || k == api.config.service_key => Ok(()),
        Some(_) => Err(kong(
            401,
            "Invalid API key",
            Some("Double check your Supabase `anon` or `service_role` API key."),
        )),
    }
}
