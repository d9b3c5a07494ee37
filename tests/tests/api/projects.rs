//! Projects: POST /projects, GET /projects, GET/PATCH/DELETE /projects/{id}.
//!
//! Every test makes its own users, workspaces and projects, asserts the status and the
//! body, and then looks in the database (as the superuser) to check what really
//! happened. The last tests skip the functions and talk to PostgREST directly, to show
//! that row-level security and column privileges hold on their own.

use chrono::{DateTime, Utc};
use functions::routes;
use integration_tests::*;
use serde_json::{json, Value};
use shared::Route;
use uuid::Uuid;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// A workspace with one user of each role, and one user who belongs to none.
struct Team {
    ws: Uuid,
    admin: TestUser,
    editor: TestUser,
    member: TestUser,
    outsider: TestUser,
}

async fn team() -> Team {
    let admin = user().await;
    let editor = user().await;
    let member = user().await;
    let outsider = user().await;
    let ws = workspace(&admin).await;
    join(ws, &editor, "editor").await;
    join(ws, &member, "member").await;
    Team {
        ws,
        admin,
        editor,
        member,
        outsider,
    }
}

/// A project row as stored.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    id: Uuid,
    workspace_id: Uuid,
    name: String,
    description: Option<String>,
    created_by: Option<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

async fn row(id: Uuid) -> Option<Row> {
    db().await
        .query_opt(
            "select id, workspace_id, name, description, created_by, created_at, updated_at \
             from public.projects where id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .map(|r| Row {
            id: r.get(0),
            workspace_id: r.get(1),
            name: r.get(2),
            description: r.get(3),
            created_by: r.get(4),
            created_at: r.get(5),
            updated_at: r.get(6),
        })
}

async fn count_in(ws: Uuid) -> i64 {
    db().await
        .query_one(
            "select count(*) from public.projects where workspace_id = $1",
            &[&ws],
        )
        .await
        .unwrap()
        .get(0)
}

