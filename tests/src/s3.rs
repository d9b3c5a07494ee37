//! The uploads bucket of the test stack (s3s-fs, SigV4 checked): requests sent exactly
//! as a browser sends a presigned one, and what the bucket holds, read with the app's
//! own `Storage`.

use serde_json::Value;
use shared::clients::storage::Storage;
use shared::{App, Config};

use functions::routes;
use serde_json::json;
use uuid::Uuid;

use crate::{app, db, Req, Res, TestUser};

/// A complete, valid 1x1 RGBA PNG (signature, IHDR, IDAT, IEND): 70 bytes.
pub fn png() -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
        .unwrap()
}

/// The app's own S3 client for the stack's bucket.
pub fn storage() -> Storage {
    let app = app();
    Storage::from_config(&app.config, app.http.clone())
        .expect("UPLOADS_BUCKET is configured in the test stack")
}

/// The object's size and ETag (a HEAD by the app's own `Storage`), None when missing.
pub async fn object_head(key: &str) -> Option<shared::clients::storage::ObjectHead> {
    let (storage, caller) = (storage(), shared::Caller::default());
    storage
        .for_request(&caller)
        .head(key)
        .await
        .expect("S3 answers a HEAD")
}

/// The object's size, None when missing.
pub async fn object_size(key: &str) -> Option<u64> {
    object_head(key).await.map(|h| h.size)
}

/// The app's own server-side copy (pinned to `etag`'s version when given).
pub async fn copy_object(from: &str, to: &str, etag: Option<&str>) -> Result<(), shared::ApiError> {
    let (storage, caller) = (storage(), shared::Caller::default());
    storage.for_request(&caller).copy(from, to, etag).await
}

/// What S3 holds under `key`: a GET signed by the app's own `Storage` (any key).
pub async fn object(key: &str) -> Option<Vec<u8>> {
    let request = storage()
        .presign_download(key, "check")
        .await
        .expect("presign a GET");
    let request = serde_json::to_value(request).unwrap();
    let res = send_presigned(&request, Vec::new()).await;
    match res.status {
        200 => Some(res.body),
        404 => None,
        other => panic!("S3 answered {other} for {key}: {}", res.text()),
    }
}

pub async fn exists(key: &str) -> bool {
    object(key).await.is_some()
}

/// What S3 answered: status, headers, body.
pub struct S3Res {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl S3Res {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `method url` with exactly these headers and body, as a browser would.
pub async fn send_raw(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> S3Res {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = reqwest::Client::new().request(method, url);
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let res = req.body(body).send().await.expect("S3 answers");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res.bytes().await.unwrap().to_vec();
    S3Res {
        status,
        headers,
        body,
    }
}

pub fn headers_of(request: &Value) -> Vec<(String, String)> {
    request["headers"]
        .as_object()
        .expect("headers object")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("header string").to_owned()))
        .collect()
}

/// Sends a presigned request (`{method, url, headers}`) exactly as given.
pub async fn send_presigned(request: &Value, body: Vec<u8>) -> S3Res {
    send_raw(
        request["method"].as_str().unwrap(),
        request["url"].as_str().unwrap(),
        &headers_of(request),
        body,
    )
    .await
}

/// The app as the stack configures it, but with S3 at a port where nothing listens.
pub fn app_with_unreachable_s3() -> App {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let config = Config::from_lookup(|name| match name {
        "S3_ENDPOINT" => Some(format!("http://127.0.0.1:{port}")),
        "UPSTREAM_TIMEOUT_MS" => Some("1000".into()),
        other => std::env::var(other).ok(),
    })
    .unwrap();
    App::new(config).unwrap()
}

pub fn pending_key(owner: Uuid, id: Uuid) -> String {
    format!("pending/{owner}/{id}")
}

pub fn file_key(owner: Uuid, id: Uuid) -> String {
    format!("files/{owner}/{id}")
}

pub async fn create(u: &TestUser, filename: &str, content_type: &str, size: usize) -> Res {
    Req::post("/uploads")
        .as_user(u)
        .json(json!({ "filename": filename, "contentType": content_type, "size": size }))
        .send(&routes::CREATE_UPLOAD)
        .await
}

/// A pending upload: its id and the presigned request for its bytes.
pub struct Pending {
    pub id: Uuid,
    pub request: Value,
}

pub async fn create_ok(u: &TestUser, filename: &str, content_type: &str, size: usize) -> Pending {
    let res = create(u, filename, content_type, size).await;
    let data = res.assert_ok(201);
    Pending {
        id: data["id"].as_str().unwrap().parse().unwrap(),
        request: data["uploadRequest"].clone(),
    }
}

/// A ready upload arranged directly, exactly as `complete` leaves one (bytes PUT with the
/// presigned request, copied to `files/`, pending object deleted, row marked ready), so
/// the tests of GET, DELETE and ownership do not depend on `complete`.
pub async fn ready_by_hand(u: &TestUser, filename: &str, content_type: &str, bytes: &[u8]) -> Uuid {
    let pending = create_ok(u, filename, content_type, bytes.len()).await;
    let put = send_presigned(&pending.request, bytes.to_vec()).await;
    assert_eq!(put.status, 200, "S3 refused the PUT: {}", put.text());
    let (from, to) = (pending_key(u.id, pending.id), file_key(u.id, pending.id));
    let (storage, caller) = (storage(), shared::Caller::default());
    let bucket = storage.for_request(&caller);
    bucket.copy(&from, &to, None).await.expect("copy to files/");
    bucket
        .delete(&from)
        .await
        .expect("delete the pending object");
    db().await
        .execute(
            "update public.uploads set status = 'ready', completed_at = now() where id = $1",
            &[&pending.id],
        )
        .await
        .unwrap();
    assert_eq!(object(&to).await.as_deref(), Some(bytes));
    pending.id
}
