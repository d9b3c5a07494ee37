//! Users and their profiles.
//!
//! GET    /me                         own profile, role and permissions
//! GET    /users?page=&pageSize=&search=   users.read; name or email, newest first
//! POST   /users                      users.write; creates the auth user (Auth admin API)
//! GET    /users/{id}                 self, a public profile, or users.read; 5 newest posts
//! PATCH  /users/{id}                 self or users.write; name, bio, website, publicProfile
//! DELETE /users/{id}                 users.delete; not oneself
//!
//! A private profile of someone else is 404, not 403, so ids cannot be probed.

use chrono::{DateTime, Utc};
use lambda_http::Request;
use serde::{Deserialize, Serialize};
use shared::audit::{self, AuditEvent};
use shared::input::{self, PageQuery};
use shared::rbac::{self, Permission, Role};
use shared::response::{self, ApiResult};
use shared::supabase_auth;
use shared::{db, ApiError, App, SignedIn};
use uuid::Uuid;
use validator::Validate;

use crate::validate;

/// `profiles.bio`'s limit in SQL: room for a 500-character bio after HTML escaping
/// (at worst 6 characters each, `"` -> `&quot;`) and the attributes added to links.
const MAX_STORED_BIO_CHARS: usize = 4000;

/// The email comes from `profile_emails`, which RLS shows only to the user and to
/// users.read holders (null for anyone else, whatever the function asks for).
const PROFILE_COLUMNS: &str =
    "id,full_name,bio,website,public_profile,created_at,profile_emails(email)";

/// A profile row as PostgREST returns it.
#[derive(Debug, Deserialize)]
struct ProfileRow {
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
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Profile {
    id: Uuid,
    email: Option<String>,
    name: Option<String>,
    bio: Option<String>,
    website: Option<String>,
    public_profile: bool,
    created_at: DateTime<Utc>,
}

/// What anyone sees of a public profile: no email.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PublicProfile {
    id: Uuid,
    name: Option<String>,
    bio: Option<String>,
    website: Option<String>,
    created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all(serialize = "camelCase"))]
struct PostSummary {
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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Me {
    #[serde(flatten)]
    profile: Profile,
    role: Role,
    permissions: Vec<&'static str>,
}

/// The answer of `me()`: the profile with its email, and the stored role.
#[derive(Deserialize)]
struct MeRow {
    #[serde(flatten)]
    profile: ProfileRow,
    role: Role,
}

/// GET /me: one call of `me()`. The role is the one in `user_roles` (the truth; the
/// token's claim may be older).
pub async fn me(app: App, caller: SignedIn, _req: Request) -> ApiResult {
    let user = &caller.user;
    let row: MeRow = db::call(
        app.db.as_user(user).rpc("me", &serde_json::json!({}))?,
        "Profile",
    )
    .await?;
    response::ok(&Me {
        profile: row.profile.into(),
        role: row.role,
        permissions: row.role.permissions().iter().map(|p| p.as_str()).collect(),
    })
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ListQuery {
    #[validate(length(max = 100, message = "must be at most 100 characters"))]
    search: Option<String>,
}

/// GET /users?page=&pageSize=&search=
pub async fn list(app: App, caller: SignedIn, req: Request) -> ApiResult {
    let user = &caller.user;
    let (query, page_query): (ListQuery, PageQuery) = input::paged_query(&req)?;
    // The token's claim first (no request); then one call of list_users, which checks
    // users.read again in the database (a demoted reader's older token is not enough),
    // searches through trigram indexes and counts up to a bound. The search text is a
    // JSON parameter (LIKE wildcards escaped in SQL): data, never filter syntax.
    user.require(Permission::UsersRead)?;
    let (from, to) = page_query.range();
    let page: db::RpcPage<ProfileRow> = db::call(
        app.db.as_user(user).rpc(
            "list_users",
            &serde_json::json!({
                "p_search": query.search.as_deref().map(str::trim),
                "p_limit": to - from + 1,
                "p_offset": from,
            }),
        )?,
        "User",
    )
    .await?;
    let items: Vec<Profile> = page.items.into_iter().map(Profile::from).collect();
    response::page(
        &page_query,
        &response::Page {
            items,
            total: page.total,
        },
    )
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
struct NewUser {
    #[validate(
        email(message = "must be an email address"),
        length(max = 254, message = "must be at most 254 characters")
    )]
    email: String,
    #[validate(
        length(min = 1, max = 100, message = "must be 1 to 100 characters"),
        custom(function = "validate::person_name")
    )]
    name: String,
    role: Role,
}

