//! Access tokens for the seeded users, shaped as Supabase Auth issues them (and as
//! `tools/devstack`'s `mint-token` does), plus the `user_role` claim the custom access
//! token hook adds: signed HS256 with the bench's own JWT secret (a legacy project), or
//! ES256 with the Auth stand-in's signing key under its `kid` (a project with asymmetric
//! signing keys: the functions find the key in the JWKS). The functions and PostgREST
//! both verify them.

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::error::{Context, Result};

/// Valid for longer than any run.
const TTL_SECONDS: i64 = 12 * 3600;

pub struct Signer {
    key: EncodingKey,
    header: Header,
    issuer: String,
}

impl Signer {
    /// `issuer` is what the functions expect: `<SUPABASE_URL>/auth/v1`.
    pub fn new(secret: &str, issuer: String) -> Self {
        Self {
            key: EncodingKey::from_secret(secret.as_bytes()),
            header: Header::default(),
            issuer,
        }
    }

    /// ES256 with the P-256 private key in the PEM file at `pem`, published under `kid`.
    pub fn es256(pem: &std::path::Path, kid: &str, issuer: String) -> Result<Self> {
        let bytes = std::fs::read(pem).context(format!("reading {}", pem.display()))?;
        let key = EncodingKey::from_ec_pem(&bytes).context(format!("{}", pem.display()))?;
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(kid.to_owned());
        Ok(Self {
            key,
            header,
            issuer,
        })
    }

    /// A signed-in user's access token, of the session the seed made for them (its id is
    /// the user's); `user_role` is their application role.
    pub fn user(&self, id: &str, email: &str, user_role: &str) -> Result<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = json!({
            "iss": self.issuer,
            "aud": "authenticated",
            "sub": id,
            "role": "authenticated",
            "email": email,
            "phone": "",
            "aal": "aal1",
            "amr": [{ "method": "password", "timestamp": now }],
            // The caller's session, seeded with the user's own id (crate::seed).
            "session_id": id,
            "is_anonymous": false,
            "app_metadata": { "provider": "email", "providers": ["email"] },
            "user_metadata": {},
            "user_role": user_role,
            "iat": now,
            "exp": now + TTL_SECONDS,
        });
        encode(&self.header, &claims, &self.key).context("signing an access token")
    }

    /// The service role API key (the shape of Supabase's legacy keys).
    pub fn service_role(&self) -> Result<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = json!({
            "iss": "supabase",
            "ref": "local",
            "role": "service_role",
            "iat": now,
            "exp": now + TTL_SECONDS,
        });
        encode(&Header::default(), &claims, &self.key).context("signing the service role key")
    }
}
