//! Supabase access tokens: where they are read from, and how they are verified.
//!
//! Today: HS256 with the project's JWT secret. The key is chosen by [`TokenVerifier::key_for`]
//! from the token header, and the algorithm always comes from the key, never from the
//! header alone, so asymmetric JWKS keys (ES256/RS256, by `kid`) slot in there.

use jsonwebtoken::{decode, decode_header, errors::ErrorKind, Algorithm, DecodingKey, Validation};
use lambda_http::Request;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

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
        }
    }
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
    hs256: DecodingKey,
}

impl TokenVerifier {
    pub fn new(config: &Config) -> Result<Self, ConfigError> {
        Ok(Self {
            issuer: config.jwt_issuer.clone(),
            hs256: DecodingKey::from_secret(config.jwt_secret.as_bytes()),
        })
    }

    /// The key that may have signed a token with this header, and its algorithm.
    fn key_for(
        &self,
        header: &jsonwebtoken::Header,
    ) -> Result<(&DecodingKey, Algorithm), Rejection> {
        match header.alg {
            Algorithm::HS256 => Ok((&self.hs256, Algorithm::HS256)),
            _ => Err(Rejection::UnsupportedAlgorithm),
        }
    }

    /// Verifies a Supabase user access token: signature, exp, nbf, iss, aud, role and sub.
    pub async fn verify(&self, token: &str) -> Result<AuthUser, Rejection> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Rejection::TooLarge);
        }
        let header = decode_header(token).map_err(|_| Rejection::Malformed)?;
        let (key, algorithm) = self.key_for(&header)?;

        let mut validation = Validation::new(algorithm);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_audience(&[USER_AUDIENCE]);
        validation.set_issuer(&[self.issuer.as_str()]);
        validation.set_required_spec_claims(&["exp", "sub", "aud", "iss"]);

        let data = decode::<Claims>(token, key, &validation).map_err(|e| match e.kind() {
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
