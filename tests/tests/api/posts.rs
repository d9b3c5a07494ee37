//! Posts: GET/POST /posts, GET/PATCH/DELETE /posts/{id}, POST /posts/{id}/publish.
//!
//! Every test makes its own users (with an application role in `user_roles` and the
//! matching `user_role` claim) and its own posts, asserts the status and the body, and
//! then looks in the database as the superuser to check what really happened. Posts are
//! shared by everyone (published ones are readable by all), so list tests never assume
//! global counts: they look for their own rows and check properties of every row.

use chrono::{DateTime, Utc};
use functions::routes;
use integration_tests::*;
use serde_json::{json, Value};
use shared::Route;
use uuid::Uuid;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// A post row as stored.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    id: Uuid,
    author_id: Uuid,
    title: String,
    body: String,
    published: bool,
    published_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

async fn row(id: Uuid) -> Option<Row> {
    db().await
        .query_opt(
            "select id, author_id, title, body, published, published_at, created_at, updated_at \
             from public.posts where id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .map(|r| Row {
            id: r.get(0),
            author_id: r.get(1),
            title: r.get(2),
            body: r.get(3),
            published: r.get(4),
            published_at: r.get(5),
            created_at: r.get(6),
            updated_at: r.get(7),
        })
}

/// How many posts `author` has in the database.
async fn count_by(author: &TestUser) -> i64 {
    db().await
        .query_one(
            "select count(*) from public.posts where author_id = $1",
            &[&author.id],
        )
        .await
        .unwrap()
        .get(0)
}

/// A post created and last updated an hour ago (so that a change visibly moves
/// `updated_at`), with a body of its own.
async fn aged_post(author: &TestUser, title: &str, published: bool) -> Uuid {
    let id = Uuid::new_v4();
    db().await
        .execute(
            "insert into public.posts (id, author_id, title, body, published, created_at, updated_at) \
             values ($1, $2, $3::text, 'original body', $4, now() - interval '1 hour', now() - interval '1 hour')",
            &[&id, &author.id, &title, &published],
        )
        .await
        .unwrap();
    id
}

fn ts(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(value.as_str().expect("timestamp string"))
        .expect("RFC 3339 timestamp")
        .with_timezone(&Utc)
}

fn id_of(data: &Value) -> Uuid {
    Uuid::parse_str(data["id"].as_str().expect("id string")).expect("UUID id")
}

/// The body is the camelCase post, exactly the stored row, and nothing else.
#[track_caller]
fn assert_post_body(data: &Value, row: &Row) {
    let mut keys: Vec<&str> = data
        .as_object()
        .expect("post object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "authorId",
            "body",
            "createdAt",
            "id",
            "published",
            "publishedAt",
            "title",
            "updatedAt"
        ],
        "body: {data}"
    );
    assert_eq!(data["id"], json!(row.id));
    assert_eq!(data["authorId"], json!(row.author_id));
    assert_eq!(data["title"], json!(row.title));
    assert_eq!(data["body"], json!(row.body));
    assert_eq!(data["published"], json!(row.published));
    match row.published_at {
        Some(at) => assert_eq!(ts(&data["publishedAt"]), at, "body: {data}"),
        None => assert_eq!(data["publishedAt"], Value::Null, "body: {data}"),
    }
    assert_eq!(ts(&data["createdAt"]), row.created_at);
    assert_eq!(ts(&data["updatedAt"]), row.updated_at);
}

/// Every post the caller can list, walking all pages (100 per page).
async fn list_all(caller: &TestUser) -> Vec<Value> {
    let mut items = Vec::new();
    let mut page = 1u64;
    loop {
        let res = Req::get("/posts")
            .query("page", page)
            .query("pageSize", 100)
            .as_user(caller)
            .send(&routes::LIST_POSTS)
            .await;
        let data = res.assert_ok(200).as_array().expect("data array").clone();
        let total_pages = res.body["pagination"]["totalPages"]
            .as_u64()
            .expect("totalPages");
        items.extend(data);
        if page >= total_pages {
            break;
        }
        page += 1;
    }
    items
}