/// POST /users: the auth user through Supabase Auth's admin API, then role and profile
/// as the calling admin (RLS: users.write). If those fail, the auth user is removed
/// again: nothing is half-created.
pub async fn create(app: App, caller: SignedIn, req: Request) -> ApiResult {
    let user = &caller.user;
    user.require(Permission::UsersWrite)?;
    let new: NewUser = input::json_body(&req)?;
    // The Auth admin API runs as the service role: the database cannot check the
    // caller there, so ask it first.
    rbac::confirm(&app, user, Permission::UsersWrite).await?;
    let email = new.email.trim().to_lowercase();
    let id = supabase_auth::admin_create_user(
        &app,
        &email,
        serde_json::json!({ "full_name": new.name.trim() }),
    )
    .await?;

    let finish = async {
        let changed: Vec<serde_json::Value> = db::many(
            app.db
                .as_user(user)
                .table("user_roles")
                .eq("user_id", id.to_string())
                .update(db::body(&serde_json::json!({ "role": new.role }))?),
        )
        .await?;
        if changed.len() != 1 {
            return Err(ApiError::forbidden("This needs the users.write permission"));
        }
        db::one::<ProfileRow>(
            app.db
                .as_user(user)
                .table("profiles")
                .eq("id", id.to_string())
                .update(db::body(
                    &serde_json::json!({ "full_name": new.name.trim() }),
                )?)
                .select(PROFILE_COLUMNS),
            "Profile",
        )
        .await
    };
    let row = match finish.await {
        Ok(row) => row,
        Err(e) => {
            let _ = supabase_auth::admin_delete_user(&app, id).await;
            return Err(e);
        }
    };
    audit::record(
        &app,
        AuditEvent {
            action: "USER_CREATED",
            actor: Some(user.id),
            target: Some(format!("user:{id}")),
            metadata: serde_json::json!({ "role": new.role }),
            ip: caller.ip.as_deref(),
            user_agent: caller.user_agent.as_deref(),
            coalesce: false,
        },
    )
    .await;
    #[derive(Serialize)]
    struct Created {
        #[serde(flatten)]
        profile: Profile,
        role: Role,
    }
    response::created(&Created {
        profile: row.into(),
        role: new.role,
    })
}

/// The answer of `get_user()`.
#[derive(Deserialize)]
struct UserRow {
    #[serde(flatten)]
    profile: ProfileRow,
    full_view: bool,
}

