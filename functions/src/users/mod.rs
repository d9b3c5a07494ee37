//! Users and their profiles.
//!
//! GET    /me                         own profile, role and permissions
//! GET    /users?page=&pageSize=&search=   users.read; name or email, newest first
//! POST   /users                      users.write; creates the auth user (Auth admin API)
//! GET    /users/{id}                 self, a public profile, or users.read; 5 newest posts
//! PATCH  /users/{id}                 self or users.write; name, bio, website, publicProfile
//! DELETE /users/{id}                 users.delete; not oneself
//! DELETE /me                         oneself, after a recent sign-in or with the password
//! GET    /me/export?part=&page=&pageSize=   a copy of everything they own or wrote (`export`)
//! GET    /me/sessions, DELETE /me/sessions/{id}   own sessions (`sessions`)
//!
//! A private profile of someone else is 404, not 403, so ids cannot be probed.

//! `profiles`: the profile views and edits (GET /me, GET /users, GET and PATCH
//! /users/{id}); `accounts`: creating and deleting accounts through Supabase Auth's
//! admin API, with the undo that keeps a failed create from leaving half a user.

pub(crate) mod accounts;
pub mod export;
pub(crate) mod profiles;
pub(crate) mod sessions;

pub use accounts::{create, delete, delete_own};
pub use profiles::{get, list, me, update};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// The email comes from `profile_emails`, which RLS shows only to the user and to
/// users.read holders (null for anyone else, whatever the function asks for).
pub(crate) const PROFILE_COLUMNS: &str =
    "id,full_name,bio,website,public_profile,created_at,profile_emails(email)";

/// A profile row as PostgREST returns it.
#[derive(Debug, Deserialize)]
pub(crate) struct ProfileRow {
    id: Uuid,
    profile_emails: Option<EmailRow>,
    full_name: Option<String>,
    bio: Option<String>,
    website: Option<String>,
    public_profile: bool,
    created_at: DateTime<Utc>,
    #[serde(default)]
    posts: Vec<PostSummary>,
}

#[derive(Debug, Deserialize)]
struct EmailRow {
    email: Option<String>,
}

/// What the owner and users.read holders see.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Profile {
    id: Uuid,
    email: Option<String>,
    name: Option<String>,
    bio: Option<String>,
    website: Option<String>,
    public_profile: bool,
    created_at: DateTime<Utc>,
}

/// What anyone sees of a public profile: no email.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PublicProfile {
    id: Uuid,
    name: Option<String>,
    bio: Option<String>,
    website: Option<String>,
    created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all(serialize = "camelCase"))]
#[schema(rename_all = "camelCase")]
pub(crate) struct PostSummary {
    id: Uuid,
    title: String,
    published_at: Option<DateTime<Utc>>,
}

impl From<ProfileRow> for Profile {
    fn from(r: ProfileRow) -> Self {
        Self {
            id: r.id,
            email: r.profile_emails.and_then(|e| e.email),
            name: r.full_name,
            bio: r.bio,
            website: r.website,
            public_profile: r.public_profile,
            created_at: r.created_at,
        }
    }
}
