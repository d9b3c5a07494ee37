//! The profile views and edits: GET /me, GET /users, GET and PATCH /users/{id}.

use serde::{Deserialize, Serialize};
use shared::auth::permissions::{Permission, Role};
use shared::clients::postgrest::Table;
use shared::pipeline::contract::Example;
use shared::pipeline::input;
use shared::pipeline::response;
use shared::pipeline::typed::{Data, Filtered, Json, Listed};
use shared::{clients::postgrest, ApiError, App, SignedIn};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use crate::validate;

use super::model::{PostSummary, Profile, ProfileRow, PublicProfile, UserId, PROFILE_COLUMNS};

/// Profiles by id, as GET and PATCH /users/{id} name them.
const PROFILES: Table = Table {
    name: "profiles",
    columns: PROFILE_COLUMNS,
    what: "User",
};

/// `profiles.bio`'s limit in SQL: room for a 500-character bio after HTML escaping
/// (at worst 6 characters each, `"` -> `&quot;`) and the attributes added to links.
const MAX_STORED_BIO_CHARS: usize = 4000;

/// The caller's own profile, role and what the role permits.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    #[serde(flatten)]
    profile: Profile,
    role: Role,
    permissions: Vec<Permission>,
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
pub async fn me(app: App, caller: SignedIn) -> Result<Data<Me>, ApiError> {
    let row: MeRow =
        postgrest::call(app.db.as_user(&caller).rpc(&crate::sql::Me {})?, "Profile").await?;
    Ok(Data(Me {
        profile: row.profile.into(),
        role: row.role,
        permissions: row.role.permissions().to_vec(),
    }))
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Part of a name or an email address, case-insensitive.
    #[validate(length(max = 100, message = "must be at most 100 characters"))]
    #[param(max_length = 100)]
    search: Option<String>,
}

/// GET /users?page=&pageSize=&search=
pub async fn list(
    app: App,
    caller: SignedIn,
    Filtered(query, page_query): Filtered<ListQuery>,
) -> Result<Listed<Profile>, ApiError> {
    let user = &caller.user;
    // The token's claim first (no request); then one call of list_users, which checks
    // users.read again in the database (a demoted reader's older token is not enough),
    // searches through trigram indexes and counts up to a bound. The search text is a
    // JSON parameter (LIKE wildcards escaped in SQL): data, never filter syntax.
    user.require(Permission::UsersRead)?;
    let (from, to) = page_query.range();
    let page: postgrest::RpcPage<ProfileRow> = postgrest::call(
        app.db.as_user(&caller).rpc(&crate::sql::ListUsers {
            p_search: query.search.as_deref().map(|s| s.trim().to_owned()),
            p_limit: to - from + 1,
            p_offset: from,
        })?,
        "User",
    )
    .await?;
    let items: Vec<Profile> = page.items.into_iter().map(Profile::from).collect();
    Ok(Listed::new(
        page_query,
        response::Page {
            items,
            total: page.total,
        },
    ))
}

/// The answer of `get_user()`.
/// A user as the owner and users.read holders see them, with their 5 newest published posts.
#[derive(Serialize, ToSchema)]
pub struct UserWithPosts {
    #[serde(flatten)]
    profile: Profile,
    posts: Vec<PostSummary>,
}

/// A public profile as anyone else sees it (no email), with the 5 newest published posts.
#[derive(Serialize, ToSchema)]
pub struct PublicUserWithPosts {
    #[serde(flatten)]
    profile: PublicProfile,
    posts: Vec<PostSummary>,
}

/// A user as the caller may see them: in full, or the public profile.
#[derive(Serialize)]
#[serde(untagged)]
pub enum UserView {
    Full(UserWithPosts),
    Public(PublicUserWithPosts),
}