/// All rows in the workspace, for "nothing changed" checks.
async fn snapshot(ws: Uuid) -> Vec<Row> {
    let ids: Vec<Uuid> = db()
        .await
        .query(
            "select id from public.projects where workspace_id = $1 order by id",
            &[&ws],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut rows = Vec::new();
    for id in ids {
        rows.push(row(id).await.unwrap());
    }
    rows
}

/// A project with a description, created and last updated an hour ago (so that an
/// update visibly moves `updated_at`).
async fn aged_project(ws: Uuid, creator: &TestUser, name: &str, description: Option<&str>) -> Uuid {
    let id = Uuid::new_v4();
    db().await
        .execute(
            "insert into public.projects \
             (id, workspace_id, name, description, created_by, created_at, updated_at) \
             values ($1, $2, $3::text, $4::text, $5, now() - interval '1 hour', now() - interval '1 hour')",
            &[&id, &ws, &name, &description, &creator.id],
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

/// The body is the camelCase project, exactly the stored row.
#[track_caller]
fn assert_project_body(data: &Value, row: &Row) {
    let mut keys: Vec<&str> = data
        .as_object()
        .expect("project object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "createdAt",
            "createdBy",
            "description",
            "id",
            "name",
            "updatedAt",
            "workspaceId"
        ],
        "body: {data}"
    );
    assert_eq!(data["id"], json!(row.id));
    assert_eq!(data["workspaceId"], json!(row.workspace_id));
    assert_eq!(data["name"], json!(row.name));
    assert_eq!(data["description"], json!(row.description));
    assert_eq!(data["createdBy"], json!(row.created_by));
    assert_eq!(ts(&data["createdAt"]), row.created_at);
    assert_eq!(ts(&data["updatedAt"]), row.updated_at);
}

/// The project routes.
fn project_routes() -> Vec<&'static Route> {
    routes_under("/projects")
}

/// A valid request for the route on real data, without credentials.
fn request_for(route: &Route, ws: Uuid, project: Uuid) -> Req {
    sample_request_with(
        route,
        &[("id", project)],
        json!({ "name": "Sneaky", "workspaceId": ws }),
    )
}

fn create(body: Value) -> Req {
    Req::post("/projects").json(body)
}

fn patch(id: impl ToString, body: Value) -> Req {
    Req::patch("/projects/{id}").param("id", id).json(body)
}

// ---------------------------------------------------------------------------------------
// POST /projects
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn create_by_admin_is_201_and_stores_the_row() {
    let t = team().await;
    let res = create(json!({
        "name": "  Apollo  ",
        "description": "line one\nline two\twith a tab",
        "workspaceId": t.ws,
    }))
    .as_user(&t.admin)
    .send(&routes::CREATE_PROJECT)
    .await;
    let data = res.assert_ok(201).clone();

    let id = Uuid::parse_str(data["id"].as_str().expect("id")).unwrap();
    let stored = row(id).await.expect("row inserted");
    assert_eq!(stored.workspace_id, t.ws);
    assert_eq!(stored.name, "Apollo", "the name is stored trimmed");
    assert_eq!(
        stored.description.as_deref(),
        Some("line one\nline two\twith a tab")
    );
    assert_eq!(stored.created_by, Some(t.admin.id));
    assert_eq!(stored.created_at, stored.updated_at);
    assert_project_body(&data, &stored);
    assert_eq!(count_in(t.ws).await, 1);
}

#[tokio::test]
async fn create_by_editor_is_201_with_the_editor_as_creator() {
    let t = team().await;
    let res = create(json!({ "name": "Gemini", "workspaceId": t.ws }))
        .as_user(&t.editor)
        .send(&routes::CREATE_PROJECT)
        .await;
    let data = res.assert_ok(201).clone();
    assert_eq!(data["createdBy"], json!(t.editor.id));
    assert_eq!(data["description"], Value::Null);

    let id = Uuid::parse_str(data["id"].as_str().unwrap()).unwrap();
    let stored = row(id).await.expect("row inserted");
    assert_eq!(stored.created_by, Some(t.editor.id));
    assert_eq!(stored.name, "Gemini");
    assert_eq!(stored.description, None);
    assert_project_body(&data, &stored);
}

#[tokio::test]
async fn create_accepts_the_boundary_lengths_counted_in_characters() {
    let t = team().await;
    // 100 two-byte characters (200 bytes) and 1000 characters of description.
    let name = "é".repeat(100);
    let description = "d".repeat(1000);
    let res = create(json!({ "name": name, "description": description, "workspaceId": t.ws }))
        .as_user(&t.admin)
        .send(&routes::CREATE_PROJECT)
        .await;
    let data = res.assert_ok(201).clone();
    let id = Uuid::parse_str(data["id"].as_str().unwrap()).unwrap();
    let stored = row(id).await.expect("row inserted");
    assert_eq!(stored.name, name);
    assert_eq!(stored.description.as_deref(), Some(description.as_str()));
}

#[tokio::test]
async fn the_name_is_checked_as_it_is_stored_trimmed() {
    let t = team().await;
    // 100 characters once trimmed: accepted, and stored without the spaces.
    let name = "n".repeat(100);
    let res = create(json!({ "name": format!("  {name} "), "workspaceId": t.ws }))
        .as_user(&t.admin)
        .send(&routes::CREATE_PROJECT)
        .await;
    let data = res.assert_ok(201).clone();
    let id = Uuid::parse_str(data["id"].as_str().unwrap()).unwrap();
    assert_eq!(row(id).await.expect("row inserted").name, name);
    // 101 once trimmed: refused, nothing written.
    let res = create(json!({ "name": format!(" {name}x "), "workspaceId": t.ws }))
        .as_user(&t.admin)
        .send(&routes::CREATE_PROJECT)
        .await;
    assert_invalid_field(&res, "name");
    assert_eq!(count_in(t.ws).await, 1);
}

#[tokio::test]
async fn create_by_a_plain_member_is_403_and_inserts_nothing() {
    let t = team().await;
    let res = create(json!({ "name": "Nope", "workspaceId": t.ws }))
        .as_user(&t.member)
        .send(&routes::CREATE_PROJECT)
        .await;
    assert_err(&res, 403, "FORBIDDEN");
    assert_eq!(count_in(t.ws).await, 0);
}

#[tokio::test]
async fn create_in_a_workspace_the_caller_is_not_in_is_404_and_inserts_nothing() {
    let t = team().await;
    let res = create(json!({ "name": "Intruder", "workspaceId": t.ws }))
        .as_user(&t.outsider)
        .send(&routes::CREATE_PROJECT)
        .await;
    assert_err(&res, 404, "NOT_FOUND");
    assert_eq!(count_in(t.ws).await, 0);

    // A workspace that does not exist at all answers the same.
    let missing = Uuid::new_v4();
    let res = create(json!({ "name": "Ghost", "workspaceId": missing }))
        .as_user(&t.admin)
        .send(&routes::CREATE_PROJECT)
        .await;
    assert_err(&res, 404, "NOT_FOUND");
    assert_eq!(count_in(missing).await, 0);
}

#[tokio::test]
async fn create_with_invalid_fields_is_422_naming_the_field_and_inserts_nothing() {
    let t = team().await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "workspaceId": t.ws }), "name"),
        (json!({ "name": "", "workspaceId": t.ws }), "name"),
        (
            json!({ "name": "x".repeat(101), "workspaceId": t.ws }),
            "name",
        ),
        (json!({ "name": "   \t ", "workspaceId": t.ws }), "name"),
        (
            json!({ "name": "bell\u{7}name", "workspaceId": t.ws }),
            "name",
        ),
        (json!({ "name": "new\nline", "workspaceId": t.ws }), "name"),
        (json!({ "name": 42, "workspaceId": t.ws }), "name"),
        (
            json!({ "name": "ok", "description": "d".repeat(1001), "workspaceId": t.ws }),
            "description",
        ),
        (
            json!({ "name": "ok", "description": "nul\u{0}byte", "workspaceId": t.ws }),
            "description",
        ),
        (
            json!({ "name": "ok", "workspaceId": "not-a-uuid" }),
            "workspaceId",
        ),
        (json!({ "name": "ok", "workspaceId": 12 }), "workspaceId"),
        (json!({ "name": "ok" }), "workspaceId"),
    ];
    for (body, field) in cases {
        let res = create(body.clone())
            .as_user(&t.admin)
            .send(&routes::CREATE_PROJECT)
            .await;
        assert_eq!(res.status, 422, "{body} -> {}", res.body);
        assert_invalid_field(&res, field);
    }
    assert_eq!(count_in(t.ws).await, 0);
}

