//! Where the sign-in flows send a browser, and an email link's tie to the browser that
//! asked for it: the app's URLs (`SITE_URL`, `next` as far as it may go), this API's own
//! URLs as the browser reaches them, redirects, and the flow secret of an email link.
//! Used by the email-link and OAuth routes (`auth_links`) and by sign-up (`sessions`).

use lambda_http::{Body, Request, Response};
use sha2::{Digest, Sha256};
use shared::auth::cookies;
use shared::pipeline::response::ApiResult;
use shared::{ApiError, App};
use url::Url;

/// The app's origin: `SITE_URL`, else the first allowed origin.
pub(crate) fn site(app: &App) -> Result<&str, ApiError> {
    app.config.site_url.as_deref().ok_or_else(|| {
        ApiError::unavailable("auth links: neither SITE_URL nor ALLOWED_ORIGINS is set")
    })
}

/// The app's root page (`<site>/`): where a redirect lands when `next` cannot be used.
pub(crate) fn site_root(app: &App) -> Result<Url, ApiError> {
    Url::parse(&format!("{}/", site(app)?)).map_err(|_| ApiError::internal("site URL"))
}

/// Where `next` may send the browser: a path on the app, or a URL on an allowed origin.
/// `None` for anything else: another site, a protocol-relative `//host`, backslashes,
/// control characters, user info, a non-http scheme.
pub fn safe_next(app: &App, next: Option<&str>) -> Option<Url> {
    let site = app.config.site_url.as_deref()?;
    let next = next.unwrap_or("/");
    if next.is_empty() || next.len() > 2048 || next.chars().any(|c| c.is_control() || c == '\\') {
        return None;
    }
    let url = if next.starts_with('/') {
        if next.starts_with("//") {
            return None;
        }
        Url::parse(&format!("{site}{next}")).ok()?
    } else {
        let url = Url::parse(next).ok()?;
        let origin = url.origin().ascii_serialization();
        if !app.config.allowed_origins.contains(&origin) {
            return None;
        }
        url
    };
    let allowed = matches!(url.scheme(), "http" | "https")
        && url.username().is_empty()
        && url.password().is_none()
        && (url.origin().ascii_serialization() == site
            || app
                .config
                .allowed_origins
                .contains(&url.origin().ascii_serialization()));
    allowed.then_some(url)
}

/// `target` with `pairs` added to its query.
pub(crate) fn with_query(mut target: Url, pairs: &[(&str, &str)]) -> Url {
    {
        let mut query = target.query_pairs_mut();
        for (k, v) in pairs {
            query.append_pair(k, v);
        }
    }
    target
}

/// A redirect (302 or 303) to `location`, with these cookies.
pub(crate) fn redirect(status: u16, location: &Url, set_cookies: Vec<String>) -> ApiResult {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() =
        http::StatusCode::from_u16(status).map_err(|_| ApiError::internal("redirect status"))?;
    let value = http::HeaderValue::from_str(location.as_str())
        .map_err(|_| ApiError::internal("redirect location"))?;
    response.headers_mut().insert(http::header::LOCATION, value);
    Ok(cookies::set(response, set_cookies))
}

/// The failure of a redirect route, as a redirect: `error` and `error_description` on
/// the target (the app shows them), plus the cookies to set.
pub(crate) fn fail_to(
    target: Url,
    error: &str,
    description: &str,
    set_cookies: Vec<String>,
) -> ApiResult {
    tracing::info!(error, "sign-in redirect failed");
    redirect(
        303,
        &with_query(
            target,
            &[("error", error), ("error_description", description)],
        ),
        set_cookies,
    )
}

/// This API's base URL as the browser reached it: `PUBLIC_API_URL`, else the request's
/// Host (API Gateway and Function URLs set it to the domain the client used) with the
/// scheme API Gateway forwards.
pub(crate) fn api_base(app: &App, req: &Request) -> Result<String, ApiError> {
    if let Some(url) = &app.config.public_api_url {
        return Ok(url.clone());
    }
    let headers = req.headers();
    let host = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 253
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'))
        })
        .ok_or_else(|| ApiError::bad_request("The request has no valid Host header"))?;
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
    {
        Some("https") => "https",
        Some("http") => "http",
        _ if app.config.cookie_secure => "https",
        _ => "http",
    };
    Ok(format!("{scheme}://{host}"))
}