// By hand: utoipa writes `oneOf` for an untagged enum, but a full view also matches the
// public one's schema, so only `anyOf` is true of it.
impl utoipa::PartialSchema for UserView {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::AnyOfBuilder::new()
            .item(utoipa::openapi::Ref::from_schema_name("UserWithPosts"))
            .item(utoipa::openapi::Ref::from_schema_name(
                "PublicUserWithPosts",
            ))
            .into()
    }
}

impl ToSchema for UserView {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        for (name, schema) in [
            (
                UserWithPosts::name(),
                <UserWithPosts as utoipa::PartialSchema>::schema(),
            ),
            (
                PublicUserWithPosts::name(),
                <PublicUserWithPosts as utoipa::PartialSchema>::schema(),
            ),
        ] {
            schemas.push((name.into_owned(), schema));
        }
        UserWithPosts::schemas(schemas);
        PublicUserWithPosts::schemas(schemas);
    }
}

#[derive(Deserialize)]
struct UserRow {
    #[serde(flatten)]
    profile: ProfileRow,
    full_view: bool,
}

/// GET /users/{id}
pub async fn get(
    app: App,
    caller: SignedIn,
    UserId(id): UserId,
) -> Result<Data<UserView>, ApiError> {
    let user = &caller.user;
    // One call of get_user: the profile (RLS: own, public, or users.read), its five
    // newest published posts, and whether users.read holds in user_roles now.
    let mut row: UserRow = postgrest::call(
        app.db
            .as_user(&caller)
            .rpc(&crate::sql::GetUser { p_id: id })?,
        "User",
    )
    .await?;
    let posts = std::mem::take(&mut row.profile.posts);
    // Own, or users.read both in the token and in the database (a demoted reader's
    // older token is not enough).
    let full_view = id == user.id || (user.can(Permission::UsersRead) && row.full_view);
    let row = row.profile;
    Ok(Data(if full_view {
        UserView::Full(UserWithPosts {
            profile: Profile::from(row),
            posts,
        })
    } else {
        UserView::Public(PublicUserWithPosts {
            profile: PublicProfile {
                id: row.id,
                name: row.full_name,
                bio: row.bio,
                website: row.website,
                created_at: row.created_at,
            },
            posts,
        })
    }))
}

/// At least one field; absent fields are unchanged, `null` clears bio and website.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(min_properties = 1)]
pub struct ProfileChanges {
    #[serde(default, deserialize_with = "input::trimmed_option")]
    #[validate(custom(function = "validate::full_name"))]
    #[schema(schema_with = validate::schema::full_name)]
    name: Option<String>,
    #[serde(default, deserialize_with = "input::present")]
    #[validate(custom(function = "validate::bio"))]
    #[schema(schema_with = validate::schema::bio_or_null)]
    bio: Option<Option<String>>,
    #[serde(default, deserialize_with = "input::present")]
    #[validate(custom(function = "validate::website"))]
    #[schema(schema_with = validate::schema::website_or_null)]
    website: Option<Option<String>>,
    /// Whether other users may see the profile (without its email).
    #[serde(default, deserialize_with = "input::present")]
    public_profile: Option<bool>,
}

impl Example for ProfileChanges {
    const EXAMPLE: &'static str = concat!(
        r#"{"name":"Bob Editor","bio":"<p>Hello</p>","#,
        r#""website":"https://bob.example.com","publicProfile":true}"#
    );
}

/// PATCH /users/{id}
pub async fn update(
    app: App,
    caller: SignedIn,
    UserId(id): UserId,
    Json(changes): Json<ProfileChanges>,
) -> Result<Data<Profile>, ApiError> {
    let user = &caller.user;
    if id != user.id {
        user.require(Permission::UsersWrite)?;
    }
    let mut fields = serde_json::Map::new();
    if let Some(name) = &changes.name {
        fields.insert("full_name".into(), name.clone().into());
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
    let row: ProfileRow = app
        .db
        .as_user(&caller)
        .update(&PROFILES, id, &fields)
        .await?;
    Ok(Data(Profile::from(row)))
}