#[tokio::test]
async fn create_refuses_fields_the_client_may_not_set() {
    let t = team().await;
    let other = user().await;
    let ws2 = workspace(&t.admin).await;
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({ "name": "Forged", "workspaceId": t.ws, "createdBy": other.id }),
            "createdBy",
        ),
        (
            json!({ "name": "Forged", "workspaceId": t.ws, "id": Uuid::new_v4() }),
            "id",
        ),
        (
            json!({ "name": "Forged", "workspaceId": t.ws, "workspace_id": ws2 }),
            "workspace_id",
        ),
        (
            json!({ "name": "Forged", "workspaceId": t.ws, "createdAt": "2000-01-01T00:00:00Z" }),
            "createdAt",
        ),
    ];
    for (body, field) in cases {
        let res = create(body.clone())
            .as_user(&t.admin)
            .send(&routes::CREATE_PROJECT)
            .await;
        assert_eq!(res.status, 422, "{body} -> {}", res.body);
        assert_invalid_field(&res, field);
    }
    assert_eq!(count_in(t.ws).await, 0);
    assert_eq!(count_in(ws2).await, 0);
    let by_other: i64 = db()
        .await
        .query_one(
            "select count(*) from public.projects where created_by = $1",
            &[&other.id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(by_other, 0);
}

#[tokio::test]
async fn create_with_a_bad_body_is_400_415_or_413_and_inserts_nothing() {
    let t = team().await;
    let valid = json!({ "name": "Valid", "workspaceId": t.ws }).to_string();

    for malformed in [
        r#"{"name": "x", "workspaceId": "#,
        "{name: x}",
        r#"{"name" "x"}"#,
        "   ",
    ] {
        let res = Req::post("/projects")
            .raw_body("application/json", malformed)
            .as_user(&t.admin)
            .send(&routes::CREATE_PROJECT)
            .await;
        assert_err(&res, 400, "BAD_REQUEST");
    }

    // Trailing garbage after a valid document is malformed too.
    let res = Req::post("/projects")
        .raw_body("application/json", &format!("{valid} x"))
        .as_user(&t.admin)
        .send(&routes::CREATE_PROJECT)
        .await;
    assert_err(&res, 400, "BAD_REQUEST");

    for content_type in ["text/plain", "application/x-www-form-urlencoded", ""] {
        let res = Req::post("/projects")
            .raw_body(content_type, &valid)
            .as_user(&t.admin)
            .send(&routes::CREATE_PROJECT)
            .await;
        assert_err(&res, 415, "UNSUPPORTED_MEDIA_TYPE");
    }

    // A charset parameter is fine.
    let res = Req::post("/projects")
        .raw_body("application/json; charset=utf-8", &valid)
        .as_user(&t.admin)
        .send(&routes::CREATE_PROJECT)
        .await;
    res.assert_ok(201);
    assert_eq!(count_in(t.ws).await, 1);

    let huge = json!({
        "name": "Big",
        "description": "x".repeat(65 * 1024),
        "workspaceId": t.ws,
    });
    let res = create(huge)
        .as_user(&t.admin)
        .send(&routes::CREATE_PROJECT)
        .await;
    assert_err(&res, 413, "PAYLOAD_TOO_LARGE");
    assert_eq!(count_in(t.ws).await, 1, "only the charset request inserted");
}

// ---------------------------------------------------------------------------------------
// GET /projects
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn list_paginates_newest_first() {
    let t = team().await;
    // 25 projects, p00 the newest and p24 the oldest, inserted in a scrambled order so
    // that insertion order cannot pass for "newest first".
    let db = db().await;
    for k in 0..25i32 {
        let i = (k * 7) % 25;
        db.execute(
            "insert into public.projects (workspace_id, name, created_by, created_at) \
             values ($1, $2::text, $3, now() - make_interval(mins => $4))",
            &[&t.ws, &format!("p{i:02}"), &t.admin.id, &i],
        )
        .await
        .unwrap();
    }

    let names = |data: &Value| -> Vec<String> {
        data.as_array()
            .expect("data array")
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    };

    let res = Req::get("/projects")
        .query("workspaceId", t.ws)
        .query("page", 3)
        .query("pageSize", 10)
        .as_user(&t.member)
        .send(&routes::LIST_PROJECTS)
        .await;
    let data = res.assert_ok(200).clone();
    assert_eq!(names(&data), ["p20", "p21", "p22", "p23", "p24"]);
    assert_eq!(
        res.body["pagination"],
        json!({ "page": 3, "pageSize": 10, "total": 25, "totalPages": 3 })
    );
    for item in data.as_array().unwrap() {
        let id = Uuid::parse_str(item["id"].as_str().unwrap()).unwrap();
        assert_project_body(item, &row(id).await.unwrap());
    }

    // Pages 1..3 together are every project exactly once, newest first.
    let mut all = Vec::new();
    for page in 1..=3 {
        let res = Req::get("/projects")
            .query("workspaceId", t.ws)
            .query("page", page)
            .query("pageSize", 10)
            .as_user(&t.member)
            .send(&routes::LIST_PROJECTS)
            .await;
        all.extend(names(res.assert_ok(200)));
    }
    let expected: Vec<String> = (0..25).map(|i| format!("p{i:02}")).collect();
    assert_eq!(all, expected);

    // Defaults: page 1, 20 per page.
    let res = Req::get("/projects")
        .query("workspaceId", t.ws)
        .as_user(&t.member)
        .send(&routes::LIST_PROJECTS)
        .await;
    assert_eq!(res.assert_ok(200).as_array().unwrap().len(), 20);
    assert_eq!(
        res.body["pagination"],
        json!({ "page": 1, "pageSize": 20, "total": 25, "totalPages": 2 })
    );

    // A page past the end is an empty page, not an error.
    let res = Req::get("/projects")
        .query("workspaceId", t.ws)
        .query("page", 4)
        .query("pageSize", 10)
        .as_user(&t.member)
        .send(&routes::LIST_PROJECTS)
        .await;
    assert_eq!(res.assert_ok(200), &json!([]));
    assert_eq!(res.body["pagination"]["total"], 25);
}

#[tokio::test]
async fn list_of_an_empty_workspace_is_an_empty_page() {
    let t = team().await;
    let res = Req::get("/projects")
        .query("workspaceId", t.ws)
        .as_user(&t.editor)
        .send(&routes::LIST_PROJECTS)
        .await;
    assert_eq!(res.assert_ok(200), &json!([]));
    assert_eq!(
        res.body["pagination"],
        json!({ "page": 1, "pageSize": 20, "total": 0, "totalPages": 0 })
    );
}

#[tokio::test]
async fn list_without_workspace_id_returns_only_the_callers_workspaces() {
    let caller = user().await;
    let stranger = user().await;
    // The caller is admin of one workspace and a plain member of another.
    let own = workspace(&caller).await;
    let other_admin = user().await;
    let joined = workspace(&other_admin).await;
    join(joined, &caller, "member").await;
    // A third workspace the caller is not in.
    let foreign = workspace(&stranger).await;

    let mut expected = vec![
        project(own, &caller, "own-1").await,
        project(own, &caller, "own-2").await,
        project(joined, &other_admin, "joined-1").await,
    ];
    let hidden = [
        project(foreign, &stranger, "foreign-1").await,
        project(foreign, &stranger, "foreign-2").await,
    ];

    let res = Req::get("/projects")
        .query("pageSize", 100)
        .as_user(&caller)
        .send(&routes::LIST_PROJECTS)
        .await;
    let data = res.assert_ok(200);
    let mut got: Vec<Uuid> = data
        .as_array()
        .unwrap()
        .iter()
        .map(|p| Uuid::parse_str(p["id"].as_str().unwrap()).unwrap())
        .collect();
    for p in data.as_array().unwrap() {
        let ws = Uuid::parse_str(p["workspaceId"].as_str().unwrap()).unwrap();
        assert!(
            ws == own || ws == joined,
            "project of another workspace: {p}"
        );
    }
    for id in hidden {
        assert!(!got.contains(&id), "foreign project {id} listed");
    }
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    assert_eq!(res.body["pagination"]["total"], 3);

    // The stranger sees only their own two.
    let res = Req::get("/projects")
        .as_user(&stranger)
        .send(&routes::LIST_PROJECTS)
        .await;
    assert_eq!(res.assert_ok(200).as_array().unwrap().len(), 2);
    assert_eq!(res.body["pagination"]["total"], 2);
}

#[tokio::test]
async fn list_of_a_workspace_the_caller_is_not_in_is_404() {
    let t = team().await;
    project(t.ws, &t.admin, "secret").await;
    let res = Req::get("/projects")
        .query("workspaceId", t.ws)
        .as_user(&t.outsider)
        .send(&routes::LIST_PROJECTS)
        .await;
    assert_err(&res, 404, "NOT_FOUND");
    assert!(!res.body.to_string().contains("secret"));

    let res = Req::get("/projects")
        .query("workspaceId", Uuid::new_v4())
        .as_user(&t.admin)
        .send(&routes::LIST_PROJECTS)
        .await;
    assert_err(&res, 404, "NOT_FOUND");
}

#[tokio::test]
async fn list_with_invalid_query_parameters_is_422_naming_the_parameter() {
    let t = team().await;
    let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
        (vec![("pageSize", "0".into())], "pageSize"),
        (vec![("pageSize", "101".into())], "pageSize"),
        (vec![("pageSize", "ten".into())], "pageSize"),
        (vec![("pageSize", "-1".into())], "pageSize"),
        (vec![("page", "0".into())], "page"),
        (vec![("page", "x".into())], "page"),
        (vec![("workspaceId", "not-a-uuid".into())], "workspaceId"),
    ];
    for (params, field) in cases {
        let mut req = Req::get("/projects").query("workspaceId", t.ws);
        if params[0].0 == "workspaceId" {
            req = Req::get("/projects");
        }
        for (k, v) in &params {
            req = req.query(k, v);
        }
        let res = req.as_user(&t.admin).send(&routes::LIST_PROJECTS).await;
        assert_eq!(res.status, 422, "{params:?} -> {}", res.body);
        assert_invalid_field(&res, field);
    }

    // A parameter the route does not know is refused, not ignored.
    let res = Req::get("/projects")
        .query("workspaceId", t.ws)
        .query("sort", "name")
        .as_user(&t.admin)
        .send(&routes::LIST_PROJECTS)
        .await;
    assert_invalid_field(&res, "sort");

    // The limits themselves are fine.
    for size in [1, 100] {
        let res = Req::get("/projects")
            .query("workspaceId", t.ws)
            .query("pageSize", size)
            .as_user(&t.admin)
            .send(&routes::LIST_PROJECTS)
            .await;
        res.assert_ok(200);
        assert_eq!(res.body["pagination"]["pageSize"], size);
    }
}