fn find_in(items: &[Value], id: Uuid) -> Option<&Value> {
    items.iter().find(|p| p["id"] == json!(id))
}

/// The post routes.
fn post_routes() -> Vec<&'static Route> {
    routes_under("/posts")
}

/// A valid request for the route on a real post, without credentials.
fn request_for(route: &Route, post: Uuid) -> Req {
    sample_request_with(route, &[("id", post)], json!({ "title": "Sneaky" }))
}

fn create(body: Value) -> Req {
    Req::post("/posts").json(body)
}

fn get(id: impl ToString) -> Req {
    Req::get("/posts/{id}").param("id", id)
}

fn patch(id: impl ToString, body: Value) -> Req {
    Req::patch("/posts/{id}").param("id", id).json(body)
}

fn publish(id: impl ToString) -> Req {
    Req::post("/posts/{id}/publish").param("id", id)
}

fn delete(id: impl ToString) -> Req {
    Req::delete("/posts/{id}").param("id", id)
}

// ---------------------------------------------------------------------------------------
// GET /posts
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn list_for_a_user_is_published_posts_and_own_drafts_only() {
    let author = user_with_role("user").await;
    let caller = user_with_role("user").await;
    let others_published = post(&author, "others-published", true).await;
    let others_draft = post(&author, "others-draft", false).await;
    let own_draft = post(&caller, "own-draft", false).await;
    let own_published = post(&caller, "own-published", true).await;

    let items = list_all(&caller).await;
    for id in [others_published, own_draft, own_published] {
        let item = find_in(&items, id).unwrap_or_else(|| panic!("post {id} not listed"));
        assert_post_body(item, &row(id).await.unwrap());
    }
    assert!(
        find_in(&items, others_draft).is_none(),
        "another user's draft was listed"
    );
    // Whatever else is in the table: a draft in the list is always the caller's own.
    for item in &items {
        assert!(
            item["published"] == json!(true) || item["authorId"] == json!(caller.id),
            "someone else's draft listed for a user: {item}"
        );
    }
    // Newest first (created_at, then id, descending), within one page (pages fetched
    // one after the other can shift while other tests insert and delete).
    let res = Req::get("/posts")
        .query("pageSize", 100)
        .as_user(&caller)
        .send(&routes::LIST_POSTS)
        .await;
    let page = res.assert_ok(200).as_array().unwrap().clone();
    for pair in page.windows(2) {
        assert!(
            ts(&pair[0]["createdAt"]) >= ts(&pair[1]["createdAt"]),
            "not newest first: {} then {}",
            pair[0],
            pair[1]
        );
    }

    // The author sees their own draft.
    let items = list_all(&author).await;
    assert!(find_in(&items, others_draft).is_some());
    assert!(find_in(&items, own_draft).is_none());
}

#[tokio::test]
async fn list_for_editors_and_admins_includes_everyones_drafts() {
    let author = user_with_role("user").await;
    let other = user_with_role("user").await;
    let draft_a = post(&author, "draft-a", false).await;
    let draft_b = post(&other, "draft-b", false).await;
    let published = post(&author, "published", true).await;

    for role in ["editor", "admin"] {
        let caller = user_with_role(role).await;
        let items = list_all(&caller).await;
        for id in [draft_a, draft_b, published] {
            let item =
                find_in(&items, id).unwrap_or_else(|| panic!("{role}: post {id} not listed"));
            assert_post_body(item, &row(id).await.unwrap());
        }
    }
}

