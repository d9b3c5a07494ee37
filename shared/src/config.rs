//! Configuration from the environment, validated once at cold start.

use std::time::Duration;

use reqwest::Url;

/// A missing or malformed setting, naming the variable (never its value).
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {var} {problem}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
}

impl ConfigError {
    pub fn new(var: &'static str, problem: impl Into<String>) -> Self {
        Self {
            var,
            problem: problem.into(),
        }
    }
}

/// The shortest HS256 secret accepted. Supabase's JWT secrets are at least 32 characters.
pub const MIN_JWT_SECRET_LEN: usize = 32;

#[derive(Clone)]
pub struct Config {
    /// `https://<project-ref>.supabase.co` (locally, the stand-in base URL).
    pub supabase_url: Url,
    /// PostgREST base URL: `<SUPABASE_URL>/rest/v1` unless `SUPABASE_REST_URL` says otherwise.
    pub rest_url: Url,
    /// The publishable key (`SUPABASE_PUBLISHABLE_KEY`, `sb_publishable_...`; or the
    /// legacy anon JWT, `SUPABASE_ANON_KEY`): sent as `apikey` on every call made for a
    /// user, as supabase-js sends it (Supabase's gateway requires it).
    pub anon_key: String,
    /// HS256 secret of the project (legacy JWT secret); without it only JWKS keys verify.
    pub jwt_secret: Option<String>,
    /// The project's public signing keys (ES256/RS256):
    /// `<SUPABASE_URL>/auth/v1/.well-known/jwks.json` unless overridden.
    pub jwks_url: Url,
    /// The secret key (`SUPABASE_SECRET_KEY`, `sb_secret_...`; or the legacy
    /// service_role JWT, `SUPABASE_SERVICE_ROLE_KEY`): only for the writes no user may
    /// make themselves (audit events, sign-in rate limits) and Supabase Auth's admin API,
    /// sent as `apikey` and as the bearer (the one non-JWT bearer Supabase's gateway
    /// accepts is the apikey itself). Optional: without it those are logged only.
    pub service_role_key: Option<String>,
    /// Browser origins allowed for CORS with credentials and for cookie-authenticated
    /// unsafe requests (CSRF). Exact `scheme://host[:port]` values.
    pub allowed_origins: Vec<String>,
    /// The app's origin, where redirects of the sign-in routes land by default
    /// (`SITE_URL`; default: the first allowed origin).
    pub site_url: Option<String>,
    /// The OAuth providers `GET /auth/oauth/{provider}` accepts (`AUTH_PROVIDERS`,
    /// comma-separated; default github,google), as enabled in Supabase Auth.
    pub auth_providers: Vec<String>,
    /// This API's own base URL as browsers reach it (`PUBLIC_API_URL`), for the links and
    /// redirects Supabase Auth sends back to it; default: the request's Host.
    pub public_api_url: Option<String>,
    /// The @supabase/ssr session cookie: `sb-<project-ref>-auth-token` unless overridden.
    pub auth_cookie_name: String,
    /// `Secure` on the cookies this backend sets (off only for plain-http local dev).
    pub cookie_secure: bool,
    /// `COOKIE_DOMAIN`: the `Domain` of the cookies this backend sets (the API's host,
    /// e.g. `api.example.com`, so the stream's `stream.api.example.com` gets them too);
    /// none: host-only cookies.
    pub cookie_domain: Option<String>,
    /// Expected `iss` of access tokens: `<SUPABASE_URL>/auth/v1` unless overridden.
    pub jwt_issuer: String,
    /// Time budget for one call to PostgREST before the request answers 503.
    pub upstream_timeout: Duration,
    /// The answers that must not tell an existing account from an unknown one (a failed
    /// sign-in, the 202s of sign-up, magic link and recovery) leave no sooner than this
    /// after the request arrived, and on a multiple of it when slower.
    pub auth_answer_floor: Duration,
    /// The S3 bucket for uploads (only the upload functions need it).
    pub uploads_bucket: Option<String>,
    /// AWS region (Lambda sets AWS_REGION).
    pub aws_region: String,
    /// A non-AWS S3 endpoint (local development and tests), path-style.
    pub s3_endpoint: Option<Url>,
    /// `EXTRA_CA_CERTS`: certificate authorities trusted besides the built-in Mozilla
    /// roots (a PEM file), for a self-hosted Supabase behind a private CA, or the
    /// Lambda-shaped bench's TLS front. Read once, at cold start.
    pub extra_ca_certs: Vec<reqwest::Certificate>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("supabase_url", &self.supabase_url.as_str())
            .field("rest_url", &self.rest_url.as_str())
            .field("jwt_issuer", &self.jwt_issuer)
            .field("upstream_timeout", &self.upstream_timeout)
            .finish_non_exhaustive()
    }
}

