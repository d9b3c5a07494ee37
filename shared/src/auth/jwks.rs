//! The project's JSON Web Key Set (`<SUPABASE_URL>/auth/v1/.well-known/jwks.json`):
//! the public ES256/RS256 keys that sign access tokens, by `kid`.
//!
//! - fetched once per cold start (during the init, beside the secrets; else on first
//!   need) and kept about 10 minutes, as Supabase's own edge does;
//! - an unknown `kid` triggers one refetch, at most once per cooldown, so a rotated-in
//!   key works without a redeploy and a stream of bogus kids cannot hammer the URL;
//! - when the URL is down, the last good key set keeps serving;
//! - the response is checked before use: size, JSON shape, and each key's type, curve,
//!   use and algorithm. Keys that do not fit are skipped; a set with none left is refused.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use tokio::sync::RwLock;

/// Largest JWKS response accepted (Supabase's holds two or three keys: about 1 KB).
pub const MAX_JWKS_BYTES: usize = 64 * 1024;
/// At most this many keys are kept from one JWKS.
pub const MAX_KEYS: usize = 20;

#[derive(Debug, Clone, Copy)]
pub struct JwksPolicy {
    /// How long a fetched key set is used before it is fetched again.
    pub ttl: Duration,
    /// Least time between two fetches caused by an unknown `kid`.
    pub refetch_cooldown: Duration,
}

impl Default for JwksPolicy {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(600),
            refetch_cooldown: Duration::from_secs(10),
        }
    }
}

/// A usable public key: the algorithm comes from the key, never from a token header.
#[derive(Clone)]
pub struct VerifyingKey {
    pub algorithm: Algorithm,
    pub key: DecodingKey,
}

#[derive(Default)]
struct State {
    keys: HashMap<String, VerifyingKey>,
    fetched_at: Option<Instant>,
    last_attempt: Option<Instant>,
}

pub struct JwksCache {
    url: String,
    client: reqwest::Client,
    policy: JwksPolicy,
    state: RwLock<State>,
}

/// Why a key could not be found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyLookupError {
    /// The set was fetched (or is fresh) and has no key with this kid.
    UnknownKid,
    /// No key set has ever been fetched successfully and the URL cannot be read now.
    Unavailable,
}

impl JwksCache {
    pub fn new(url: String, client: reqwest::Client, policy: JwksPolicy) -> Self {
        Self {
            url,
            client,
            policy,
            state: RwLock::new(State::default()),
        }
    }

    /// The key for `kid`, refreshing the set when it is stale, or once per cooldown
    /// when the kid is unknown.
    /// A fetch carries `trace` (the request's trace header) to the JWKS endpoint.
    pub async fn key(
        &self,
        kid: &str,
        trace: Option<&str>,
    ) -> Result<VerifyingKey, KeyLookupError> {
        {
            let state = self.state.read().await;
            let fresh = state
                .fetched_at
                .is_some_and(|t| t.elapsed() < self.policy.ttl);
            if let Some(key) = state.keys.get(kid) {
                if fresh {
                    return Ok(key.clone());
                }
            } else if fresh && !self.may_refetch(&state) {
                return Err(KeyLookupError::UnknownKid);
            }
        }

        let mut state = self.state.write().await;
        // Another request may have refreshed while this one waited for the lock.
        let fresh = state
            .fetched_at
            .is_some_and(|t| t.elapsed() < self.policy.ttl);
        let known = state.keys.contains_key(kid);
        if !(fresh && known) && self.may_refetch(&state) {
            state.last_attempt = Some(Instant::now());
            match self.fetch(trace).await {
                Ok(keys) => {
                    state.keys = keys;
                    state.fetched_at = Some(Instant::now());
                }
                Err(reason) => {
                    // Keep serving the last good set.
                    tracing::warn!(reason, "jwks fetch failed; keeping the last good key set");
                }
            }
        }
        match state.keys.get(kid) {
            Some(key) => Ok(key.clone()),
            None if state.fetched_at.is_none() => Err(KeyLookupError::Unavailable),
            None => Err(KeyLookupError::UnknownKid),
        }
    }

