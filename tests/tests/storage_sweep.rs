//! Storage follows its rows (issue 23, part 1): whatever removes an upload row (DELETE
//! /uploads/{id}, a DELETE straight through PostgREST, a deleted user's cascade, the
//! expiry of a pending upload), the database queues its objects, and the sweep
//! (`functions::sweep::sweep_storage`, the `sweep-storage` function) deletes them from
//! the real S3 server of the stack; S3 down loses nothing; a download URL handed out
//! before stops working once the sweep has run.
//!
//! A binary of its own, after the api tests: the sweep takes every queued key, so its
//! tests run one at a time (SWEEPS) and none runs beside the api tests' uploads.

use functions::routes;
use functions::sweep::sweep_storage;
use integration_tests::runtime::{Event, Function, RuntimeApi};
use integration_tests::s3::*;
use integration_tests::*;
use serde_json::Value;
use tokio::sync::Mutex;
use uuid::Uuid;

/// One sweep test at a time.
static SWEEPS: Mutex<()> = Mutex::const_new(());

/// A ready upload of `u`'s (a PNG in files/), and the presigned download GET /uploads/{id}
/// hands out for it.
async fn ready_upload(u: &TestUser) -> (Uuid, Value) {
    let id = ready_by_hand(u, "cat.png", "image/png", &png()).await;
    let res = Req::get("/uploads/{id}")
        .as_user(u)
        .param("id", id)
        .send(&routes::GET_UPLOAD)
        .await;
    let download = res.assert_ok(200)["download"].clone();
    assert!(
        download["url"].is_string(),
        "a download request: {download}"
    );
    (id, download)
}

async fn queued(key: &str) -> Option<(i32, Option<String>)> {
    db().await
        .query_opt(
            "select attempts, last_error from private.storage_deletions where object_key = $1",
            &[&key],
        )
        .await
        .unwrap()
        .map(|r| (r.get(0), r.get(1)))
}

async fn sweep() -> Value {
    sweep_storage(app(), shared::Caller::default())
        .await
        .expect("the sweep runs")
}

/// What S3 answers the presigned download, sent as a browser would.
async fn download_status(download: &Value) -> u16 {
    send_presigned(download, Vec::new()).await.status
}

#[tokio::test]
async fn a_row_deleted_straight_through_postgrest_takes_its_file_with_the_sweep() {
    let _one = SWEEPS.lock().await;
    let u = user().await;
    let (id, url) = ready_upload(&u).await;
    assert_eq!(download_status(&url).await, 200);
    // The owner deletes the row without the API (RLS allows it).
    let direct = postgrest_direct(
        reqwest::Method::DELETE,
        &format!("uploads?id=eq.{id}"),
        Some(&u.token),
        None,
    )
    .await;
    assert_eq!(direct.status, 200, "{direct:?}");
    // Queued in the same transaction; the file is still there until the sweep.
    assert!(queued(&file_key(u.id, id)).await.is_some());
    assert!(queued(&pending_key(u.id, id)).await.is_some());
    assert!(exists(&file_key(u.id, id)).await);

    let summary = sweep().await;
    assert!(summary["deleted"].as_u64().unwrap() >= 2, "{summary}");
    assert_eq!(summary["failed"], 0, "{summary}");
    assert!(!exists(&file_key(u.id, id)).await, "the file is gone");
    assert_eq!(queued(&file_key(u.id, id)).await, None, "and forgotten");
    assert_eq!(queued(&pending_key(u.id, id)).await, None);
    // The URL handed out before no longer downloads anything.
    assert_ne!(download_status(&url).await, 200);
}

#[tokio::test]
async fn the_api_delete_and_a_deleted_users_cascade_leave_nothing_behind() {
    let _one = SWEEPS.lock().await;
    // Through the API: the objects go at once, the queue is emptied by the sweep.
    let u = user().await;
    let (id, _) = ready_upload(&u).await;
    let res = Req::delete("/uploads/{id}")
        .as_user(&u)
        .param("id", id)
        .send(&routes::DELETE_UPLOAD)
        .await;
    assert_eq!(res.status.as_u16(), 204, "{}", res.body);
    assert!(!exists(&file_key(u.id, id)).await);
    assert!(queued(&file_key(u.id, id)).await.is_some());

    // A user deleted (as Supabase Auth's admin delete does): the rows cascade, their
    // objects are queued.
    let leaving = user().await;
    let (kept, url) = ready_upload(&leaving).await;
    db().await
        .execute("delete from auth.users where id = $1", &[&leaving.id])
        .await
        .unwrap();
    assert!(exists(&file_key(leaving.id, kept)).await);

    sweep().await;
    assert_eq!(queued(&file_key(u.id, id)).await, None);
    assert!(
        !exists(&file_key(leaving.id, kept)).await,
        "a deleted user's file is gone"
    );
    assert_eq!(queued(&file_key(leaving.id, kept)).await, None);
    assert_ne!(download_status(&url).await, 200);
}