/// The default of `AUTH_ANSWER_FLOOR_MS`: above the slowest answer of Supabase Auth's
/// sign-in, sign-up, magic-link and recovery on the happy path (a bcrypt check at cost
/// 10, a new user and its email).
pub const DEFAULT_AUTH_ANSWER_FLOOR_MS: u64 = 1000;

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the configuration from any variable source (the environment, or a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &'static str| -> Option<String> {
            get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let required = |name: &'static str| -> Result<String, ConfigError> {
            var(name).ok_or_else(|| ConfigError::new(name, "is not set"))
        };

        let supabase_url = parse_url("SUPABASE_URL", &required("SUPABASE_URL")?)?;
        let base = supabase_url.as_str().trim_end_matches('/').to_owned();
        let rest_url = match var("SUPABASE_REST_URL") {
            Some(v) => parse_url("SUPABASE_REST_URL", &v)?,
            None => parse_url("SUPABASE_URL", &format!("{base}/rest/v1"))?,
        };
        let anon_key = match (var(PUBLISHABLE_KEY), var(LEGACY_ANON_KEY)) {
            (Some(key), _) => checked_key(PUBLISHABLE_KEY, key, KeyKind::Publishable)?,
            (None, Some(key)) => checked_key(LEGACY_ANON_KEY, key, KeyKind::Publishable)?,
            (None, None) => {
                return Err(ConfigError::new(
                    PUBLISHABLE_KEY,
                    "is not set (nor the legacy SUPABASE_ANON_KEY)",
                ))
            }
        };
        let jwt_secret = var("SUPABASE_JWT_SECRET")
            .map(checked_jwt_secret)
            .transpose()?;
        let jwks_url = match var("SUPABASE_JWKS_URL") {
            Some(v) => parse_url("SUPABASE_JWKS_URL", &v)?,
            None => parse_url(
                "SUPABASE_URL",
                &format!("{base}/auth/v1/.well-known/jwks.json"),
            )?,
        };
        let service_role_key = match (var(SECRET_KEY), var(LEGACY_SERVICE_ROLE_KEY)) {
            (Some(key), _) => Some(checked_key(SECRET_KEY, key, KeyKind::Secret)?),
            (None, Some(key)) => Some(checked_key(LEGACY_SERVICE_ROLE_KEY, key, KeyKind::Secret)?),
            (None, None) => None,
        };
        let allowed_origins = match var("ALLOWED_ORIGINS") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(parse_origin)
                .collect::<Result<Vec<_>, _>>()?,
        };
        let site_url = match var("SITE_URL") {
            Some(v) => Some(parse_origin(&v).map_err(|_| {
                ConfigError::new("SITE_URL", "must be an origin: scheme://host[:port]")
            })?),
            None => allowed_origins.first().cloned(),
        };
        let auth_providers = var("AUTH_PROVIDERS")
            .unwrap_or_else(|| "github,google".to_owned())
            .split(',')
            .map(|p| p.trim().to_ascii_lowercase())
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>();
        if auth_providers.iter().any(|p| {
            p.len() > 32
                || !p
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        }) {
            return Err(ConfigError::new(
                "AUTH_PROVIDERS",
                "must be a comma-separated list of provider names (a-z, 0-9, _)",
            ));
        }
        let public_api_url = var("PUBLIC_API_URL")
            .map(|v| parse_url("PUBLIC_API_URL", &v))
            .transpose()?
            .map(|u| u.as_str().trim_end_matches('/').to_owned());
        let auth_cookie_name = match var("AUTH_COOKIE_NAME") {
            Some(name) => {
                if !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
                {
                    return Err(ConfigError::new(
                        "AUTH_COOKIE_NAME",
                        "may only contain letters, digits, - and _",
                    ));
                }
                name
            }
            None => {
                let host = supabase_url.host_str().unwrap_or_default();
                let project_ref = host.split('.').next().unwrap_or_default();
                format!("sb-{project_ref}-auth-token")
            }
        };
        let cookie_secure = match var("COOKIE_SECURE").as_deref() {
            None | Some("true") | Some("1") => true,
            Some("false") | Some("0") => false,
            Some(_) => return Err(ConfigError::new("COOKIE_SECURE", "must be true or false")),
        };
        let cookie_domain =
            match var("COOKIE_DOMAIN") {
                None => None,
                Some(domain) if is_host_name(&domain) => Some(domain.to_ascii_lowercase()),
                Some(_) => return Err(ConfigError::new(
                    "COOKIE_DOMAIN",
                    "must be a host name such as api.example.com (no scheme, port or leading dot)",
                )),
            };
        let jwt_issuer = var("SUPABASE_JWT_ISSUER").unwrap_or_else(|| format!("{base}/auth/v1"));
        let upstream_timeout = match var("UPSTREAM_TIMEOUT_MS") {
            None => Duration::from_secs(5),
            Some(v) => match v.parse::<u64>() {
                Ok(ms) if (100..=60_000).contains(&ms) => Duration::from_millis(ms),
                _ => {
                    return Err(ConfigError::new(
                        "UPSTREAM_TIMEOUT_MS",
                        "must be a whole number of milliseconds between 100 and 60000",
                    ))
                }
            },
        };

        let auth_answer_floor = match var("AUTH_ANSWER_FLOOR_MS") {
            None => Duration::from_millis(DEFAULT_AUTH_ANSWER_FLOOR_MS),
            Some(v) => match v.parse::<u64>() {
                Ok(ms) if ms <= 10_000 => Duration::from_millis(ms),
                _ => {
                    return Err(ConfigError::new(
                        "AUTH_ANSWER_FLOOR_MS",
                        "must be a whole number of milliseconds between 0 and 10000",
                    ))
                }
            },
        };

        let uploads_bucket = match var("UPLOADS_BUCKET") {
            Some(b) => {
                let valid = (3..=63).contains(&b.len())
                    && b.bytes().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.'
                    })
                    && !b.starts_with(['-', '.'])
                    && !b.ends_with(['-', '.']);
                if !valid {
                    return Err(ConfigError::new(
                        "UPLOADS_BUCKET",
                        "is not a valid S3 bucket name",
                    ));
                }
                Some(b)
            }
            None => None,
        };
        let aws_region = var("AWS_REGION").unwrap_or_else(|| "us-east-1".to_owned());
        if !aws_region
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        {
            return Err(ConfigError::new("AWS_REGION", "is not a valid region name"));
        }
        let s3_endpoint = var("S3_ENDPOINT")
            .map(|v| parse_url("S3_ENDPOINT", &v))
            .transpose()?;
        let extra_ca_certs = match var("EXTRA_CA_CERTS") {
            None => Vec::new(),
            Some(path) => extra_ca_certs(&path)?,
        };

        Ok(Self {
            uploads_bucket,
            aws_region,
            s3_endpoint,
            supabase_url,
            rest_url,
            anon_key,
            jwt_secret,
            jwks_url,
            service_role_key,
            allowed_origins,
            site_url,
            auth_providers,
            public_api_url,
            auth_cookie_name,
            cookie_secure,
            cookie_domain,
            jwt_issuer,
            upstream_timeout,
            auth_answer_floor,
            extra_ca_certs,
        })
    }
}

