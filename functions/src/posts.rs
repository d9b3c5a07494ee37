//! Posts.
//!
//! GET    /posts?page=&pageSize=     published posts, own drafts, and all for posts.publish
//! POST   /posts                     posts.write
//! GET    /posts/{id}                as the list; others' drafts are 404
//! PATCH  /posts/{id}                the author (posts.write), or posts.publish holders
//! POST   /posts/{id}/publish        posts.publish
//! DELETE /posts/{id}                the author, or posts.delete holders

use chrono::{DateTime, Utc};
use lambda_http::Request;
use serde::{Deserialize, Serialize};
use shared::input::{self, PageQuery};
use shared::rbac::Permission;
use shared::response::{self, ApiResult};
use shared::{db, ApiError, App, AuthUser, SignedIn};
use uuid::Uuid;
use validator::Validate;

const COLUMNS: &str = "id,author_id,title,body,published,published_at,created_at,updated_at";

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all(serialize = "camelCase"))]
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

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
struct NewPost {
    #[validate(
        length(min = 1, max = 200, message = "must be 1 to 200 characters"),
        custom(function = "input::plain_text")
    )]
    title: String,
    #[serde(default)]
    #[validate(
        length(max = 20000, message = "must be at most 20000 characters"),
        custom(function = "input::free_text")
    )]
    body: String,
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
struct PostChanges {
    #[serde(default)]
    #[validate(
        length(min = 1, max = 200, message = "must be 1 to 200 characters"),
        custom(function = "input::plain_text")
    )]
    title: Option<String>,
    #[serde(default)]
    #[validate(
        length(max = 20000, message = "must be at most 20000 characters"),
        custom(function = "input::free_text")
    )]
    body: Option<String>,
}

/// GET /posts
pub async fn list(app: App, caller: SignedIn, req: Request) -> ApiResult {
    let user = &caller.user;
    user.require(Permission::PostsRead)?;
    let query: PageQuery = input::query(&req)?;
    // One call of list_posts: published posts and own drafts (everything for
    // posts.publish holders), each part through its own index, with a bounded count.
    let (from, to) = query.range();
    let page: db::RpcPage<Post> = db::call(
        app.db.as_user(user).rpc(
            "list_posts",
            &serde_json::json!({ "p_limit": to - from + 1, "p_offset": from }),
        )?,
        "Post",
    )
    .await?;
    response::page(&query, &page.into())
}

/// POST /posts
pub async fn create(app: App, caller: SignedIn, req: Request) -> ApiResult {
    let user = &caller.user;
    user.require(Permission::PostsWrite)?;
    let new: NewPost = input::json_body(&req)?;
    let post: Post = db::one(
        app.db
            .as_user(user)
            .table("posts")
            .insert(db::body(
                &serde_json::json!({ "title": new.title.trim(), "body": new.body }),
            )?)
            .select(COLUMNS),
        "Post",
    )
    .await?;
    response::created(&post)
}

/// GET /posts/{id}
pub async fn get(app: App, caller: SignedIn, req: Request) -> ApiResult {
    let user = &caller.user;
    user.require(Permission::PostsRead)?;
    let id = input::path_id(&req, "id", "Post")?;
    response::ok(&find(&app, user, id).await?)
}

/// PATCH /posts/{id}: title and body only (publishing has its own route).
pub async fn update(app: App, caller: SignedIn, req: Request) -> ApiResult {
    let user = &caller.user;
    let id = input::path_id(&req, "id", "Post")?;
    let changes: PostChanges = input::json_body(&req)?;
    let mut fields = serde_json::Map::new();
    if let Some(title) = &changes.title {
        fields.insert("title".into(), title.trim().into());
    }
    if let Some(body) = &changes.body {
        fields.insert("body".into(), body.clone().into());
    }
    if fields.is_empty() {
        return Err(input::empty_patch());
    }
    // One call: visibility (404), the author or posts.publish (403), the update.
    let post: Post = db::call(
        app.db.as_user(user).rpc(
            "update_post",
            &serde_json::json!({ "p_id": id, "p_changes": fields }),
        )?,
        "Post",
    )
    .await?;
    response::ok(&post)
}

/// POST /posts/{id}/publish
pub async fn publish(app: App, caller: SignedIn, req: Request) -> ApiResult {
    let user = &caller.user;
    user.require(Permission::PostsPublish)?;
    let id = input::path_id(&req, "id", "Post")?;
    let post: Post = db::one(
        app.db
            .as_user(user)
            .table("posts")
            .eq("id", id.to_string())
            .update(db::body(&serde_json::json!({ "published": true }))?)
            .select(COLUMNS),
        "Post",
    )
    .await?;
    response::ok(&post)
}

/// DELETE /posts/{id}
pub async fn delete(app: App, caller: SignedIn, req: Request) -> ApiResult {
    let user = &caller.user;
    let id = input::path_id(&req, "id", "Post")?;
    // One call: visibility (404), the author or posts.delete (403), the delete.
    db::exec(
        app.db
            .as_user(user)
            .rpc("delete_post", &serde_json::json!({ "p_id": id }))?,
        "Post",
    )
    .await?;
    response::no_content()
}

async fn find(app: &App, user: &AuthUser, id: Uuid) -> Result<Post, ApiError> {
    db::one(
        app.db
            .as_user(user)
            .table("posts")
            .select(COLUMNS)
            .eq("id", id.to_string()),
        "Post",
    )
    .await
}
