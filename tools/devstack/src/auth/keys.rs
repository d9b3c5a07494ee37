//! Signing keys: the access tokens the stand-in signs and the bearer tokens it accepts,
//! and GET /.well-known/jwks.json, the public keys (signing key + AUTH_EXTRA_PUBLIC_KEYS).

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{json, Value};

pub struct PublicKey {
    kid: String,
    alg: Algorithm,
    decoding: DecodingKey,
    jwk: Value,
}

/// The key that signs, and every published key (the signing key first).
pub struct Keys {
    signer: EncodingKey,
    signer_kid: String,
    signer_alg: Algorithm,
    published: Vec<PublicKey>,
}

/// Reads a PEM private key: EC P-256 (ES256) or RSA (RS256), and its public JWK.
pub fn load_key(var: &str, kid: &str, path: &str) -> Result<(EncodingKey, PublicKey), String> {
    let pem = std::fs::read(path).map_err(|e| format!("{var}: cannot read {path}: {e}"))?;
    let (key, alg) = if let Ok(key) = EncodingKey::from_ec_pem(&pem) {
        (key, Algorithm::ES256)
    } else if let Ok(key) = EncodingKey::from_rsa_pem(&pem) {
        (key, Algorithm::RS256)
    } else {
        return Err(format!(
            "{var}: {path} is not a PEM private key (EC P-256 or RSA)"
        ));
    };
    let bad = |e: jsonwebtoken::errors::Error| format!("{var}: unusable key {path}: {e}");
    let jwk = Jwk::from_encoding_key(&key, alg).map_err(bad)?;
    let decoding = DecodingKey::from_jwk(&jwk).map_err(bad)?;
    let mut public = serde_json::to_value(&jwk).map_err(|e| format!("{var}: {e}"))?;
    if alg == Algorithm::ES256 && public["crv"] != "P-256" {
        return Err(format!("{var}: {path} is an EC key but not on curve P-256"));
    }
    public["kid"] = json!(kid);
    public["use"] = json!("sig");
    public["key_ops"] = json!(["verify"]);
    public["ext"] = json!(true);
    let kid = kid.to_string();
    Ok((
        key,
        PublicKey {
            kid,
            alg,
            decoding,
            jwk: public,
        },
    ))
}

impl Keys {
    pub fn new(signer: EncodingKey, public: PublicKey) -> Keys {
        Keys {
            signer,
            signer_kid: public.kid.clone(),
            signer_alg: public.alg,
            published: vec![public],
        }
    }

    /// Publishes (and accepts) one more key, never used to sign.
    pub fn publish(&mut self, key: PublicKey) {
        self.published.push(key);
    }

    pub fn has_kid(&self, kid: &str) -> bool {
        self.published.iter().any(|k| k.kid == kid)
    }

    pub fn sign(&self, claims: &Value) -> Result<String, String> {
        let mut header = Header::new(self.signer_alg);
        header.kid = Some(self.signer_kid.clone());
        jsonwebtoken::encode(&header, claims, &self.signer).map_err(|e| e.to_string())
    }

    /// Verifies a bearer token against the published keys (by kid), with no leeway as
    /// GoTrue. Errors read like GoTrue's (golang-jwt) messages.
    pub fn verify(&self, token: &str, issuer: &str) -> Result<Value, String> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| format!("token is malformed: {e}"))?;
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.published.iter().find(|k| k.kid == kid))
            .ok_or_else(|| {
                let kid = header.kid.as_deref().unwrap_or("<nil>");
                format!("unrecognized JWT kid {kid} for algorithm {:?}", header.alg)
            })?;
        let mut validation = Validation::new(key.alg);
        validation.leeway = 0;
        validation.validate_aud = false;
        validation.set_issuer(&[issuer]);
        jsonwebtoken::decode::<Value>(token, &key.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => "token has invalid claims: token is expired".into(),
                ErrorKind::ImmatureSignature => {
                    "token has invalid claims: token is not valid yet".into()
                }
                ErrorKind::InvalidIssuer => {
                    "token has invalid claims: token has invalid issuer".into()
                }
                ErrorKind::InvalidSignature => {
                    "token signature is invalid: signature is invalid".into()
                }
                ErrorKind::InvalidAlgorithm => {
                    format!(
                        "token signature is invalid: signing method {:?} is invalid",
                        header.alg
                    )
                }
                _ => format!("token is malformed: {e}"),
            })
    }

    pub fn jwks(&self) -> Value {
        json!({ "keys": self.published.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
    }
}