// ---------------------------------------------------------------------------------------
// GET /projects/{id}
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn get_by_a_plain_member_is_200_with_the_stored_project() {
    let t = team().await;
    let id = aged_project(t.ws, &t.editor, "Mercury", Some("first flights")).await;
    let res = Req::get("/projects/{id}")
        .param("id", id)
        .as_user(&t.member)
        .send(&routes::GET_PROJECT)
        .await;
    let data = res.assert_ok(200);
    let stored = row(id).await.unwrap();
    assert_project_body(data, &stored);
    assert_eq!(data["name"], "Mercury");
    assert_eq!(data["description"], "first flights");
    assert_eq!(data["createdBy"], json!(t.editor.id));
}

#[tokio::test]
async fn get_of_another_workspaces_project_is_404() {
    let t = team().await;
    let id = project(t.ws, &t.admin, "Classified").await;
    let res = Req::get("/projects/{id}")
        .param("id", id)
        .as_user(&t.outsider)
        .send(&routes::GET_PROJECT)
        .await;
    assert_err(&res, 404, "NOT_FOUND");
    assert!(!res.body.to_string().contains("Classified"));

    // Exactly as for an id that does not exist.
    let res = Req::get("/projects/{id}")
        .param("id", Uuid::new_v4())
        .as_user(&t.admin)
        .send(&routes::GET_PROJECT)
        .await;
    assert_err(&res, 404, "NOT_FOUND");
}