/// GET /users/{id}
pub async fn get(app: App, caller: SignedIn, req: Request) -> ApiResult {
    let user = &caller.user;
    let id = input::path_id(&req, "id", "User")?;
    // One call of get_user: the profile (RLS: own, public, or users.read), its five
    // newest published posts, and whether users.read holds in user_roles now.
    let mut row: UserRow = db::call(
        app.db
            .as_user(user)
            .rpc("get_user", &serde_json::json!({ "p_id": id }))?,
        "User",
    )
    .await?;
    let posts = std::mem::take(&mut row.profile.posts);
    // Own, or users.read both in the token and in the database (a demoted reader's
    // older token is not enough).
    let full_view = id == user.id || (user.can(Permission::UsersRead) && row.full_view);
    let row = row.profile;
    #[derive(Serialize)]
    struct WithPosts<P: Serialize> {
        #[serde(flatten)]
        profile: P,
        posts: Vec<PostSummary>,
    }
    if full_view {
        response::ok(&WithPosts {
            profile: Profile::from(row),
            posts,
        })
    } else {
        response::ok(&WithPosts {
            profile: PublicProfile {
                id: row.id,
                name: row.full_name,
                bio: row.bio,
                website: row.website,
                created_at: row.created_at,
            },
            posts,
        })
    }
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ProfileChanges {
    #[serde(default)]
    #[validate(
        length(min = 1, max = 100, message = "must be 1 to 100 characters"),
        custom(function = "validate::person_name")
    )]
    name: Option<String>,
    #[serde(default, deserialize_with = "input::present")]
    #[validate(
        length(max = 500, message = "must be at most 500 characters"),
        custom(function = "validate::free_text")
    )]
    bio: Option<Option<String>>,
    #[serde(default, deserialize_with = "input::present")]
    #[validate(
        length(max = 300, message = "must be at most 300 characters"),
        custom(function = "validate::https_url")
    )]
    website: Option<Option<String>>,
    #[serde(default)]
    public_profile: Option<bool>,
}

/// PATCH /users/{id}
pub async fn update(app: App, caller: SignedIn, req: Request) -> ApiResult {
    let user = &caller.user;
    let id = input::path_id(&req, "id", "User")?;
    if id != user.id {
        user.require(Permission::UsersWrite)?;
    }
    let changes: ProfileChanges = input::json_body(&req)?;
    let mut fields = serde_json::Map::new();
    if let Some(name) = &changes.name {
        fields.insert("full_name".into(), name.trim().into());
    }
    if let Some(bio) = &changes.bio {
        let clean = bio
            .as_deref()
            .map(validate::sanitize_bio)
            .filter(|b| !b.trim().is_empty());
        // Escaping can lengthen text (`&` becomes `&amp;`); the stored form has a limit too.
        if clean
            .as_ref()
            .is_some_and(|b| b.chars().count() > MAX_STORED_BIO_CHARS)
        {
            return Err(ApiError::invalid_field(
                "bio",
                "is too long once its HTML is sanitized",
            ));
        }
        fields.insert("bio".into(), clean.into());
    }
    if let Some(website) = &changes.website {
        fields.insert("website".into(), website.clone().into());
    }
    if let Some(public) = changes.public_profile {
        fields.insert("public_profile".into(), public.into());
    }
    if fields.is_empty() {
        return Err(input::empty_patch());
    }
    let row: ProfileRow = db::one(
        app.db
            .as_user(user)
            .table("profiles")
            .eq("id", id.to_string())
            .update(db::body(&fields)?)
            .select(PROFILE_COLUMNS),
        "User",
    )
    .await?;
    response::ok(&Profile::from(row))
}

/// DELETE /users/{id}: through the Auth admin API (the profile, role and posts go with
/// the auth user, by cascade).
pub async fn delete(app: App, caller: SignedIn, req: Request) -> ApiResult {
    let user = &caller.user;
    user.require(Permission::UsersDelete)?;
    let id = input::path_id(&req, "id", "User")?;
    if id == user.id {
        return Err(ApiError::forbidden(
            "You cannot delete your own account here",
        ));
    }
    // Runs as the service role: confirm the caller's role in the database first.
    rbac::confirm(&app, user, Permission::UsersDelete).await?;
    supabase_auth::admin_delete_user(&app, id).await?;
    audit::record(
        &app,
        AuditEvent {
            action: "USER_DELETED",
            actor: Some(user.id),
            target: Some(format!("user:{id}")),
            metadata: serde_json::json!({}),
            ip: caller.ip.as_deref(),
            user_agent: caller.user_agent.as_deref(),
            coalesce: false,
        },
    )
    .await;
    response::no_content()
}