impl Config {
    /// The configuration with the values read from Secrets Manager (by the variable they
    /// stand for), checked as the plain variables are; a value read this way wins over a
    /// plain one.
    pub fn with_secrets(
        mut self,
        values: &std::collections::HashMap<&'static str, String>,
    ) -> Result<Self, ConfigError> {
        if let Some(v) = values.get("SUPABASE_JWT_SECRET") {
            self.jwt_secret = Some(checked_jwt_secret(v.trim().to_owned())?);
        }
        // The secret key's secret wins over the legacy service role key's.
        for name in [SECRET_KEY, LEGACY_SERVICE_ROLE_KEY] {
            if let Some(v) = values.get(name) {
                self.service_role_key =
                    Some(checked_key(name, v.trim().to_owned(), KeyKind::Secret)?);
                break;
            }
        }
        Ok(self)
    }
}

fn checked_jwt_secret(secret: String) -> Result<String, ConfigError> {
    if secret.len() < MIN_JWT_SECRET_LEN {
        return Err(ConfigError::new(
            "SUPABASE_JWT_SECRET",
            format!("must be at least {MIN_JWT_SECRET_LEN} characters"),
        ));
    }
    Ok(secret)
}

/// The variables of Supabase's API keys: today's (`sb_publishable_...`, `sb_secret_...`)
/// and the legacy JWT-based ones, still read when the new ones are not set.
pub const PUBLISHABLE_KEY: &str = "SUPABASE_PUBLISHABLE_KEY";
pub const LEGACY_ANON_KEY: &str = "SUPABASE_ANON_KEY";
pub const SECRET_KEY: &str = "SUPABASE_SECRET_KEY";
pub const LEGACY_SERVICE_ROLE_KEY: &str = "SUPABASE_SERVICE_ROLE_KEY";