#[tokio::test]
async fn a_non_uuid_path_id_is_404_for_get_patch_and_delete() {
    let t = team().await;
    let id = project(t.ws, &t.admin, "Stable").await;
    let before = snapshot(t.ws).await;
    for bad in [
        "1",
        "not-a-uuid",
        "' or 1=1 --",
        "00000000-0000-0000-0000-00000000000g",
    ] {
        let res = Req::get("/projects/{id}")
            .param("id", bad)
            .as_user(&t.admin)
            .send(&routes::GET_PROJECT)
            .await;
        assert_err(&res, 404, "NOT_FOUND");

        let res = patch(bad, json!({ "name": "Changed" }))
            .as_user(&t.admin)
            .send(&routes::UPDATE_PROJECT)
            .await;
        assert_err(&res, 404, "NOT_FOUND");

        let res = Req::delete("/projects/{id}")
            .param("id", bad)
            .as_user(&t.admin)
            .send(&routes::DELETE_PROJECT)
            .await;
        assert_err(&res, 404, "NOT_FOUND");
    }
    assert_eq!(snapshot(t.ws).await, before);
    assert!(row(id).await.is_some());
}

// ---------------------------------------------------------------------------------------
// PATCH /projects/{id}
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn update_by_editor_changes_the_row_and_bumps_updated_at() {
    let t = team().await;
    let id = aged_project(t.ws, &t.admin, "Old name", Some("old description")).await;
    let before = row(id).await.unwrap();

    let res = patch(
        id,
        json!({ "name": "  New name ", "description": "new description" }),
    )
    .as_user(&t.editor)
    .send(&routes::UPDATE_PROJECT)
    .await;
    let data = res.assert_ok(200).clone();

    let after = row(id).await.unwrap();
    assert_eq!(after.name, "New name");
    assert_eq!(after.description.as_deref(), Some("new description"));
    assert!(
        after.updated_at > before.updated_at,
        "updated_at {} not after {}",
        after.updated_at,
        before.updated_at
    );
    assert_eq!(after.created_at, before.created_at);
    assert_eq!(
        after.created_by,
        Some(t.admin.id),
        "the creator is unchanged"
    );
    assert_eq!(after.workspace_id, t.ws);
    assert_project_body(&data, &after);
}

#[tokio::test]
async fn update_of_only_the_name_keeps_the_description() {
    let t = team().await;
    let id = aged_project(t.ws, &t.admin, "Name", Some("keep me")).await;
    let res = patch(id, json!({ "name": "Renamed" }))
        .as_user(&t.admin)
        .send(&routes::UPDATE_PROJECT)
        .await;
    res.assert_ok(200);
    let after = row(id).await.unwrap();
    assert_eq!(after.name, "Renamed");
    assert_eq!(after.description.as_deref(), Some("keep me"));
}

#[tokio::test]
async fn update_with_description_null_clears_it() {
    let t = team().await;
    let id = aged_project(t.ws, &t.admin, "Keep", Some("to be cleared")).await;
    let res = patch(id, json!({ "description": null }))
        .as_user(&t.editor)
        .send(&routes::UPDATE_PROJECT)
        .await;
    let data = res.assert_ok(200).clone();
    assert_eq!(data["description"], Value::Null);
    assert_eq!(data["name"], "Keep");
    let after = row(id).await.unwrap();
    assert_eq!(after.description, None);
    assert_eq!(after.name, "Keep");
    assert_project_body(&data, &after);
}

#[tokio::test]
async fn update_by_a_plain_member_is_403_and_changes_nothing() {
    let t = team().await;
    let id = aged_project(t.ws, &t.admin, "Fixed", Some("fixed")).await;
    let before = row(id).await.unwrap();
    let res = patch(id, json!({ "name": "Hijacked", "description": null }))
        .as_user(&t.member)
        .send(&routes::UPDATE_PROJECT)
        .await;
    assert_err(&res, 403, "FORBIDDEN");
    assert_eq!(row(id).await.unwrap(), before);
}

#[tokio::test]
async fn update_of_another_workspaces_project_is_404_and_changes_nothing() {
    let t = team().await;
    // The intruder is admin of a workspace of their own, just not of this one.
    let _their_own = workspace(&t.outsider).await;
    let id = aged_project(t.ws, &t.admin, "Theirs", Some("theirs")).await;
    let before = row(id).await.unwrap();
    let res = patch(id, json!({ "name": "Mine now" }))
        .as_user(&t.outsider)
        .send(&routes::UPDATE_PROJECT)
        .await;
    assert_err(&res, 404, "NOT_FOUND");
    assert_eq!(row(id).await.unwrap(), before);

    let res = patch(Uuid::new_v4(), json!({ "name": "Nobody" }))
        .as_user(&t.admin)
        .send(&routes::UPDATE_PROJECT)
        .await;
    assert_err(&res, 404, "NOT_FOUND");
}

#[tokio::test]
async fn update_with_invalid_fields_is_422_naming_the_field_and_changes_nothing() {
    let t = team().await;
    let id = aged_project(t.ws, &t.admin, "Untouched", Some("untouched")).await;
    let before = row(id).await.unwrap();
    let cases: Vec<(Value, &str)> = vec![
        (json!({ "name": "" }), "name"),
        (json!({ "name": "x".repeat(101) }), "name"),
        (json!({ "name": "  " }), "name"),
        (json!({ "name": "esc\u{1b}[31m" }), "name"),
        (json!({ "name": 7 }), "name"),
        (json!({ "description": "d".repeat(1001) }), "description"),
        (json!({ "description": "bad\u{8}char" }), "description"),
        (json!({ "description": 7 }), "description"),
    ];
    for (body, field) in cases {
        let res = patch(id, body.clone())
            .as_user(&t.admin)
            .send(&routes::UPDATE_PROJECT)
            .await;
        assert_eq!(res.status, 422, "{body} -> {}", res.body);
        assert_invalid_field(&res, field);
    }
    assert_eq!(row(id).await.unwrap(), before);
}

