//! Mints Supabase-shaped HS256 tokens with the local project secret, for curl against
//! the local stack. Development only: it needs SUPABASE_JWT_SECRET, which a real
//! project never hands out.
//!
//! A user's access token counts only while its session lives in auth.sessions (the
//! database's request gate), so a user token names a session: `--session <uuid>` (the
//! seed's demo sessions, say), or, with DATABASE_URL set, a new session row made for it
//! (as a sign-in would, user agent `mint-token`).
//!
//! Usage:
//!   mint-token <user-uuid> [email] [ttl-seconds] [--session <uuid>]
//!                                                  a signed-in user's access token
//!   mint-token --role service_role                 the service role API key
//!   mint-token --role anon                         the anon API key

use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::json;

const USAGE: &str = "usage: mint-token <user-uuid> [email] [ttl-seconds] [--session <uuid>] | \
     mint-token --role anon|service_role";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
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
        let session = match args.iter().position(|a| a == "--session") {
            Some(i) => {
                let value = args.get(i + 1).ok_or(USAGE)?.clone();
                args.drain(i..i + 2);
                Some(uuid::Uuid::parse_str(&value)?)
            }
            None => None,
        };
        let sub = uuid::Uuid::parse_str(args.first().ok_or(USAGE)?)?;
        let email = args.get(1).cloned().unwrap_or_default();
        let ttl: i64 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(3600);
        let session = match session {
            Some(id) => id,
            None => new_session(sub).await?,
        };
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
            "session_id": session,
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

/// A new session of `user` in the database at DATABASE_URL, as a sign-in makes one.
async fn new_session(user: uuid::Uuid) -> Result<uuid::Uuid, Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL").map_err(|_| {
        "a user token needs a live session: pass --session <uuid>, or set DATABASE_URL \
         (the local database) to make one"
    })?;
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let id = uuid::Uuid::new_v4();
    let inserted = client
        .execute(
            "insert into auth.sessions (id, user_id, aal, user_agent)
             select $1, u.id, 'aal1', 'mint-token (local development)' from auth.users u
             where u.id = $2",
            &[&id, &user],
        )
        .await?;
    if inserted == 0 {
        return Err(format!("no user {user} in the database").into());
    }
    Ok(id)
}
