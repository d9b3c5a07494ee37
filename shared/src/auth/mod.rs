//! Supabase access tokens: where they are read from, and how they are verified.
//!
//! Keys: the project's JWKS (ES256/RS256, chosen by `kid`) and, for legacy projects,
//! the HS256 JWT secret. The algorithm always comes from the key, never from the token
//! header alone: an HS256 header only ever meets the HS256 secret, an ES256 header only
//! an EC key, so there is no HS/RS confusion and no `none`. `jku`, `x5u` and `jwk`
//! headers are never read.
//!
//! Credentials: `Authorization: Bearer`, else the @supabase/ssr session cookie. Never
//! the query string.

pub mod cookies;
pub mod jwks;
pub mod permissions;

use jsonwebtoken::{decode, decode_header, errors::ErrorKind, Algorithm, DecodingKey, Validation};
use lambda_http::Request;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::jwks::{JwksCache, JwksPolicy, KeyLookupError};
use crate::auth::permissions::{Permission, Role};
use crate::base::caller::Caller;
use crate::base::error::ApiError;
use crate::config::{Config, ConfigError};

/// Longest token accepted. Supabase access tokens are about 1 KB; metadata can grow them.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Clock skew tolerated on exp and nbf.
pub const LEEWAY_SECONDS: u64 = 30;
/// The only audience and role a user route accepts.
pub const USER_AUDIENCE: &str = "authenticated";
pub const USER_ROLE: &str = "authenticated";

/// The claims this backend reads. The token carries more; unknown claims are ignored.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Claims {
    pub sub: String,
    pub role: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub session_id: Option<String>,
    /// Added by the custom access token hook (RBAC); absent on projects without it.
    #[serde(default)]
    pub user_role: Option<String>,
    #[serde(default)]
    pub aal: Option<String>,
    /// Supabase Auth's anonymous sign-ins: such users read, never write.
    #[serde(default)]
    pub is_anonymous: bool,
    /// How and when the session authenticated (GoTrue's `amr`: one entry per method,
    /// its time the sign-in's, kept across refreshes). Entries of another shape (a
    /// third-party issuer's RFC 8176 strings) are ignored, never a refusal.
    #[serde(
        default,
        deserialize_with = "lenient_amr",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub amr: Vec<AuthMethod>,
    /// When the token expires (seconds since the epoch; verification requires it). Not
    /// passed on with the claims.
    #[serde(default, skip_serializing)]
    pub exp: i64,
}

/// One `amr` entry of a Supabase access token.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AuthMethod {
    /// password, otp, oauth, anonymous, ...
    pub method: String,
    /// When the session authenticated this way, in seconds since the epoch.
    pub timestamp: i64,
}

impl Claims {
    /// When the session last authenticated (the newest `amr` entry), if the token says.
    pub fn authenticated_at(&self) -> Option<i64> {
        self.amr.iter().map(|m| m.timestamp).max()
    }
}

fn lenient_amr<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<AuthMethod>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Entry {
        Method(AuthMethod),
        Other(serde::de::IgnoredAny),
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Amr {
        List(Vec<Entry>),
        Other(serde::de::IgnoredAny),
    }
    Ok(match Amr::deserialize(d)? {
        Amr::List(entries) => entries
            .into_iter()
            .filter_map(|e| match e {
                Entry::Method(m) => Some(m),
                Entry::Other(_) => None,
            })
            .collect(),
        Amr::Other(_) => Vec::new(),
    })
}

/// A verified caller. The raw token is kept to call PostgREST as this user and is
/// redacted from `Debug`.
#[derive(Clone)]
pub struct AuthUser {
    pub id: Uuid,
    pub email: Option<String>,
    pub claims: Claims,
    token: String,
}

impl AuthUser {
    /// The access token, for forwarding to PostgREST only. Never log it.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// An anonymous sign-in (the token's `is_anonymous`).
    pub fn is_anonymous(&self) -> bool {
        self.claims.is_anonymous
    }