#[tokio::test]
async fn update_refuses_fields_the_client_may_not_set() {
    let t = team().await;
    let other = user().await;
    // The editor is admin of a second workspace: moving the project there must not work.
    let ws2 = workspace(&t.editor).await;
    let id = aged_project(t.ws, &t.admin, "Anchored", None).await;
    let before = row(id).await.unwrap();
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({ "name": "Moved", "workspaceId": ws2 }),
            "workspaceId",
        ),
        (
            json!({ "name": "Moved", "createdBy": other.id }),
            "createdBy",
        ),
        (json!({ "id": Uuid::new_v4() }), "id"),
        (
            json!({ "name": "Moved", "workspace_id": ws2 }),
            "workspace_id",
        ),
        (json!({ "updatedAt": "2000-01-01T00:00:00Z" }), "updatedAt"),
    ];
    for (body, field) in cases {
        let res = patch(id, body.clone())
            .as_user(&t.editor)
            .send(&routes::UPDATE_PROJECT)
            .await;
        assert_eq!(res.status, 422, "{body} -> {}", res.body);
        assert_invalid_field(&res, field);
    }
    assert_eq!(row(id).await.unwrap(), before);
    assert_eq!(count_in(ws2).await, 0);
}

#[tokio::test]
async fn update_with_an_empty_body_is_422() {
    let t = team().await;
    let id = aged_project(t.ws, &t.admin, "Same", Some("same")).await;
    let before = row(id).await.unwrap();
    let res = patch(id, json!({}))
        .as_user(&t.admin)
        .send(&routes::UPDATE_PROJECT)
        .await;
    let details = res.assert_error(422, "VALIDATION_ERROR");
    assert!(
        details["fields"]
            .as_object()
            .is_some_and(|fields| !fields.is_empty()),
        "body: {}",
        res.body
    );
    assert_no_leak(&res);
    assert_eq!(row(id).await.unwrap(), before);
}