#[derive(Clone, Copy, PartialEq)]
enum KeyKind {
    Publishable,
    Secret,
}

/// A key as a header value must carry it; and never one kind where the other belongs: a
/// secret key given as the publishable one would travel with every user's request, and a
/// publishable one as the secret would fail every admin call. (Legacy JWT keys are not
/// told apart here: their role is in the signed payload.) The value never appears in the
/// error.
fn checked_key(var: &'static str, key: String, kind: KeyKind) -> Result<String, ConfigError> {
    if !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ConfigError::new(
            var,
            "must be printable ASCII without spaces",
        ));
    }
    match kind {
        KeyKind::Publishable if key.starts_with("sb_secret_") => Err(ConfigError::new(
            var,
            "holds a secret key (sb_secret_...): give the publishable key (sb_publishable_...)",
        )),
        KeyKind::Secret if key.starts_with("sb_publishable_") => Err(ConfigError::new(
            var,
            "holds a publishable key (sb_publishable_...): give the secret key (sb_secret_...)",
        )),
        _ => Ok(key),
    }
}

/// The certificates of a PEM file (`EXTRA_CA_CERTS`); a file that cannot be read or
/// holds none fails the cold start.
fn extra_ca_certs(path: &str) -> Result<Vec<reqwest::Certificate>, ConfigError> {
    let pem = std::fs::read(path)
        .map_err(|_| ConfigError::new("EXTRA_CA_CERTS", "names a file that cannot be read"))?;
    match reqwest::Certificate::from_pem_bundle(&pem) {
        Ok(certs) if !certs.is_empty() => Ok(certs),
        _ => Err(ConfigError::new(
            "EXTRA_CA_CERTS",
            "names a file without PEM certificates",
        )),
    }
}

/// `https://app.example.com` (no path, no wildcard, never `null`), normalised to how
/// browsers send the Origin header.
fn parse_origin(value: &str) -> Result<String, ConfigError> {
    let bad = || {
        ConfigError::new(
            "ALLOWED_ORIGINS",
            "must be a comma-separated list of scheme://host[:port] origins (no *, no null, no path)",
        )
    };
    let url = Url::parse(value).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none()
        || url.path() != "/"
        || value.trim_end_matches('/').len() != url.origin().ascii_serialization().len()
    {
        return Err(bad());
    }
    Ok(url.origin().ascii_serialization())
}

