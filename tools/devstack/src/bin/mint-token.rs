//! Mints a Supabase-shaped access token signed with the local HS256 secret, for curl
//! against the local stack. Development only: it needs SUPABASE_JWT_SECRET, which a
//! real project never hands out.
//!
//! Usage: mint-token <user-uuid> [email] [ttl-seconds]

use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let sub = uuid::Uuid::parse_str(
        &args
            .next()
            .ok_or("usage: mint-token <user-uuid> [email] [ttl-seconds]")?,
    )?;
    let email = args.next().unwrap_or_default();
    let ttl: i64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(3600);
    let secret =
        std::env::var("SUPABASE_JWT_SECRET").map_err(|_| "SUPABASE_JWT_SECRET is not set")?;
    let supabase_url = std::env::var("SUPABASE_URL").map_err(|_| "SUPABASE_URL is not set")?;
    let issuer = std::env::var("SUPABASE_JWT_ISSUER")
        .unwrap_or_else(|_| format!("{}/auth/v1", supabase_url.trim_end_matches('/')));
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "iss": issuer,
        "aud": "authenticated",
        "sub": sub,
        "role": "authenticated",
        "email": email,
        "aal": "aal1",
        "session_id": uuid::Uuid::new_v4(),
        "is_anonymous": false,
        "iat": now,
        "exp": now + ttl,
    });
    let token = encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )?;
    println!("{token}");
    Ok(())
}
