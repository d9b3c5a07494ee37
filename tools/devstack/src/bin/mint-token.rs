//! Mints Supabase-shaped HS256 tokens with the local project secret, for curl against
//! the local stack. Development only: it needs SUPABASE_JWT_SECRET, which a real
//! project never hands out.
//!
//! Usage:
//!   mint-token <user-uuid> [email] [ttl-seconds]   a signed-in user's access token
//!   mint-token --role service_role                 the service role API key
//!   mint-token --role anon                         the anon API key

use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::json;

const USAGE: &str =
    "usage: mint-token <user-uuid> [email] [ttl-seconds] | mint-token --role anon|service_role";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let secret =
        std::env::var("SUPABASE_JWT_SECRET").map_err(|_| "SUPABASE_JWT_SECRET is not set")?;
    let now = chrono::Utc::now().timestamp();
    let claims = if args.first().map(String::as_str) == Some("--role") {
        let role = args.get(1).ok_or(USAGE)?;
        if role != "anon" && role != "service_role" {
            return Err(USAGE.into());
        }
        // The shape of Supabase's legacy API keys.
        json!({ "iss": "supabase", "ref": "local", "role": role, "iat": now, "exp": now + 10 * 365 * 24 * 3600 })
    } else {
        let sub = uuid::Uuid::parse_str(args.first().ok_or(USAGE)?)?;
        let email = args.get(1).cloned().unwrap_or_default();
        let ttl: i64 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(3600);
        let supabase_url = std::env::var("SUPABASE_URL").map_err(|_| "SUPABASE_URL is not set")?;
        let issuer = std::env::var("SUPABASE_JWT_ISSUER")
            .unwrap_or_else(|_| format!("{}/auth/v1", supabase_url.trim_end_matches('/')));
        json!({
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
        })
    };
    let token = encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )?;
    println!("{token}");
    Ok(())
}