fn parse_url(var: &'static str, value: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(value).map_err(|_| ConfigError::new(var, "is not a valid URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ConfigError::new(var, "must be an http(s) URL with a host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::new(var, "must not carry a query or fragment"));
    }
    Ok(url)
}

impl Config {
    /// What every cookie this backend sets shares: `Secure`, and `Domain` when set.
    pub fn cookie_scope(&self) -> CookieScope<'_> {
        CookieScope {
            secure: self.cookie_secure,
            domain: self.cookie_domain.as_deref(),
        }
    }
}

/// A DNS host name of two labels or more (letters, digits and inner hyphens), as a
/// cookie's `Domain` takes it.
fn is_host_name(value: &str) -> bool {
    let labels: Vec<&str> = value.split('.').collect();
    value.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// The attributes every cookie this backend sets shares besides name, value and
/// lifetime ([`Config::cookie_scope`]): `Secure`, and a `Domain` when the API's
/// cookies must reach a sibling host (the stream's, behind CloudFront).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieScope<'a> {
    pub secure: bool,
    pub domain: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    const SECRET: &str = "dev-only-secret-0123456789abcdef0123456789";

    #[test]
    fn extra_ca_certs_must_name_a_readable_file_of_certificates() {
        let dir = std::env::temp_dir().join(format!("supa-lambda-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let not_pem = dir.join("not-pem.txt");
        std::fs::write(&not_pem, "no certificate here").unwrap();
        let missing = dir.join("missing.pem");
        for path in [&not_pem, &missing] {
            let err = Config::from_lookup(env(&[
                ("SUPABASE_URL", "https://abc.supabase.co"),
                ("SUPABASE_ANON_KEY", "anon"),
                ("EXTRA_CA_CERTS", path.to_str().unwrap()),
            ]))
            .unwrap_err();
            assert_eq!(err.var, "EXTRA_CA_CERTS", "{}", path.display());
            assert!(!err.to_string().contains("no certificate here"));
        }
        let c = Config::from_lookup(env(&[
            ("SUPABASE_URL", "https://abc.supabase.co"),
            ("SUPABASE_ANON_KEY", "anon"),
        ]))
        .unwrap();
        assert!(c.extra_ca_certs.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn secrets_from_secrets_manager_are_checked_like_plain_values_and_win() {
        let c = Config::from_lookup(env(&[
            ("SUPABASE_URL", "https://abc.supabase.co"),
            ("SUPABASE_ANON_KEY", "anon"),
            ("SUPABASE_JWT_SECRET", SECRET),
        ]))
        .unwrap();
        let read = |var: &'static str, value: &str| HashMap::from([(var, value.to_owned())]);
        let err = c
            .clone()
            .with_secrets(&read("SUPABASE_JWT_SECRET", "too-short"))
            .unwrap_err();
        assert_eq!(err.var, "SUPABASE_JWT_SECRET");
        assert!(!err.to_string().contains("too-short"));
        let err = c
            .clone()
            .with_secrets(&read("SUPABASE_SERVICE_ROLE_KEY", "has a space"))
            .unwrap_err();
        assert_eq!(err.var, "SUPABASE_SERVICE_ROLE_KEY");
        let other = "another-secret-of-at-least-thirty-two-characters";
        let c = c.with_secrets(&read("SUPABASE_JWT_SECRET", other)).unwrap();
        assert_eq!(c.jwt_secret.as_deref(), Some(other));
        // Nothing read: nothing changes.
        let c = c.with_secrets(&HashMap::new()).unwrap();
        assert_eq!(c.jwt_secret.as_deref(), Some(other));
    }

    #[test]
    fn derives_rest_url_and_issuer_from_supabase_url() {
        let c = Config::from_lookup(env(&[
            ("SUPABASE_URL", "https://abc.supabase.co/"),
            ("SUPABASE_ANON_KEY", "anon"),
            ("SUPABASE_JWT_SECRET", SECRET),
        ]))
        .unwrap();
        assert_eq!(c.rest_url.as_str(), "https://abc.supabase.co/rest/v1");
        assert_eq!(c.jwt_issuer, "https://abc.supabase.co/auth/v1");
        assert_eq!(c.upstream_timeout, Duration::from_secs(5));
    }

    #[test]
    fn reads_origins_cookie_name_and_optional_secret() {
        let c = Config::from_lookup(env(&[
            ("SUPABASE_URL", "https://abcd.supabase.co"),
            ("SUPABASE_ANON_KEY", "anon"),
            (
                "ALLOWED_ORIGINS",
                "https://app.example.com, http://localhost:3000",
            ),
        ]))
        .unwrap();
        assert!(c.jwt_secret.is_none());
        assert_eq!(c.auth_cookie_name, "sb-abcd-auth-token");
        assert_eq!(
            c.jwks_url.as_str(),
            "https://abcd.supabase.co/auth/v1/.well-known/jwks.json"
        );
        assert_eq!(
            c.allowed_origins,
            vec!["https://app.example.com", "http://localhost:3000"]
        );
        assert!(c.cookie_secure);
        for bad in [
            "*",
            "null",
            "https://app.example.com/path",
            "app.example.com",
        ] {
            let err = Config::from_lookup(env(&[
                ("SUPABASE_URL", "https://abcd.supabase.co"),
                ("SUPABASE_ANON_KEY", "anon"),
                ("ALLOWED_ORIGINS", bad),
            ]))
            .unwrap_err();
            assert_eq!(err.var, "ALLOWED_ORIGINS", "{bad}");
        }
    }

    #[test]
    fn cookie_domain_is_a_host_name_or_nothing() {
        let with = |domain: &str| {
            Config::from_lookup(env(&[
                ("SUPABASE_URL", "https://abcd.supabase.co"),
                ("SUPABASE_ANON_KEY", "anon"),
                ("COOKIE_DOMAIN", domain),
            ]))
        };
        assert_eq!(
            with("API.example.com").unwrap().cookie_domain.as_deref(),
            Some("api.example.com")
        );
        for bad in [
            ".example.com",
            "https://api.example.com",
            "api.example.com:443",
            "localhost",
            "a..b",
            "-a.com",
            "a b.com",
        ] {
            assert_eq!(with(bad).unwrap_err().var, "COOKIE_DOMAIN", "{bad:?}");
        }
        let none = Config::from_lookup(env(&[
            ("SUPABASE_URL", "https://abcd.supabase.co"),
            ("SUPABASE_ANON_KEY", "anon"),
        ]))
        .unwrap();
        assert_eq!(none.cookie_domain, None);
    }

    #[test]
    fn names_the_missing_or_malformed_variable() {
        let err = Config::from_lookup(env(&[])).unwrap_err();
        assert_eq!(err.var, "SUPABASE_URL");
        let err = Config::from_lookup(env(&[("SUPABASE_URL", "ftp://x")])).unwrap_err();
        assert_eq!(err.var, "SUPABASE_URL");
        let err = Config::from_lookup(env(&[
            ("SUPABASE_URL", "https://abc.supabase.co"),
            ("SUPABASE_ANON_KEY", "anon"),
            ("SUPABASE_JWT_SECRET", "short"),
        ]))
        .unwrap_err();
        assert_eq!(err.var, "SUPABASE_JWT_SECRET");
        assert!(!err.to_string().contains("short"), "never echo a secret");
        let err = Config::from_lookup(env(&[
            ("SUPABASE_URL", "https://abc.supabase.co"),
            ("SUPABASE_ANON_KEY", "anon"),
            ("SUPABASE_JWT_SECRET", SECRET),
            ("UPSTREAM_TIMEOUT_MS", "soon"),
        ]))
        .unwrap_err();
        assert_eq!(err.var, "UPSTREAM_TIMEOUT_MS");
    }

    const PUBLISHABLE: &str = "sb_publishable_Zx3u1kE0dev0only0not0a0real0key";
    const SECRET_KEY_VALUE: &str = "sb_secret_Qm8dev0only0not0a0real0key0at0all";

    #[test]
    fn reads_todays_api_keys_and_still_the_legacy_ones() {
        let base = [("SUPABASE_URL", "https://abc.supabase.co")];
        let with = |pairs: &[(&'static str, &'static str)]| {
            let all: Vec<(&str, &str)> = base.iter().chain(pairs).copied().collect();
            Config::from_lookup(env(&all))
        };
        // Today's keys.
        let c = with(&[
            (PUBLISHABLE_KEY, PUBLISHABLE),
            (SECRET_KEY, SECRET_KEY_VALUE),
        ])
        .unwrap();
        assert_eq!(c.anon_key, PUBLISHABLE);
        assert_eq!(c.service_role_key.as_deref(), Some(SECRET_KEY_VALUE));
        // The legacy names alone still work.
        let c = with(&[
            (LEGACY_ANON_KEY, "anon.jwt"),
            (LEGACY_SERVICE_ROLE_KEY, "service.jwt"),
        ])
        .unwrap();
        assert_eq!(c.anon_key, "anon.jwt");
        assert_eq!(c.service_role_key.as_deref(), Some("service.jwt"));
        // Both: today's win.
        let c = with(&[
            (LEGACY_ANON_KEY, "anon.jwt"),
            (PUBLISHABLE_KEY, PUBLISHABLE),
            (LEGACY_SERVICE_ROLE_KEY, "service.jwt"),
            (SECRET_KEY, SECRET_KEY_VALUE),
        ])
        .unwrap();
        assert_eq!(c.anon_key, PUBLISHABLE);
        assert_eq!(c.service_role_key.as_deref(), Some(SECRET_KEY_VALUE));
        // Neither publishable key: named, with the legacy one.
        let err = with(&[]).unwrap_err();
        assert_eq!(err.var, PUBLISHABLE_KEY);
        assert!(err.to_string().contains("SUPABASE_ANON_KEY"), "{err}");
        // Never logged: the Debug of the configuration leaves both keys out.
        let c = with(&[
            (PUBLISHABLE_KEY, PUBLISHABLE),
            (SECRET_KEY, SECRET_KEY_VALUE),
        ])
        .unwrap();
        let shown = format!("{c:?}");
        assert!(
            !shown.contains(PUBLISHABLE) && !shown.contains(SECRET_KEY_VALUE),
            "{shown}"
        );
    }

    #[test]
    fn a_key_of_the_wrong_kind_is_refused_without_being_echoed() {
        let base = ("SUPABASE_URL", "https://abc.supabase.co");
        for (var, value) in [
            (PUBLISHABLE_KEY, SECRET_KEY_VALUE),
            (LEGACY_ANON_KEY, SECRET_KEY_VALUE),
        ] {
            let err = Config::from_lookup(env(&[base, (var, value)])).unwrap_err();
            assert_eq!(err.var, var);
            assert!(err.to_string().contains("holds a secret key"), "{err}");
            assert!(!err.to_string().contains(value), "never echo a key");
        }
        for var in [SECRET_KEY, LEGACY_SERVICE_ROLE_KEY] {
            let err = Config::from_lookup(env(&[
                base,
                (PUBLISHABLE_KEY, PUBLISHABLE),
                (var, PUBLISHABLE),
            ]))
            .unwrap_err();
            assert_eq!(err.var, var);
            assert!(err.to_string().contains("holds a publishable key"), "{err}");
            assert!(!err.to_string().contains(PUBLISHABLE), "never echo a key");
        }
        // Read from Secrets Manager: the same checks, and the secret key's own secret wins
        // over the legacy one.
        let c = Config::from_lookup(env(&[base, (PUBLISHABLE_KEY, PUBLISHABLE)])).unwrap();
        let err = c
            .clone()
            .with_secrets(&HashMap::from([(SECRET_KEY, PUBLISHABLE.to_owned())]))
            .unwrap_err();
        assert_eq!(err.var, SECRET_KEY);
        let c = c
            .with_secrets(&HashMap::from([
                (LEGACY_SERVICE_ROLE_KEY, "service.jwt".to_owned()),
                (SECRET_KEY, SECRET_KEY_VALUE.to_owned()),
            ]))
            .unwrap();
        assert_eq!(c.service_role_key.as_deref(), Some(SECRET_KEY_VALUE));
    }
}