#[tokio::test]
async fn list_paginates_newest_first() {
    // Five drafts dated in the future: for their author (a plain user) they are the
    // five newest posts in the list whatever else the table holds, since only their
    // author and editors can see them.
    let caller = user_with_role("user").await;
    let db = db().await;
    let mut ids = Vec::new();
    for i in 0..5i32 {
        let id = Uuid::new_v4();
        db.execute(
            "insert into public.posts (id, author_id, title, created_at) \
             values ($1, $2, $3::text, now() + interval '1000 years' + make_interval(mins => $4))",
            &[&id, &caller.id, &format!("future-{i}"), &i],
        )
        .await
        .unwrap();
        ids.push(id);
    }
    // Newest first: future-4, future-3, ..., future-0.
    let expected: Vec<String> = (0..5).rev().map(|i| format!("future-{i}")).collect();

    let titles = |data: &Value| -> Vec<String> {
        data.as_array()
            .expect("data array")
            .iter()
            .map(|p| p["title"].as_str().unwrap().to_owned())
            .collect()
    };

    let mut seen = Vec::new();
    for page in 1..=2 {
        let res = Req::get("/posts")
            .query("page", page)
            .query("pageSize", 2)
            .as_user(&caller)
            .send(&routes::LIST_POSTS)
            .await;
        let data = res.assert_ok(200).clone();
        assert_eq!(data.as_array().unwrap().len(), 2);
        seen.extend(titles(&data));
        let pagination = &res.body["pagination"];
        assert_eq!(pagination["page"], page);
        assert_eq!(pagination["pageSize"], 2);
        let total = pagination["total"].as_u64().expect("total");
        assert!(total >= 5, "{pagination}");
        assert_eq!(pagination["totalPages"], json!(total.div_ceil(2)));
        for item in data.as_array().unwrap() {
            assert_post_body(item, &row(id_of(item)).await.unwrap());
        }
    }
    let res = Req::get("/posts")
        .query("page", 3)
        .query("pageSize", 2)
        .as_user(&caller)
        .send(&routes::LIST_POSTS)
        .await;
    let data = res.assert_ok(200).clone();
    seen.push(titles(&data)[0].clone());
    assert_eq!(seen, expected);

    // Defaults: page 1, 20 per page.
    let res = Req::get("/posts")
        .as_user(&caller)
        .send(&routes::LIST_POSTS)
        .await;
    let data = res.assert_ok(200).clone();
    assert_eq!(titles(&data)[..5], expected[..]);
    assert_eq!(res.body["pagination"]["page"], 1);
    assert_eq!(res.body["pagination"]["pageSize"], 20);

    // A page past the end is an empty page, not an error.
    let res = Req::get("/posts")
        .query("page", 100000)
        .query("pageSize", 100)
        .as_user(&caller)
        .send(&routes::LIST_POSTS)
        .await;
    assert_eq!(res.assert_ok(200), &json!([]));
    assert!(res.body["pagination"]["total"].as_u64().unwrap() >= 5);

    // Leave no future-dated rows behind.
    for id in ids {
        db.execute("delete from public.posts where id = $1", &[&id])
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn list_with_unknown_or_invalid_query_parameters_is_422_naming_it() {
    let caller = user_with_role("editor").await;
    let cases: Vec<(&str, &str)> = vec![
        ("pageSize", "0"),
        ("pageSize", "101"),
        ("pageSize", "ten"),
        ("page", "0"),
        ("page", "x"),
        // Not filters: a parameter the route does not know is refused, not ignored
        // (and never passed on to PostgREST as filter syntax).
        ("sort", "title"),
        ("author_id", "eq.00000000-0000-0000-0000-000000000000"),
        ("published", "eq.false"),
        ("select", "*"),
    ];
    for (name, value) in cases {
        let res = Req::get("/posts")
            .query(name, value)
            .as_user(&caller)
            .send(&routes::LIST_POSTS)
            .await;
        assert_eq!(res.status, 422, "{name}={value} -> {}", res.body);
        assert_invalid_field(&res, name);
    }
}

// ---------------------------------------------------------------------------------------
// POST /posts
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn create_by_every_role_is_201_with_the_caller_as_author_and_unpublished() {
    for role in ["user", "editor", "admin"] {
        let caller = user_with_role(role).await;
        let res = create(json!({ "title": "  Hello world  ", "body": "line one\nline two\ttab" }))
            .as_user(&caller)
            .send(&routes::CREATE_POST)
            .await;
        let data = res.assert_ok(201).clone();
        let stored = row(id_of(&data)).await.expect("row inserted");
        assert_eq!(stored.author_id, caller.id, "{role}");
        assert_eq!(
            stored.title, "Hello world",
            "{role}: the title is stored trimmed"
        );
        assert_eq!(stored.body, "line one\nline two\ttab");
        assert!(!stored.published, "{role}: a new post is a draft");
        assert_eq!(stored.published_at, None);
        assert_eq!(stored.created_at, stored.updated_at);
        assert_post_body(&data, &stored);
        assert_eq!(count_by(&caller).await, 1);
    }
}

#[tokio::test]
async fn create_without_a_body_field_stores_an_empty_body_and_accepts_the_limits() {
    let caller = user_with_role("user").await;
    let res = create(json!({ "title": "Only a title" }))
        .as_user(&caller)
        .send(&routes::CREATE_POST)
        .await;
    let data = res.assert_ok(201).clone();
    let stored = row(id_of(&data)).await.unwrap();
    assert_eq!(stored.body, "");
    assert_post_body(&data, &stored);

    // 200 two-byte characters and 20000 characters: lengths count characters.
    let title = "é".repeat(200);
    let body = "b".repeat(20000);
    let res = create(json!({ "title": title, "body": body }))
        .as_user(&caller)
        .send(&routes::CREATE_POST)
        .await;
    let data = res.assert_ok(201).clone();
    let stored = row(id_of(&data)).await.unwrap();
    assert_eq!(stored.title, title);
    assert_eq!(stored.body, body);
    assert_eq!(count_by(&caller).await, 2);
}

#[tokio::test]
async fn create_refuses_fields_the_client_may_not_set() {
    let caller = user_with_role("user").await;
    let other = user_with_role("user").await;
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({ "title": "Forged", "authorId": other.id }),
            "authorId",
        ),
        (
            json!({ "title": "Forged", "author_id": other.id }),
            "author_id",
        ),
        (json!({ "title": "Forged", "published": true }), "published"),
        (json!({ "title": "Forged", "id": Uuid::new_v4() }), "id"),
        (
            json!({ "title": "Forged", "publishedAt": "2000-01-01T00:00:00Z" }),
            "publishedAt",
        ),
        (
            json!({ "title": "Forged", "createdAt": "2000-01-01T00:00:00Z" }),
            "createdAt",
        ),
    ];
    for role in ["user", "admin"] {
        let caller = if role == "user" {
            caller.clone()
        } else {
            user_with_role("admin").await
        };
        for (body, field) in &cases {
            let res = create(body.clone())
                .as_user(&caller)
                .send(&routes::CREATE_POST)
                .await;
            assert_eq!(res.status, 422, "{role}: {body} -> {}", res.body);
            assert_invalid_field(&res, field);
        }
        assert_eq!(count_by(&caller).await, 0, "{role}: a post was inserted");
    }
    assert_eq!(
        count_by(&other).await,
        0,
        "a post was forged for another user"
    );
}