#[tokio::test]
async fn update_with_a_bad_body_is_400_415_or_413_and_changes_nothing() {
    let t = team().await;
    let id = aged_project(t.ws, &t.admin, "Solid", Some("solid")).await;
    let before = row(id).await.unwrap();

    for malformed in [r#"{"name": "#, "{'name': 'x'}", "not json", ""] {
        let res = Req::patch("/projects/{id}")
            .param("id", id)
            .raw_body("application/json", malformed)
            .as_user(&t.admin)
            .send(&routes::UPDATE_PROJECT)
            .await;
        assert_err(&res, 400, "BAD_REQUEST");
    }

    let res = Req::patch("/projects/{id}")
        .param("id", id)
        .raw_body("text/plain", r#"{"name": "Plain"}"#)
        .as_user(&t.admin)
        .send(&routes::UPDATE_PROJECT)
        .await;
    assert_err(&res, 415, "UNSUPPORTED_MEDIA_TYPE");

    // No body and no Content-Type at all.
    let res = Req::patch("/projects/{id}")
        .param("id", id)
        .as_user(&t.admin)
        .send(&routes::UPDATE_PROJECT)
        .await;
    assert_err(&res, 415, "UNSUPPORTED_MEDIA_TYPE");

    let res = patch(id, json!({ "description": "x".repeat(64 * 1024 + 1) }))
        .as_user(&t.admin)
        .send(&routes::UPDATE_PROJECT)
        .await;
    assert_err(&res, 413, "PAYLOAD_TOO_LARGE");

    assert_eq!(row(id).await.unwrap(), before);
}

// ---------------------------------------------------------------------------------------
// DELETE /projects/{id}
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn delete_by_admin_is_204_and_removes_the_row() {
    let t = team().await;
    let id = project(t.ws, &t.editor, "Doomed").await;
    let keep = project(t.ws, &t.editor, "Survivor").await;
    let res = Req::delete("/projects/{id}")
        .param("id", id)
        .as_user(&t.admin)
        .send(&routes::DELETE_PROJECT)
        .await;
    assert_eq!(res.status, 204, "body: {}", res.body);
    assert_security_headers(&res.headers);
    assert_eq!(res.body, Value::Null, "204 has no body");
    assert!(row(id).await.is_none(), "row still there");
    assert!(
        row(keep).await.is_some(),
        "the other project was deleted too"
    );

    // Deleting it again: it is gone.
    let res = Req::delete("/projects/{id}")
        .param("id", id)
        .as_user(&t.admin)
        .send(&routes::DELETE_PROJECT)
        .await;
    assert_err(&res, 404, "NOT_FOUND");
}

#[tokio::test]
async fn delete_by_editor_or_member_is_403_and_keeps_the_row() {
    let t = team().await;
    let id = project(t.ws, &t.editor, "Protected").await;
    let before = row(id).await.unwrap();
    for who in [&t.editor, &t.member] {
        let res = Req::delete("/projects/{id}")
            .param("id", id)
            .as_user(who)
            .send(&routes::DELETE_PROJECT)
            .await;
        assert_err(&res, 403, "FORBIDDEN");
        assert_eq!(row(id).await.as_ref(), Some(&before));
    }
}

#[tokio::test]
async fn delete_of_another_workspaces_project_is_404_and_keeps_the_row() {
    let t = team().await;
    let _their_own = workspace(&t.outsider).await;
    let id = project(t.ws, &t.admin, "Not yours").await;
    let before = row(id).await.unwrap();
    let res = Req::delete("/projects/{id}")
        .param("id", id)
        .as_user(&t.outsider)
        .send(&routes::DELETE_PROJECT)
        .await;
    assert_err(&res, 404, "NOT_FOUND");
    assert_eq!(row(id).await, Some(before));
}

// ---------------------------------------------------------------------------------------
// Unknown fields are named exactly as the client sent them
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn unknown_fields_are_named_exactly_as_sent() {
    let t = team().await;
    let id = project(t.ws, &t.admin, "Named").await;
    let mut results: Vec<(String, Res)> = Vec::new();
    for (body, field) in [
        (
            json!({ "name": "x", "workspaceId": t.ws, "createdBy": t.admin.id }),
            "createdBy",
        ),
        (
            json!({ "name": "x", "workspaceId": t.ws, "id": Uuid::new_v4() }),
            "id",
        ),
        (
            json!({ "name": "x", "workspaceId": t.ws, "workspace_id": t.ws }),
            "workspace_id",
        ),
    ] {
        let res = create(body)
            .as_user(&t.admin)
            .send(&routes::CREATE_PROJECT)
            .await;
        results.push((field.to_owned(), res));
    }
    for (body, field) in [
        (json!({ "name": "x", "workspaceId": t.ws }), "workspaceId"),
        (json!({ "name": "x", "createdBy": t.admin.id }), "createdBy"),
    ] {
        let res = patch(id, body)
            .as_user(&t.admin)
            .send(&routes::UPDATE_PROJECT)
            .await;
        results.push((field.to_owned(), res));
    }
    let res = Req::get("/projects")
        .query("sort", "name")
        .as_user(&t.admin)
        .send(&routes::LIST_PROJECTS)
        .await;
    results.push(("sort".to_owned(), res));

    // Every case is reported, not only the first.
    let wrong: Vec<String> = results
        .iter()
        .filter(|(field, res)| {
            res.status != 422 || res.body["error"]["details"]["fields"].get(field).is_none()
        })
        .map(|(field, res)| format!("{field}: {}", res.body["error"]["details"]))
        .collect();
    assert!(
        wrong.is_empty(),
        "fields not named as sent:\n{}",
        wrong.join("\n")
    );
    assert_eq!(count_in(t.ws).await, 1);
    assert_eq!(row(id).await.unwrap().name, "Named");
}

#[tokio::test]
async fn malformed_json_is_400_even_after_a_mistyped_value() {
    let t = team().await;
    let id = project(t.ws, &t.admin, "Syntax").await;
    let mut wrong = Vec::new();
    for malformed in [
        "[1, 2",
        r#"{"name": 42,"#,
        r#"{"workspaceId": "nope", "name": "#,
    ] {
        let res = Req::post("/projects")
            .raw_body("application/json", malformed)
            .as_user(&t.admin)
            .send(&routes::CREATE_PROJECT)
            .await;
        if res.status != 400 || res.body["error"]["code"] != "BAD_REQUEST" {
            wrong.push(format!(
                "POST {malformed} -> {} {}",
                res.status, res.body["error"]
            ));
        }
        let res = Req::patch("/projects/{id}")
            .param("id", id)
            .raw_body("application/json", malformed)
            .as_user(&t.admin)
            .send(&routes::UPDATE_PROJECT)
            .await;
        if res.status != 400 || res.body["error"]["code"] != "BAD_REQUEST" {
            wrong.push(format!(
                "PATCH {malformed} -> {} {}",
                res.status, res.body["error"]
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "malformed JSON not answered 400:\n{}",
        wrong.join("\n")
    );
    assert_eq!(count_in(t.ws).await, 1);
    assert_eq!(row(id).await.unwrap().name, "Syntax");
}

// ---------------------------------------------------------------------------------------
// Every route: credentials, PostgREST down
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn every_project_route_without_a_valid_token_is_401_with_www_authenticate() {
    let t = team().await;
    let id = aged_project(t.ws, &t.admin, "Guarded", Some("guarded")).await;
    let before = snapshot(t.ws).await;

    for route in project_routes() {
        let credentials: [(&str, Option<String>); 5] = [
            ("no token", None),
            ("expired token", Some(expired_token(&t.admin))),
            ("tampered token", Some(tampered_token(&t.admin))),
            (
                "token signed with another secret",
                Some(sign(
                    &json!({
                        "sub": t.admin.id,
                        "aud": "authenticated",
                        "role": "authenticated",
                        "iss": format!("{}/auth/v1", stack().supabase_url.trim_end_matches('/')),
                        "exp": Utc::now().timestamp() + 3600,
                    }),
                    "not-the-secret-not-the-secret-not-the-secret",
                )),
            ),
            (
                "anon role",
                Some(token(json!({ "sub": t.admin.id, "role": "anon" }))),
            ),
        ];
        for (what, credential) in credentials {
            let mut req = request_for(route, t.ws, id);
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
            assert!(
                challenge.starts_with("Bearer"),
                "{} with {what}: {challenge}",
                route.function
            );
            assert!(res.body.get("data").is_none());
        }
    }
    assert_eq!(
        snapshot(t.ws).await,
        before,
        "an unauthenticated call wrote"
    );
}

#[tokio::test]
async fn every_project_route_is_503_with_a_clean_body_when_postgrest_is_down() {
    let t = team().await;
    let id = aged_project(t.ws, &t.admin, "Offline", None).await;
    let before = snapshot(t.ws).await;
    let app = app_with_unreachable_postgrest();
    for route in project_routes() {
        let req = request_for(route, t.ws, id).as_user(&t.admin).build();
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
    // Also without workspaceId for the list.
    let res = send_with(
        &app,
        &routes::LIST_PROJECTS,
        Req::get("/projects").as_user(&t.member).build(),
    )
    .await;
    assert_err(&res, 503, "SERVICE_UNAVAILABLE");
    assert_eq!(snapshot(t.ws).await, before);
}

#[tokio::test]
async fn a_wrong_method_on_a_project_route_is_405() {
    let t = team().await;
    let id = project(t.ws, &t.admin, "Method").await;
    let res = Req::new(http::Method::PUT, "/projects/{id}")
        .param("id", id)
        .json(json!({ "name": "Put" }))
        .as_user(&t.admin)
        .send(&routes::UPDATE_PROJECT)
        .await;
    assert_err(&res, 405, "METHOD_NOT_ALLOWED");
    assert_eq!(res.header("allow"), Some("PATCH"));
    assert_eq!(row(id).await.unwrap().name, "Method");
}

// ---------------------------------------------------------------------------------------
// Row-level security on its own: straight to PostgREST with the user's token
// ---------------------------------------------------------------------------------------

/// Calls PostgREST directly, as a client holding `token` would.
async fn rest(
    method: reqwest::Method,
    path_and_query: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!(
        "{}/{}",
        stack().rest_url.trim_end_matches('/'),
        path_and_query
    );
    let mut req = reqwest::Client::new()
        .request(method, url)
        .header("authorization", format!("Bearer {token}"))
        .header("prefer", "return=representation");
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.expect("PostgREST answers");
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    let body = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body)
}

#[tokio::test]
async fn rls_refuses_a_direct_insert_by_a_plain_member_or_an_outsider() {
    let t = team().await;
    for who in [&t.member, &t.outsider] {
        let (status, body) = rest(
            reqwest::Method::POST,
            "projects",
            &who.token,
            Some(json!({ "workspace_id": t.ws, "name": "Direct" })),
        )
        .await;
        assert!(
            status == 401 || status == 403,
            "PostgREST let the insert through: {status} {body}"
        );
    }
    assert_eq!(count_in(t.ws).await, 0);

    // The same insert by an editor works, so the refusal above was the policy.
    let (status, body) = rest(
        reqwest::Method::POST,
        "projects",
        &t.editor.token,
        Some(json!({ "workspace_id": t.ws, "name": "Direct" })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body[0]["created_by"], json!(t.editor.id));
    assert_eq!(count_in(t.ws).await, 1);
}

#[tokio::test]
async fn rls_refuses_a_direct_insert_with_a_forged_creator_or_id() {
    let t = team().await;
    let other = user().await;
    for forged in [
        json!({ "workspace_id": t.ws, "name": "Forged", "created_by": other.id }),
        json!({ "workspace_id": t.ws, "name": "Forged", "id": Uuid::new_v4() }),
        json!({ "workspace_id": t.ws, "name": "Forged", "created_at": "2000-01-01T00:00:00Z" }),
    ] {
        let (status, body) = rest(
            reqwest::Method::POST,
            "projects",
            &t.editor.token,
            Some(forged.clone()),
        )
        .await;
        assert!(
            status == 401 || status == 403,
            "{forged} accepted: {status} {body}"
        );
    }
    assert_eq!(count_in(t.ws).await, 0);
}

#[tokio::test]
async fn rls_hides_other_workspaces_projects_from_a_direct_read() {
    let t = team().await;
    let id = project(t.ws, &t.admin, "Hidden").await;
    let _own = workspace(&t.outsider).await;

    let (status, body) = rest(
        reqwest::Method::GET,
        &format!("projects?workspace_id=eq.{}", t.ws),
        &t.outsider.token,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!([]));

    let (status, body) = rest(
        reqwest::Method::GET,
        &format!("projects?id=eq.{id}"),
        &t.outsider.token,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!([]));

    // A member of the workspace does see it.
    let (status, body) = rest(
        reqwest::Method::GET,
        &format!("projects?id=eq.{id}"),
        &t.member.token,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.as_array().map(Vec::len), Some(1), "{body}");
}

#[tokio::test]
async fn rls_refuses_direct_updates_and_deletes_beyond_the_role() {
    let t = team().await;
    let id = aged_project(t.ws, &t.admin, "Guarded", Some("guarded")).await;
    let before = row(id).await.unwrap();
    let ws2 = workspace(&t.editor).await;

    // A member and an outsider cannot rename it: no row matches for them.
    for who in [&t.member, &t.outsider] {
        let (status, body) = rest(
            reqwest::Method::PATCH,
            &format!("projects?id=eq.{id}"),
            &who.token,
            Some(json!({ "name": "Renamed directly" })),
        )
        .await;
        assert!(
            status == 401 || status == 403 || (status == 200 && body == json!([])),
            "update went through: {status} {body}"
        );
    }
    // An editor cannot move it or change its creator (no column privilege).
    for change in [
        json!({ "workspace_id": ws2 }),
        json!({ "created_by": t.editor.id }),
    ] {
        let (status, body) = rest(
            reqwest::Method::PATCH,
            &format!("projects?id=eq.{id}"),
            &t.editor.token,
            Some(change.clone()),
        )
        .await;
        assert!(
            status == 401 || status == 403,
            "{change} accepted: {status} {body}"
        );
    }
    // Editors and members cannot delete it.
    for who in [&t.editor, &t.member, &t.outsider] {
        let (status, body) = rest(
            reqwest::Method::DELETE,
            &format!("projects?id=eq.{id}"),
            &who.token,
            None,
        )
        .await;
        assert!(
            status == 401 || status == 403 || (status == 200 && body == json!([])),
            "delete went through: {status} {body}"
        );
    }
    assert_eq!(row(id).await.unwrap(), before);
    assert_eq!(count_in(ws2).await, 0);
}
