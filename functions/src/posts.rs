//! Posts.
//!
//! GET    /posts?page=&pageSize=     published posts, own drafts, and all for posts.publish
//! POST   /posts                     posts.write
//! GET    /posts/{id}                as the list; others' drafts are 404
//! PATCH  /posts/{id}                the author (posts.write), or posts.publish holders
//! POST   /posts/{id}/publish        posts.publish
//! DELETE /posts/{id}                the author, or posts.delete holders

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::auth::permissions::Permission;
use shared::clients::postgrest::Table;
use shared::pipeline::contract::Example;
use shared::pipeline::input;
use shared::pipeline::typed::{Created, Data, Json, Listed, NoContent, Paging};
use shared::{clients::postgrest, ApiError, App, SignedIn};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::validate;

const COLUMNS: &str = "id,author_id,title,body,published,published_at,created_at,updated_at";
const POSTS: Table = Table {
    name: "posts",
    columns: COLUMNS,
    what: "Post",
};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all(serialize = "camelCase"))]
#[schema(rename_all = "camelCase")]
pub struct Post {
    pub id: Uuid,
    pub author_id: Uuid,
    pub title: String,
    pub body: String,
    pub published: bool,
    pub published_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPost {
    #[serde(deserialize_with = "input::trimmed")]
    #[validate(custom(function = "validate::title"))]
    #[schema(schema_with = validate::schema::title)]
    title: String,
    /// Empty when absent.
    #[serde(default)]
    #[validate(custom(function = "validate::post_body"))]
    #[schema(schema_with = validate::schema::post_body)]
    body: String,
}

impl Example for NewPost {
    const EXAMPLE: &'static str = r#"{"title":"Launch notes","body":"We shipped."}"#;
}

/// At least one field; absent fields are unchanged.
#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct PostChanges {
    #[serde(default, deserialize_with = "input::trimmed_option")]
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(custom(function = "validate::title"))]
    #[schema(schema_with = validate::schema::title)]
    title: Option<String>,
    #[serde(default, deserialize_with = "input::present")]
    #[serde(skip_serializing_if = "Option::is_none")]
    #[validate(custom(function = "validate::post_body"))]
    #[schema(schema_with = validate::schema::post_body)]
    body: Option<String>,
}

impl Example for PostChanges {
    const EXAMPLE: &'static str = r#"{"title":"Launch notes (edited)"}"#;
}

shared::path_id!(
    /// `{id}` of /posts/{id}.
    PostId,
    "id",
    "Post"
);

/// GET /posts
pub async fn list(
    app: App,
    caller: SignedIn,
    Paging(query): Paging,
) -> Result<Listed<Post>, ApiError> {
    let user = &caller.user;
    user.require(Permission::PostsRead)?;
    // One call of list_posts: published posts and own drafts (everything for
    // posts.publish holders), each part through its own index, with a bounded count.
    let (from, to) = query.range();
    let page: postgrest::RpcPage<Post> = postgrest::call(
        app.db.as_user(&caller).rpc(&crate::sql::ListPosts {
            p_limit: to - from + 1,
            p_offset: from,
        })?,
        "Post",
    )
    .await?;
    Ok(Listed::new(query, page.into()))
}

/// POST /posts: one call of `create_post` (the insert as the caller; RLS and the
/// publishing guard decide), which also answers a repeated Idempotency-Key.
pub async fn create(
    app: App,
    caller: SignedIn,
    Json(new): Json<NewPost>,
) -> Result<Created<Post>, ApiError> {
    let user = &caller.user;
    user.require(Permission::PostsWrite)?;
    let post: Post = postgrest::call(
        app.db.as_user(&caller).rpc(&crate::sql::CreatePost {
            p_title: new.title,
            p_body: new.body,
        })?,
        "Post",
    )
    .await?;
    Ok(Created(post))
}

/// GET /posts/{id}
pub async fn get(app: App, caller: SignedIn, PostId(id): PostId) -> Result<Data<Post>, ApiError> {
    let user = &caller.user;
    user.require(Permission::PostsRead)?;
    let post: Post = app.db.as_user(&caller).find(&POSTS, id).await?;
    Ok(Data(post))
}

/// PATCH /posts/{id}: title and body only (publishing has its own route).
pub async fn update(
    app: App,
    caller: SignedIn,
    PostId(id): PostId,
    Json(changes): Json<PostChanges>,
) -> Result<Data<Post>, ApiError> {
    let fields = input::changes(&changes)?;
    // One call: visibility (404), the author or posts.publish (403), the update.
    let post: Post = postgrest::call(
        app.db.as_user(&caller).rpc(&crate::sql::UpdatePost {
            p_id: id,
            p_changes: serde_json::Value::Object(fields),
        })?,
        "Post",
    )
    .await?;
    Ok(Data(post))
}

/// POST /posts/{id}/publish: one call of `publish_post` (404 when the caller cannot
/// see or change the post; the guard leaves publishing to posts.publish).
pub async fn publish(
    app: App,
    caller: SignedIn,
    PostId(id): PostId,
) -> Result<Data<Post>, ApiError> {
    let user = &caller.user;
    user.require(Permission::PostsPublish)?;
    let post: Post = postgrest::call(
        app.db
            .as_user(&caller)
            .rpc(&crate::sql::PublishPost { p_id: id })?,
        "Post",
    )
    .await?;
    Ok(Data(post))
}

/// DELETE /posts/{id}
pub async fn delete(app: App, caller: SignedIn, PostId(id): PostId) -> Result<NoContent, ApiError> {
    // One call: visibility (404), the author or posts.delete (403), the delete.
    postgrest::exec(
        app.db
            .as_user(&caller)
            .rpc(&crate::sql::DeletePost { p_id: id })?,
        "Post",
    )
    .await?;
    Ok(NoContent)
}