    /// Fetches the key set now (at cold start, beside the other work of the init), so the
    /// first request finds it. A failure is logged and leaves the cache as it was: no
    /// cooldown starts, and the first request that needs a key fetches again.
    pub async fn prefetch(&self) {
        match self.fetch(None).await {
            Ok(keys) => {
                let mut state = self.state.write().await;
                state.keys = keys;
                state.fetched_at = Some(Instant::now());
                state.last_attempt = state.fetched_at;
            }
            Err(reason) => {
                tracing::warn!(
                    reason,
                    "jwks prefetch at cold start failed; fetching on first need"
                );
            }
        }
    }

    fn may_refetch(&self, state: &State) -> bool {
        state
            .last_attempt
            .is_none_or(|t| t.elapsed() >= self.policy.refetch_cooldown)
    }

    async fn fetch(
        &self,
        trace: Option<&str>,
    ) -> Result<HashMap<String, VerifyingKey>, &'static str> {
        let request = self
            .client
            .get(&self.url)
            .header("accept", "application/json");
        let response = crate::base::caller::with_trace(request, trace)
            .send()
            .await
            .map_err(|_| "unreachable")?;
        if !response.status().is_success() {
            return Err("non-success status");
        }
        if response.content_length().unwrap_or(0) > MAX_JWKS_BYTES as u64 {
            return Err("too large");
        }
        let bytes = response.bytes().await.map_err(|_| "read failed")?;
        if bytes.len() > MAX_JWKS_BYTES {
            return Err("too large");
        }
        parse_jwks(&bytes)
    }
}

/// Validates a JWKS document and keeps the keys this backend can verify with.
pub fn parse_jwks(bytes: &[u8]) -> Result<HashMap<String, VerifyingKey>, &'static str> {
    // Parse each key on its own so one unsupported key does not reject the whole set.
    let raw: serde_json::Value = serde_json::from_slice(bytes).map_err(|_| "not JSON")?;
    let list = raw
        .get("keys")
        .and_then(|k| k.as_array())
        .ok_or("no keys array")?;
    let mut keys = HashMap::new();
    for value in list.iter().take(MAX_KEYS) {
        let Ok(jwk) = serde_json::from_value::<Jwk>(value.clone()) else {
            continue;
        };
        if let Some((kid, key)) = usable_key(&jwk) {
            keys.insert(kid, key);
        }
    }
    if keys.is_empty() {
        return Err("no usable keys");
    }
    Ok(keys)
}

fn usable_key(jwk: &Jwk) -> Option<(String, VerifyingKey)> {
    let kid = jwk
        .common
        .key_id
        .clone()
        .filter(|k| !k.is_empty() && k.len() <= 256)?;
    if matches!(&jwk.common.public_key_use, Some(u) if *u != PublicKeyUse::Signature) {
        return None;
    }
    let algorithm = match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            Algorithm::ES256
        }
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        // Symmetric (oct) keys never belong in a public key set; others are unsupported.
        _ => return None,
    };
    // A key that names an algorithm must name the one its type implies.
    let expected = match algorithm {
        Algorithm::ES256 => KeyAlgorithm::ES256,
        _ => KeyAlgorithm::RS256,
    };
    if jwk.common.key_algorithm.is_some_and(|a| a != expected) {
        return None;
    }
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some((kid, VerifyingKey { algorithm, key }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const EC: &str = r#"{"kty":"EC","crv":"P-256","kid":"ec1","alg":"ES256","use":"sig",
        "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;

    #[test]
    fn keeps_supported_keys_and_skips_the_rest() {
        let doc = format!(
            r#"{{"keys":[{EC},
               {{"kty":"oct","kid":"hs","k":"c2VjcmV0"}},
               {{"kty":"EC","crv":"P-384","kid":"p384","x":"AA","y":"AA"}},
               {{"kty":"EC","crv":"P-256","kid":"enc","use":"enc","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}},
               {{"kty":"EC","crv":"P-256","kid":"liar","alg":"RS256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}},
               "not an object"]}}"#
        );
        let keys = parse_jwks(doc.as_bytes()).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys["ec1"].algorithm, Algorithm::ES256);
    }

    #[test]
    fn refuses_documents_without_usable_keys() {
        assert!(parse_jwks(b"not json").is_err());
        assert!(parse_jwks(br#"{"keys": "nope"}"#).is_err());
        assert!(parse_jwks(br#"{"keys": []}"#).is_err());
        assert!(parse_jwks(br#"{"keys": [{"kty":"oct","kid":"a","k":"c2VjcmV0"}]}"#).is_err());
    }
}