    // Authorization from the token (roles and permissions: [`permissions`]).
    /// The role the token carries (`user_role`). A token without the claim (a project
    /// without the hook) counts as the least-privileged role.
    pub fn role(&self) -> Role {
        match self.claims.user_role.as_deref() {
            Some("admin") => Role::Admin,
            Some("editor") => Role::Editor,
            _ => Role::User,
        }
    }

    pub fn can(&self, permission: Permission) -> bool {
        self.role().can(permission)
    }

    /// Fast deny: 403 unless the token's role has the permission.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.can(permission) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "This needs the {} permission",
                permission.as_str()
            )))
        }
    }
}

impl std::fmt::Debug for AuthUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthUser")
            .field("id", &self.id)
            .field("role", &self.claims.role)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// The caller of a route for signed-in users: the request's [`Caller`] context, and the
/// user the pipeline verified.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: AuthUser,
    caller: Caller,
}

impl SignedIn {
    pub fn new(user: AuthUser, caller: Caller) -> Self {
        Self { user, caller }
    }

    /// The request's context, to change what the database is told (the pipeline sets
    /// the rate-limit pass and the idempotency key before the handler runs).
    pub fn caller_mut(&mut self) -> &mut Caller {
        &mut self.caller
    }
}

impl std::ops::Deref for SignedIn {
    type Target = Caller;

    fn deref(&self) -> &Caller {
        &self.caller
    }
}

/// Why a credential was refused. Goes to the log; the client only ever sees a 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    Missing,
    NotBearer,
    TooLarge,
    Malformed,
    UnsupportedAlgorithm,
    BadSignature,
    Expired,
    NotYetValid,
    WrongIssuer,
    WrongAudience,
    MissingClaim,
    WrongRole,
    SubjectNotUuid,
    UnknownKey,
    BadKid,
    /// No key set could ever be fetched: the request cannot be judged (503, not 401).
    KeysUnavailable,
    BadCookie,
}

impl Rejection {
    pub fn reason(self) -> &'static str {
        match self {
            Self::Missing => "missing_token",
            Self::NotBearer => "not_bearer",
            Self::TooLarge => "token_too_large",
            Self::Malformed => "malformed_token",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::BadSignature => "bad_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::MissingClaim => "missing_claim",
            Self::WrongRole => "wrong_role",
            Self::SubjectNotUuid => "sub_not_uuid",
            Self::UnknownKey => "unknown_kid",
            Self::BadKid => "bad_kid",
            Self::KeysUnavailable => "jwks_unavailable",
            Self::BadCookie => "bad_session_cookie",
        }
    }
}

/// Where the credential came from: a cookie credential needs CSRF protection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialSource {
    Header,
    Cookie,
}

/// The access token of the request: the Authorization header wins; without one, the
/// session cookie. A broken cookie is no credential (401), never an error.
pub fn credential(
    req: &Request,
    cookie_name: &str,
) -> Result<(String, CredentialSource), Rejection> {
    if req.headers().contains_key(http::header::AUTHORIZATION) && !signed_by_aws(req) {
        return bearer_token(req).map(|t| (t.to_owned(), CredentialSource::Header));
    }
    let has_cookie = !crate::auth::cookies::present_names(req, cookie_name).is_empty();
    match crate::auth::cookies::read(req, cookie_name) {
        Some(session) if session.access_token.len() <= MAX_TOKEN_BYTES => {
            Ok((session.access_token, CredentialSource::Cookie))
        }
        Some(_) => Err(Rejection::TooLarge),
        None if has_cookie => Err(Rejection::BadCookie),
        None => Err(Rejection::Missing),
    }
}

/// Lambda verified this request's SigV4 signature itself: a Function URL with `AuthType:
/// AWS_IAM`, called by CloudFront's origin access control (the stream, template.yaml).
/// Its Authorization header is CloudFront's signature, not the caller's credential, so
/// the session cookie is read instead. Only Lambda writes the request context's
/// `authorizer.iam`; a client cannot.
fn signed_by_aws(req: &Request) -> bool {
    use lambda_http::request::RequestContext;
    use lambda_http::RequestExt;
    matches!(
        req.request_context_ref(),
        Some(RequestContext::ApiGatewayV2(ctx))
            if ctx.authorizer.as_ref().is_some_and(|a| a.iam.is_some())
    )
}