#[tokio::test]
async fn a_pending_upload_never_completed_goes_after_its_expiry() {
    let _one = SWEEPS.lock().await;
    let u = user().await;
    let pending = create_ok(&u, "late.png", "image/png", png().len()).await;
    let put = send_presigned(&pending.request, png()).await;
    assert_eq!(put.status, 200);
    // A fresh one stays.
    sweep().await;
    assert!(exists(&pending_key(u.id, pending.id)).await);
    // An hour later (moved back in time), the sweep removes the row and its object.
    db().await
        .execute(
            "update public.uploads set created_at = now() - interval '61 minutes' where id = $1",
            &[&pending.id],
        )
        .await
        .unwrap();
    let summary = sweep().await;
    assert!(
        summary["expired"]["pendingUploads"].as_i64().unwrap() >= 1,
        "{summary}"
    );
    let rows: i64 = db()
        .await
        .query_one(
            "select count(*) from public.uploads where id = $1",
            &[&pending.id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 0);
    assert!(!exists(&pending_key(u.id, pending.id)).await);
}

#[tokio::test]
async fn s3_down_during_the_sweep_loses_nothing() {
    let _one = SWEEPS.lock().await;
    let u = user().await;
    let (id, _) = ready_upload(&u).await;
    db().await
        .execute("delete from public.uploads where id = $1", &[&id])
        .await
        .unwrap();
    let key = file_key(u.id, id);

    // S3 unreachable: the run answers what failed, the keys stay queued with the error.
    let summary = sweep_storage(app_with_unreachable_s3(), shared::Caller::default())
        .await
        .expect("the sweep itself runs");
    assert!(summary["failed"].as_u64().unwrap() >= 1, "{summary}");
    assert!(summary["backlog"].as_u64().unwrap() >= 1, "{summary}");
    let (attempts, error) = queued(&key).await.expect("still queued");
    assert_eq!(attempts, 1);
    assert!(error.is_some_and(|e| e.contains("s3")), "the error is kept");
    assert!(exists(&key).await, "the file is still there");

    // Its next try is later; when it comes (moved forward here), S3 is back.
    db().await
        .execute(
            "update private.storage_deletions set not_before = now() where object_key like $1",
            &[&format!("%/{}/{}", u.id, id)],
        )
        .await
        .unwrap();
    sweep().await;
    assert_eq!(queued(&key).await, None);
    assert!(!exists(&key).await, "done on the next run");

    // Running again changes nothing: the sweep is idempotent.
    let summary = sweep().await;
    assert_eq!(summary["failed"], 0, "{summary}");
}

#[tokio::test]
async fn postgrest_down_fails_the_run_and_keeps_the_queue() {
    let _one = SWEEPS.lock().await;
    let u = user().await;
    let (id, _) = ready_upload(&u).await;
    db().await
        .execute("delete from public.uploads where id = $1", &[&id])
        .await
        .unwrap();
    let err = sweep_storage(app_with_unreachable_postgrest(), shared::Caller::default())
        .await
        .expect_err("no database, no sweep");
    assert_eq!(err.status().as_u16(), 503);
    assert!(queued(&file_key(u.id, id)).await.is_some());
    assert!(exists(&file_key(u.id, id)).await);
    sweep().await;
    assert!(!exists(&file_key(u.id, id)).await);
}

#[tokio::test]
async fn the_compiled_function_runs_a_scheduled_event() {
    let _one = SWEEPS.lock().await;
    let u = user().await;
    let (id, _) = ready_upload(&u).await;
    db().await
        .execute("delete from public.uploads where id = $1", &[&id])
        .await
        .unwrap();
    // The real binary under a Runtime API of the test's own, given EventBridge
    // Scheduler's event (the committed fixture), with the stack's configuration.
    let mut api = RuntimeApi::start().await;
    let env: Vec<(&str, String)> = [
        "SUPABASE_URL",
        "SUPABASE_REST_URL",
        "SUPABASE_ANON_KEY",
        "SUPABASE_SERVICE_ROLE_KEY",
        "SUPABASE_JWT_SECRET",
        "UPLOADS_BUCKET",
        "S3_ENDPOINT",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ]
    .into_iter()
    .map(|name| (name, std::env::var(name).unwrap()))
    .collect();
    let _process = Function::start("sweep-storage", &api, "sweep-storage", &env);
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../functions/events/sweep-storage.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let (kind, summary) = api.invoke(&Event::new(fixture)).await;
    assert_eq!(kind, "response", "{summary}");
    assert!(summary["deleted"].as_u64().unwrap() >= 2, "{summary}");
    assert!(!exists(&file_key(u.id, id)).await);
}
