//! The profile as the database answers it and as the routes show it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

shared::path_id!(
    /// `{id}` of /users/{id}.
    UserId,
    "id",
    "User"
);

/// The email comes from `profile_emails`, which RLS shows only to the user and to
/// users.read holders (null for anyone else, whatever the function asks for).
pub(crate) const PROFILE_COLUMNS: &str =
    "id,full_name,bio,website,public_profile,created_at,profile_emails(email)";

/// A profile row as PostgREST returns it.
#[derive(Debug, Deserialize)]
pub struct ProfileRow {
    pub(super) id: Uuid,
    pub(super) profile_emails: Option<EmailRow>,
    pub(super) full_name: Option<String>,
    pub(super) bio: Option<String>,
    pub(super) website: Option<String>,
    pub(super) public_profile: bool,
    pub(super) created_at: DateTime<Utc>,
    #[serde(default)]
    pub(super) posts: Vec<PostSummary>,
}

#[derive(Debug, Deserialize)]
pub(super) struct EmailRow {
    pub(super) email: Option<String>,
}

/// What the owner and users.read holders see.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub(super) id: Uuid,
    pub(super) email: Option<String>,
    pub(super) name: Option<String>,
    pub(super) bio: Option<String>,
    pub(super) website: Option<String>,
    pub(super) public_profile: bool,
    pub(super) created_at: DateTime<Utc>,
}

/// What anyone sees of a public profile: no email.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublicProfile {
    pub(super) id: Uuid,
    pub(super) name: Option<String>,
    pub(super) bio: Option<String>,
    pub(super) website: Option<String>,
    pub(super) created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all(serialize = "camelCase"))]
#[schema(rename_all = "camelCase")]
pub struct PostSummary {
    pub(super) id: Uuid,
    pub(super) title: String,
    pub(super) published_at: Option<DateTime<Utc>>,
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