/// The token from `Authorization: Bearer <token>`.
pub fn bearer_token(req: &Request) -> Result<&str, Rejection> {
    let mut values = req.headers().get_all(http::header::AUTHORIZATION).iter();
    let value = values.next().ok_or(Rejection::Missing)?;
    if values.next().is_some() {
        return Err(Rejection::Malformed);
    }
    let value = value.to_str().map_err(|_| Rejection::Malformed)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(Rejection::NotBearer)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Rejection::NotBearer);
    }
    let token = token.trim();
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Rejection::TooLarge);
    }
    if token.is_empty()
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'='))
    {
        return Err(Rejection::Malformed);
    }
    Ok(token)
}

pub struct TokenVerifier {
    issuer: String,
    hs256: Option<DecodingKey>,
    jwks: JwksCache,
    verified: VerifiedTokens,
}

/// How many verified tokens an instance remembers ([`VerifiedTokens`]).
pub const VERIFIED_TOKENS: usize = 256;

/// The tokens this instance has verified, each remembered until it expires, at most
/// [`VERIFIED_TOKENS`] (least recently used out first), so that a warm instance checks a
/// signature once per token instead of on every request (an ES256 verification was more
/// than half of a warm invocation's CPU: docs/performance.md).
///
/// Keyed by the whole token, so only the same bytes ever match, and holding only what
/// the signature proved. A token signed by a key of the JWKS is taken from here only
/// while that key is still in the project's key set (looked up as on a full check, so a
/// key rotated out of the set ends its tokens here too). Whether the session behind the
/// token still lives is not remembered: the database's request gate checks it on every
/// request, which every route's PostgREST call passes through, so a signed-out, revoked
/// or banned session is refused on its next request whether or not its token is
/// remembered (and PostgREST verifies the token again itself). Failures are never
/// remembered.
struct VerifiedTokens(std::sync::Mutex<lru::LruCache<String, Verified>>);

#[derive(Clone)]
struct Verified {
    user: AuthUser,
    /// The JWKS key that signed it (none: the HS256 secret).
    kid: Option<String>,
}

impl VerifiedTokens {
    fn new() -> Self {
        Self(std::sync::Mutex::new(lru::LruCache::new(
            std::num::NonZeroUsize::new(VERIFIED_TOKENS).expect("a positive capacity"),
        )))
    }

    /// What was verified of `token`, unless it has expired since (then forgotten).
    fn get(&self, token: &str, now: i64) -> Option<Verified> {
        let mut cache = self.0.lock().ok()?;
        let verified = cache.get(token)?;
        let expires = verified.user.claims.exp;
        if now > expires.saturating_add(LEEWAY_SECONDS as i64) {
            cache.pop(token);
            return None;
        }
        Some(verified.clone())
    }

    fn put(&self, verified: Verified) {
        if let Ok(mut cache) = self.0.lock() {
            cache.put(verified.user.token.clone(), verified);
        }
    }

    fn forget(&self, token: &str) {
        if let Ok(mut cache) = self.0.lock() {
            cache.pop(token);
        }
    }
}

/// A `kid` worth looking up: short, and only characters key ids are made of.
fn plausible_kid(kid: &str) -> bool {
    !kid.is_empty()
        && kid.len() <= 128
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'=' | b'+'))
        && !kid.contains("..")
}

impl TokenVerifier {
    pub fn new(config: &Config, client: reqwest::Client) -> Result<Self, ConfigError> {
        Self::with_policy(config, client, JwksPolicy::default())
    }

    pub fn with_policy(
        config: &Config,
        client: reqwest::Client,
        policy: JwksPolicy,
    ) -> Result<Self, ConfigError> {
        Self::with_jwks(
            config,
            JwksCache::new(config.jwks_url.to_string(), client, policy),
        )
    }

    /// With a key set made (and perhaps already fetched) during the cold start.
    pub fn with_jwks(config: &Config, jwks: JwksCache) -> Result<Self, ConfigError> {
        Ok(Self {
            issuer: config.jwt_issuer.clone(),
            hs256: config
                .jwt_secret
                .as_ref()
                .map(|s| DecodingKey::from_secret(s.as_bytes())),
            jwks,
            verified: VerifiedTokens::new(),
        })
    }