/// This API's `<path>?next=<next>`, as the browser will reach it from Supabase Auth.
pub(crate) fn api_url_with_next(
    app: &App,
    req: &Request,
    path: &str,
    next: &Url,
) -> Result<Url, ApiError> {
    let url = Url::parse(&format!("{}{path}", api_base(app, req)?))
        .map_err(|_| ApiError::bad_request("The request has no valid Host header"))?;
    Ok(with_query(url, &[("next", next.as_str())]))
}

/// This API's `/auth/confirm?next=<next>&flow=<flow>` (by default the app's root): where
/// Supabase Auth's email templates link (`{{ .RedirectTo }}` with the token hash and type).
pub(crate) fn confirm_url(
    app: &App,
    req: &Request,
    next: Option<Url>,
    flow: &LinkFlow,
) -> Result<Url, ApiError> {
    let next = next.map_or_else(|| site_root(app), Ok)?;
    let url = api_url_with_next(app, req, "/auth/confirm", &next)?;
    Ok(with_query(url, &[("flow", flow.flow.as_str())]))
}

/// An email link's tie to the browser that asked for it: a random secret for the
/// browser's cookie, and its SHA-256 (`flow`) for the link.
pub struct LinkFlow {
    secret: String,
    pub(crate) flow: String,
}

impl LinkFlow {
    pub(crate) fn new() -> Result<Self, ApiError> {
        // The construction of a PKCE pair: 32 random bytes and their S256, base64url.
        let (secret, flow) = pkce_pair()?;
        Ok(Self { secret, flow })
    }

    /// The `Set-Cookie` that keeps the secret in the asking browser.
    pub(crate) fn cookie(&self, app: &App) -> String {
        cookies::write_email_link(
            &app.config.auth_cookie_name,
            &self.secret,
            app.config.cookie_scope(),
        )
    }

    /// The flow of the browser that sent `req`, when its cookie holds a secret.
    pub(crate) fn of_browser(app: &App, req: &Request) -> Option<String> {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        let secret = cookies::read_email_link(req, &app.config.auth_cookie_name)?;
        Some(URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes())))
    }
}

/// A new PKCE code verifier (RFC 7636: 32 random bytes, base64url: 43 characters) and
/// its S256 challenge.
pub(crate) fn pkce_pair() -> Result<(String, String), ApiError> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|_| ApiError::internal("no randomness"))?;
    let verifier = URL_SAFE_NO_PAD.encode(bytes);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    Ok((verifier, challenge))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(site: Option<&str>, origins: &str) -> App {
        let config = shared::Config::from_lookup(|name| match name {
            "SUPABASE_URL" => Some("http://127.0.0.1:1".into()),
            "SUPABASE_ANON_KEY" => Some("anon".into()),
            "ALLOWED_ORIGINS" => Some(origins.into()),
            "SITE_URL" => site.map(str::to_owned),
            _ => None,
        })
        .unwrap();
        App::new(config).unwrap()
    }

    #[test]
    fn next_is_a_path_on_the_app_or_a_url_on_an_allowed_origin() {
        let app = app(None, "https://app.example.com,https://admin.example.com");
        let ok = |next: Option<&str>| safe_next(&app, next).map(|u| u.to_string());
        assert_eq!(ok(None).as_deref(), Some("https://app.example.com/"));
        assert_eq!(
            ok(Some("/welcome?x=1")).as_deref(),
            Some("https://app.example.com/welcome?x=1")
        );
        assert_eq!(
            ok(Some("https://admin.example.com/a")).as_deref(),
            Some("https://admin.example.com/a")
        );
        for refused in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "\\\\evil.example",
            "https://app.example.com.evil.example/",
            "https://user@app.example.com/",
            "javascript:alert(1)",
            "http://app.example.com/",
            "/a\nb",
            "",
            "evil.example",
        ] {
            assert_eq!(ok(Some(refused)), None, "{refused:?}");
        }
    }

    #[test]
    fn the_pkce_challenge_is_s256_of_the_verifier() {
        let (verifier, challenge) = pkce_pair().unwrap();
        assert_eq!(verifier.len(), 43);
        assert_ne!(pkce_pair().unwrap().0, verifier);
        use base64::Engine;
        let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(verifier.as_bytes()));
        assert_eq!(challenge, expected);
    }
}