#[tokio::test]
async fn create_with_an_invalid_title_or_body_is_422_naming_it_and_inserts_nothing() {
    let caller = user_with_role("user").await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "body": "no title" }), "title"),
        (json!({ "title": "" }), "title"),
        (json!({ "title": "x".repeat(201) }), "title"),
        (json!({ "title": "   \t " }), "title"),
        (json!({ "title": "bell\u{7}title" }), "title"),
        (json!({ "title": "new\nline" }), "title"),
        (json!({ "title": "nul\u{0}byte" }), "title"),
        (json!({ "title": 42 }), "title"),
        (json!({ "title": null }), "title"),
        (json!({ "title": "ok", "body": "b".repeat(20001) }), "body"),
        (json!({ "title": "ok", "body": "nul\u{0}byte" }), "body"),
        (json!({ "title": "ok", "body": 7 }), "body"),
    ];
    for (body, field) in cases {
        let res = create(body.clone())
            .as_user(&caller)
            .send(&routes::CREATE_POST)
            .await;
        assert_eq!(res.status, 422, "{body} -> {}", res.body);
        assert_invalid_field(&res, field);
    }
    assert_eq!(count_by(&caller).await, 0);

    // Malformed JSON and the wrong media type are not 422.
    let res = Req::post("/posts")
        .raw_body("application/json", r#"{"title": "x""#)
        .as_user(&caller)
        .send(&routes::CREATE_POST)
        .await;
    assert_err(&res, 400, "BAD_REQUEST");
    let res = Req::post("/posts")
        .raw_body("text/plain", r#"{"title": "x"}"#)
        .as_user(&caller)
        .send(&routes::CREATE_POST)
        .await;
    assert_err(&res, 415, "UNSUPPORTED_MEDIA_TYPE");
    assert_eq!(count_by(&caller).await, 0);
}

// ---------------------------------------------------------------------------------------
// GET /posts/{id}
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn get_of_another_users_draft_is_404_for_a_user_and_200_for_editors_and_admins() {
    let author = user_with_role("user").await;
    let id = post(&author, "secret draft", false).await;
    let stored = row(id).await.unwrap();

    let stranger = user_with_role("user").await;
    let res = get(id).as_user(&stranger).send(&routes::GET_POST).await;
    assert_err(&res, 404, "NOT_FOUND");
    assert!(!res.body.to_string().contains("secret draft"));

    for who in [
        author.clone(),
        user_with_role("editor").await,
        user_with_role("admin").await,
    ] {
        let res = get(id).as_user(&who).send(&routes::GET_POST).await;
        assert_post_body(res.assert_ok(200), &stored);
    }
}

#[tokio::test]
async fn get_of_a_published_post_is_200_for_every_role() {
    let author = user_with_role("user").await;
    let id = post(&author, "public news", true).await;
    let stored = row(id).await.unwrap();
    assert!(stored.published_at.is_some());
    for role in ["user", "editor", "admin"] {
        let who = user_with_role(role).await;
        let res = get(id).as_user(&who).send(&routes::GET_POST).await;
        assert_post_body(res.assert_ok(200), &stored);
    }
}

#[tokio::test]
async fn get_of_a_missing_or_malformed_id_is_404() {
    let caller = user_with_role("admin").await;
    for id in [
        Uuid::new_v4().to_string(),
        "not-a-uuid".to_owned(),
        "1".to_owned(),
        "' or 1=1 --".to_owned(),
        "eq.x".to_owned(),
    ] {
        let res = get(&id).as_user(&caller).send(&routes::GET_POST).await;
        assert_eq!(res.status, 404, "{id} -> {}", res.body);
        assert_err(&res, 404, "NOT_FOUND");
    }
}

// ---------------------------------------------------------------------------------------
// PATCH /posts/{id}
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn update_by_the_author_is_200_and_changes_the_row() {
    let author = user_with_role("user").await;
    for published in [false, true] {
        let id = aged_post(&author, "Before", published).await;
        let before = row(id).await.unwrap();
        let res = patch(
            id,
            json!({ "title": "  After  ", "body": "new body\nline" }),
        )
        .as_user(&author)
        .send(&routes::UPDATE_POST)
        .await;
        let data = res.assert_ok(200).clone();
        let after = row(id).await.unwrap();
        assert_eq!(after.title, "After");
        assert_eq!(after.body, "new body\nline");
        assert_eq!(after.author_id, author.id);
        assert_eq!(after.published, published);
        assert_eq!(after.published_at, before.published_at);
        assert_eq!(after.created_at, before.created_at);
        assert!(after.updated_at > before.updated_at, "updated_at not moved");
        assert_post_body(&data, &after);
    }

    // Only the title: the body stays.
    let id = aged_post(&author, "Title only", false).await;
    let res = patch(id, json!({ "title": "Renamed" }))
        .as_user(&author)
        .send(&routes::UPDATE_POST)
        .await;
    res.assert_ok(200);
    let after = row(id).await.unwrap();
    assert_eq!(after.title, "Renamed");
    assert_eq!(after.body, "original body");
}

#[tokio::test]
async fn update_by_another_user_is_403_on_a_published_post_and_404_on_a_draft() {
    let author = user_with_role("user").await;
    let stranger = user_with_role("user").await;
    let published = aged_post(&author, "Published", true).await;
    let draft = aged_post(&author, "Draft", false).await;
    let before_published = row(published).await.unwrap();
    let before_draft = row(draft).await.unwrap();

    let res = patch(published, json!({ "title": "Defaced" }))
        .as_user(&stranger)
        .send(&routes::UPDATE_POST)
        .await;
    assert_err(&res, 403, "FORBIDDEN");

    let res = patch(draft, json!({ "title": "Defaced" }))
        .as_user(&stranger)
        .send(&routes::UPDATE_POST)
        .await;
    assert_err(&res, 404, "NOT_FOUND");

    assert_eq!(row(published).await.unwrap(), before_published);
    assert_eq!(row(draft).await.unwrap(), before_draft);
}

#[tokio::test]
async fn update_by_an_editor_or_admin_of_someone_elses_post_is_200() {
    let author = user_with_role("user").await;
    for role in ["editor", "admin"] {
        let who = user_with_role(role).await;
        for published in [false, true] {
            let id = aged_post(&author, "Original", published).await;
            let before = row(id).await.unwrap();
            let res = patch(id, json!({ "body": format!("edited by {role}") }))
                .as_user(&who)
                .send(&routes::UPDATE_POST)
                .await;
            let data = res.assert_ok(200).clone();
            let after = row(id).await.unwrap();
            assert_eq!(after.body, format!("edited by {role}"));
            assert_eq!(after.title, "Original");
            assert_eq!(after.author_id, author.id, "{role}: the author changed");
            assert_eq!(after.published, published);
            assert_eq!(after.published_at, before.published_at);
            assert!(after.updated_at > before.updated_at);
            assert_post_body(&data, &after);
        }
    }
}

#[tokio::test]
async fn update_refuses_fields_the_client_may_not_set_and_empty_bodies() {
    let author = user_with_role("user").await;
    let other = user_with_role("user").await;
    let editor = user_with_role("editor").await;
    let id = aged_post(&author, "Guarded", false).await;
    let before = row(id).await.unwrap();

    let cases: Vec<(Value, &str)> = vec![
        (json!({ "published": true }), "published"),
        (json!({ "title": "x", "published": true }), "published"),
        (json!({ "authorId": other.id }), "authorId"),
        (json!({ "author_id": other.id }), "author_id"),
        (json!({ "id": Uuid::new_v4() }), "id"),
        (
            json!({ "publishedAt": "2000-01-01T00:00:00Z" }),
            "publishedAt",
        ),
        (json!({}), "body"),
        (json!({ "title": "" }), "title"),
        (json!({ "title": "x".repeat(201) }), "title"),
        (json!({ "title": "tab\there" }), "title"),
        (json!({ "body": "b".repeat(20001) }), "body"),
    ];
    for who in [&author, &editor] {
        for (body, field) in &cases {
            let res = patch(id, body.clone())
                .as_user(who)
                .send(&routes::UPDATE_POST)
                .await;
            assert_eq!(res.status, 422, "{body} -> {}", res.body);
            assert_invalid_field(&res, field);
        }
    }
    assert_eq!(row(id).await.unwrap(), before);
}

#[tokio::test]
async fn update_of_a_missing_post_is_404() {
    let editor = user_with_role("editor").await;
    for id in [Uuid::new_v4().to_string(), "nope".to_owned()] {
        let res = patch(&id, json!({ "title": "Ghost" }))
            .as_user(&editor)
            .send(&routes::UPDATE_POST)
            .await;
        assert_err(&res, 404, "NOT_FOUND");
    }
}

// ---------------------------------------------------------------------------------------
// POST /posts/{id}/publish
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn publish_by_a_user_is_403_even_for_the_author() {
    let author = user_with_role("user").await;
    let stranger = user_with_role("user").await;
    let id = aged_post(&author, "Not yet", false).await;
    let before = row(id).await.unwrap();
    for who in [&author, &stranger] {
        let res = publish(id).as_user(who).send(&routes::PUBLISH_POST).await;
        assert_err(&res, 403, "FORBIDDEN");
    }
    let after = row(id).await.unwrap();
    assert!(!after.published);
    assert_eq!(after.published_at, None);
    assert_eq!(after, before);
}

#[tokio::test]
async fn publish_by_an_editor_or_admin_is_200_and_sets_published_at() {
    let author = user_with_role("user").await;
    for role in ["editor", "admin"] {
        let who = user_with_role(role).await;
        let id = aged_post(&author, "Going live", false).await;
        let started = Utc::now();
        let res = publish(id).as_user(&who).send(&routes::PUBLISH_POST).await;
        let data = res.assert_ok(200).clone();
        let after = row(id).await.unwrap();
        assert!(after.published, "{role}");
        let at = after.published_at.expect("published_at set");
        assert!(
            (at - started).num_seconds().abs() < 60,
            "published_at {at} is not now ({started})"
        );
        assert_eq!(after.author_id, author.id, "{role}: the author changed");
        assert_eq!(after.title, "Going live");
        assert_eq!(data["published"], true);
        assert_post_body(&data, &after);

        // Publishing again keeps the first publication time.
        let res = publish(id).as_user(&who).send(&routes::PUBLISH_POST).await;
        let data = res.assert_ok(200).clone();
        let again = row(id).await.unwrap();
        assert!(again.published);
        assert_eq!(again.published_at, Some(at));
        assert_post_body(&data, &again);

        // Now every user can read it.
        let reader = user_with_role("user").await;
        let res = get(id).as_user(&reader).send(&routes::GET_POST).await;
        assert_post_body(res.assert_ok(200), &again);
    }
}

#[tokio::test]
async fn publish_of_a_missing_post_is_404() {
    let editor = user_with_role("editor").await;
    for id in [Uuid::new_v4().to_string(), "nope".to_owned()] {
        let res = publish(&id)
            .as_user(&editor)
            .send(&routes::PUBLISH_POST)
            .await;
        assert_err(&res, 404, "NOT_FOUND");
    }
}

// ---------------------------------------------------------------------------------------
// DELETE /posts/{id}
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn delete_by_the_author_is_204_and_removes_the_row() {
    let author = user_with_role("user").await;
    for published in [false, true] {
        let id = post(&author, "Mine", published).await;
        let res = delete(id).as_user(&author).send(&routes::DELETE_POST).await;
        res.assert_ok(204);
        assert_eq!(res.body, Value::Null, "a 204 has no body");
        assert_eq!(row(id).await, None, "the row is still there");
    }
    assert_eq!(count_by(&author).await, 0);

    // Deleting it again is 404.
    let id = post(&author, "Twice", false).await;
    delete(id)
        .as_user(&author)
        .send(&routes::DELETE_POST)
        .await
        .assert_ok(204);
    let res = delete(id).as_user(&author).send(&routes::DELETE_POST).await;
    assert_err(&res, 404, "NOT_FOUND");
}

#[tokio::test]
async fn delete_by_another_user_is_403_on_a_published_post_and_404_on_a_draft() {
    let author = user_with_role("user").await;
    let stranger = user_with_role("user").await;
    let published = post(&author, "Published", true).await;
    let draft = post(&author, "Draft", false).await;
    let before = (row(published).await.unwrap(), row(draft).await.unwrap());

    let res = delete(published)
        .as_user(&stranger)
        .send(&routes::DELETE_POST)
        .await;
    assert_err(&res, 403, "FORBIDDEN");
    let res = delete(draft)
        .as_user(&stranger)
        .send(&routes::DELETE_POST)
        .await;
    assert_err(&res, 404, "NOT_FOUND");

    assert_eq!(
        (row(published).await.unwrap(), row(draft).await.unwrap()),
        before
    );
}

#[tokio::test]
async fn delete_by_an_editor_of_someone_elses_post_is_403() {
    let author = user_with_role("user").await;
    let editor = user_with_role("editor").await;
    for published in [false, true] {
        let id = post(&author, "Kept", published).await;
        let before = row(id).await.unwrap();
        let res = delete(id).as_user(&editor).send(&routes::DELETE_POST).await;
        assert_err(&res, 403, "FORBIDDEN");
        assert_eq!(row(id).await, Some(before));
    }
    // An editor may delete their own post (the author rule).
    let own = post(&editor, "Editor's own", false).await;
    delete(own)
        .as_user(&editor)
        .send(&routes::DELETE_POST)
        .await
        .assert_ok(204);
    assert_eq!(row(own).await, None);
}

#[tokio::test]
async fn delete_by_an_admin_of_someone_elses_post_is_204() {
    let author = user_with_role("user").await;
    let admin = user_with_role("admin").await;
    for published in [false, true] {
        let id = post(&author, "Removed", published).await;
        let res = delete(id).as_user(&admin).send(&routes::DELETE_POST).await;
        res.assert_ok(204);
        assert_eq!(row(id).await, None);
    }
    assert_eq!(count_by(&author).await, 0);

    let res = delete(Uuid::new_v4())
        .as_user(&admin)
        .send(&routes::DELETE_POST)
        .await;
    assert_err(&res, 404, "NOT_FOUND");
    let res = delete("not-a-uuid")
        .as_user(&admin)
        .send(&routes::DELETE_POST)
        .await;
    assert_err(&res, 404, "NOT_FOUND");
}

// ---------------------------------------------------------------------------------------
// Every route: credentials, PostgREST down
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn every_post_route_without_a_valid_token_is_401() {
    let author = user_with_role("admin").await;
    let id = aged_post(&author, "Guarded", false).await;
    let before = row(id).await.unwrap();

    for route in post_routes() {
        let credentials: [(&str, Option<String>); 4] = [
            ("no token", None),
            ("expired token", Some(expired_token(&author))),
            ("tampered token", Some(tampered_token(&author))),
            (
                "anon role",
                Some(token(
                    json!({ "sub": author.id, "role": "anon", "user_role": "admin" }),
                )),
            ),
        ];
        for (what, credential) in credentials {
            let mut req = request_for(route, id);
            if let Some(credential) = &credential {
                req = req.bearer(credential);
            }
            let res = req.send(route).await;
            assert_eq!(
                res.status, 401,
                "{} with {what}: {}",
                route.function, res.body
            );
            assert_err(&res, 401, "UNAUTHORIZED");
            let challenge = res
                .header("www-authenticate")
                .unwrap_or_else(|| panic!("{} with {what}: no www-authenticate", route.function));
            assert!(challenge.starts_with("Bearer"), "{challenge}");
        }
    }
    assert_eq!(row(id).await, Some(before), "an unauthenticated call wrote");
    assert_eq!(count_by(&author).await, 1);
}

#[tokio::test]
async fn every_post_route_is_503_with_a_clean_body_when_postgrest_is_down() {
    let author = user_with_role("admin").await;
    let id = aged_post(&author, "Offline", false).await;
    let before = row(id).await.unwrap();
    let app = app_with_unreachable_postgrest();
    for route in post_routes() {
        let req = request_for(route, id).as_user(&author).build();
        let res = send_with(&app, route, req).await;
        assert_eq!(res.status, 503, "{}: {}", route.function, res.body);
        assert_err(&res, 503, "SERVICE_UNAVAILABLE");
        let text = res.body.to_string().to_lowercase();
        for needle in [
            "postgrest",
            "127.0.0.1",
            "connection",
            "localhost",
            "reqwest",
        ] {
            assert!(
                !text.contains(needle),
                "{}: body mentions {needle}: {text}",
                route.function
            );
        }
    }
    assert_eq!(row(id).await, Some(before));
    assert_eq!(count_by(&author).await, 1);
}