    /// The key that may have signed a token with this header, and its algorithm.
    async fn key_for(
        &self,
        header: &jsonwebtoken::Header,
        trace: Option<&str>,
    ) -> Result<(DecodingKey, Algorithm), Rejection> {
        match header.alg {
            Algorithm::HS256 => match &self.hs256 {
                Some(key) => Ok((key.clone(), Algorithm::HS256)),
                None => Err(Rejection::UnsupportedAlgorithm),
            },
            Algorithm::ES256 | Algorithm::RS256 => {
                let kid = header.kid.as_deref().ok_or(Rejection::UnknownKey)?;
                if !plausible_kid(kid) {
                    return Err(Rejection::BadKid);
                }
                let key = self.jwks.key(kid, trace).await.map_err(|e| match e {
                    KeyLookupError::UnknownKid => Rejection::UnknownKey,
                    KeyLookupError::Unavailable => Rejection::KeysUnavailable,
                })?;
                if key.algorithm != header.alg {
                    return Err(Rejection::UnsupportedAlgorithm);
                }
                Ok((key.key, key.algorithm))
            }
            _ => Err(Rejection::UnsupportedAlgorithm),
        }
    }

    /// Verifies a Supabase user access token: signature, exp, nbf, iss, aud, role and sub.
    /// A JWKS fetch it needs carries `trace` (the request's trace header).
    pub async fn verify(&self, token: &str, trace: Option<&str>) -> Result<AuthUser, Rejection> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Rejection::TooLarge);
        }
        if let Some(verified) = self.verified.get(token, chrono::Utc::now().timestamp()) {
            match &verified.kid {
                None => return Ok(verified.user),
                Some(kid) if self.jwks.key(kid, trace).await.is_ok() => return Ok(verified.user),
                // Its key has left the key set (or the set cannot be had): the full
                // check decides, and says why.
                Some(_) => self.verified.forget(token),
            }
        }
        let header = decode_header(token).map_err(|_| Rejection::Malformed)?;
        let user = self.verify_signature(token, &header, trace).await?;
        self.verified.put(Verified {
            user: user.clone(),
            kid: match header.alg {
                Algorithm::HS256 => None,
                _ => header.kid,
            },
        });
        Ok(user)
    }

    /// The full check of a token not remembered: its key, signature and claims.
    async fn verify_signature(
        &self,
        token: &str,
        header: &jsonwebtoken::Header,
        trace: Option<&str>,
    ) -> Result<AuthUser, Rejection> {
        let (key, algorithm) = self.key_for(header, trace).await?;

        let mut validation = Validation::new(algorithm);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_audience(&[USER_AUDIENCE]);
        validation.set_issuer(&[self.issuer.as_str()]);
        validation.set_required_spec_claims(&["exp", "sub", "aud", "iss"]);

        let data = decode::<Claims>(token, &key, &validation).map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => Rejection::Expired,
            ErrorKind::ImmatureSignature => Rejection::NotYetValid,
            ErrorKind::InvalidIssuer => Rejection::WrongIssuer,
            ErrorKind::InvalidAudience => Rejection::WrongAudience,
            ErrorKind::MissingRequiredClaim(_) => Rejection::MissingClaim,
            ErrorKind::InvalidSignature => Rejection::BadSignature,
            ErrorKind::InvalidAlgorithm => Rejection::UnsupportedAlgorithm,
            _ => Rejection::Malformed,
        })?;
        let claims = data.claims;
        if claims.role != USER_ROLE {
            return Err(Rejection::WrongRole);
        }
        let id = Uuid::try_parse(&claims.sub).map_err(|_| Rejection::SubjectNotUuid)?;
        Ok(AuthUser {
            id,
            email: claims.email.clone(),
            claims,
            token: token.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(amr: serde_json::Value) -> Claims {
        serde_json::from_value(serde_json::json!({
            "sub": "00000000-0000-4000-8000-000000000001",
            "role": "authenticated",
            "amr": amr,
        }))
        .expect("claims with any amr deserialize")
    }

    #[test]
    fn the_newest_amr_entry_is_when_the_session_authenticated() {
        let c = claims(serde_json::json!([
            { "method": "password", "timestamp": 1_700_000_000 },
            { "method": "otp", "timestamp": 1_700_000_600 },
        ]));
        assert_eq!(c.authenticated_at(), Some(1_700_000_600));
    }

    #[test]
    fn an_amr_of_another_shape_is_ignored_not_refused() {
        for amr in [
            serde_json::json!(["pwd", "mfa"]),
            serde_json::json!("pwd"),
            serde_json::json!([{ "method": "password", "timestamp": "yesterday" }]),
            serde_json::json!(null),
        ] {
            assert_eq!(claims(amr.clone()).authenticated_at(), None, "{amr}");
        }
        let mixed = claims(serde_json::json!(["pwd", { "method": "otp", "timestamp": 5 }]));
        assert_eq!(mixed.authenticated_at(), Some(5));
    }

    fn verifier() -> TokenVerifier {
        let secret = "a-test-secret-of-at-least-thirty-two-characters";
        let config = Config::from_lookup(|name| match name {
            "SUPABASE_URL" => Some("https://abcd.supabase.co".into()),
            "SUPABASE_ANON_KEY" => Some("anon".into()),
            "SUPABASE_JWT_SECRET" => Some(secret.into()),
            _ => None,
        })
        .unwrap();
        TokenVerifier::new(&config, reqwest::Client::new()).unwrap()
    }

    fn hs256(exp: i64, secret: &str) -> String {
        let claims = serde_json::json!({
            "sub": "00000000-0000-4000-8000-000000000001",
            "role": "authenticated",
            "aud": "authenticated",
            "iss": "https://abcd.supabase.co/auth/v1",
            "exp": exp,
        });
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn a_verified_token_is_remembered_until_it_expires_and_only_that_token_matches() {
        let v = verifier();
        let now = chrono::Utc::now().timestamp();
        let token = hs256(
            now + 3600,
            "a-test-secret-of-at-least-thirty-two-characters",
        );
        assert!(v.verified.get(&token, now).is_none());
        let user = v.verify(&token, None).await.unwrap();
        assert!(
            v.verified.get(&token, now).unwrap().kid.is_none(),
            "HS256: no key id"
        );
        assert_eq!(user.claims.exp, now + 3600);
        assert!(v.verified.get(&token, now).is_some(), "remembered");
        assert!(v.verify(&token, None).await.is_ok());

        // The same claims signed with another key are other bytes: never a match, and
        // refused by the signature check.
        let forged = hs256(
            now + 3600,
            "another-secret-of-at-least-thirty-two-characters",
        );
        assert!(matches!(
            v.verify(&forged, None).await,
            Err(Rejection::BadSignature)
        ));
        assert!(
            v.verified.get(&forged, now).is_none(),
            "failures are not remembered"
        );

        // Past its exp (and the leeway) it is forgotten, and the full check refuses it.
        let later = now + 3600 + LEEWAY_SECONDS as i64 + 1;
        assert!(v.verified.get(&token, later).is_none());
        assert!(
            v.verified.get(&token, now).is_none(),
            "forgotten, not just skipped"
        );
    }

    #[tokio::test]
    async fn the_remembered_tokens_are_bounded() {
        let v = verifier();
        let now = chrono::Utc::now().timestamp();
        let secret = "a-test-secret-of-at-least-thirty-two-characters";
        for i in 0..(VERIFIED_TOKENS as i64 + 10) {
            v.verify(&hs256(now + 3600 + i, secret), None)
                .await
                .unwrap();
        }
        assert_eq!(v.verified.0.lock().unwrap().len(), VERIFIED_TOKENS);
        // The least recently used went first.
        assert!(v.verified.get(&hs256(now + 3600, secret), now).is_none());
        let newest = hs256(now + 3600 + VERIFIED_TOKENS as i64 + 9, secret);
        assert!(v.verified.get(&newest, now).is_some());
    }
}
