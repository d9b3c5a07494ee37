//! Uploads straight to S3 through presigned URLs, verified before they count.
//!
//! POST   /uploads                {filename, contentType, size} -> 201 + a presigned PUT
//! POST   /uploads/{id}/complete  owner: HEAD + size + magic bytes of one version (ETag), then ready (or rejected); safe to retry
//! GET    /uploads/{id}           owner: metadata (+ a download URL once ready)
//! GET    /uploads?page=&pageSize=  owner's uploads
//! DELETE /uploads/{id}           owner: object and row
//!
//! Status changes go through the service role (users have no UPDATE on `uploads`), so a
//! client talking to PostgREST directly cannot mark its own upload ready.
//! A name that disagrees with the bytes (`photo.png` holding a JPEG) is refused: the
//! declared type was signed into the upload URL, and it must be what the bytes are.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::clients::postgrest::Table;
use shared::clients::storage::{self, Bucket, ClientRequest, Storage};
use shared::pipeline::contract::Example;
use shared::pipeline::input;
use shared::pipeline::response;
use shared::pipeline::typed::{Created, Data, Json, Listed, NoContent, Paging};
use shared::policy::rate_limit::Limit;
use shared::{clients::postgrest, ApiError, App, SignedIn};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::{Validate, ValidationError};

use crate::validate;

pub const MAX_UPLOAD_BYTES: i64 = 5 * 1024 * 1024;
pub const ALLOWED_TYPES: [&str; 3] = ["image/jpeg", "image/png", "image/webp"];
/// Upload URLs a user may ask for per minute (the `create-upload` rule; the pipeline
/// counts it, as for every write route).
pub const UPLOADS_PER_USER: Limit = Limit {
    rule: "create-upload",
    max: 20,
    window_seconds: 60,
};
/// Bytes read to recognise the type (WebP needs 12).
const SNIFF_BYTES: u64 = 32;

const COLUMNS: &str = "id,owner_id,original_name,content_type,size_bytes,status,rejection_reason,created_at,completed_at";
const UPLOADS: Table = Table {
    name: "uploads",
    columns: COLUMNS,
    what: "Upload",
};

#[derive(Debug, Clone, Deserialize)]
pub struct Row {
    id: Uuid,
    owner_id: Uuid,
    original_name: String,
    content_type: String,
    size_bytes: i64,
    status: String,
    rejection_reason: Option<String>,
    created_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
}

/// An upload's metadata; `download` once it is ready.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Upload {
    id: Uuid,
    filename: String,
    content_type: String,
    /// In bytes, as declared when created.
    size: i64,
    /// `pending` until completed, then `ready` or `rejected`.
    #[schema(schema_with = status_schema)]
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    rejection_reason: Option<String>,
    created_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
    /// A presigned GET of the verified file.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    download: Option<ClientRequest>,
}

impl Upload {
    fn from_row(row: Row, download: Option<ClientRequest>) -> Self {
        Self {
            id: row.id,
            filename: row.original_name,
            content_type: row.content_type,
            size: row.size_bytes,
            status: row.status,
            rejection_reason: row.rejection_reason,
            created_at: row.created_at,
            completed_at: row.completed_at,
            download,
        }
    }
}

/// An upload's states (`uploads.status`, a CHECK in SQL).
const STATUSES: [&str; 3] = ["pending", "ready", "rejected"];

fn status_schema() -> utoipa::openapi::Object {
    enum_schema(&STATUSES)
}

fn type_schema() -> utoipa::openapi::Object {
    enum_schema(&ALLOWED_TYPES)
}

fn enum_schema(values: &[&str]) -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(values.iter().copied()))
        .build()
}

fn allowed_type(value: &str) -> Result<(), ValidationError> {
    if ALLOWED_TYPES.contains(&value) {
        Ok(())
    } else {
        Err(ValidationError::new("content_type")
            .with_message("must be image/jpeg, image/png or image/webp".into()))
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewUpload {
    #[serde(deserialize_with = "input::trimmed")]
    #[validate(custom(function = "validate::upload_name"))]
    #[schema(schema_with = validate::schema::upload_name)]
    filename: String,
    #[validate(custom(function = "allowed_type"))]
    #[schema(schema_with = type_schema)]
    content_type: String,
    /// In bytes; the upload is rejected at completion if the file differs.
    #[schema(minimum = 1, maximum = 5242880)]
    #[validate(range(
        min = 1,
        max = 5242880,
        message = "must be between 1 byte and 5 MB (5242880 bytes)"
    ))]
    size: i64,
}

impl Example for NewUpload {
    const EXAMPLE: &'static str =
        r#"{"filename":"photo.png","contentType":"image/png","size":1234}"#;
}

shared::path_id!(
    /// `{id}` of /uploads/{id}.
    UploadId,
    "id",
    "Upload"
);

fn storage(app: &App) -> Result<&Storage, ApiError> {
    app.storage()
        .ok_or_else(|| ApiError::unavailable("storage: UPLOADS_BUCKET not configured"))
}

/// The bucket, as this request calls it (its calls carry the request's trace).
fn bucket<'a>(app: &'a App, caller: &'a SignedIn) -> Result<Bucket<'a>, ApiError> {
    Ok(storage(app)?.for_request(caller))
}

/// A new upload and the presigned PUT that sends its bytes straight to S3.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedUpload {
    #[serde(flatten)]
    upload: Upload,
    /// The request the client sends the bytes with: method, URL and headers as is.
    upload_request: ClientRequest,
}

/// POST /uploads: one call of `create_upload` (the pending row under the caller's
/// prefix, or the first answer to a repeated Idempotency-Key), then the presigned PUT
/// of its object.
pub async fn create(
    app: App,
    caller: SignedIn,
    Json(new): Json<NewUpload>,
) -> Result<Created<CreatedUpload>, ApiError> {
    let user = &caller.user;
    let storage = storage(&app)?;
    let row: Row = postgrest::call(
        app.db.as_user(&caller).rpc(&crate::sql::CreateUpload {
            p_id: Uuid::new_v4(),
            p_original_name: new.filename,
            p_content_type: new.content_type,
            p_size_bytes: new.size,
        })?,
        "Upload",
    )
    .await
    .map_err(|e| {
        // The database's cap on uploads in progress (private.cap_pending_uploads).
        if e.upstream_code.as_deref() == Some("PT409") {
            ApiError::conflict(
                "Too many uploads in progress: complete or delete one first (at most 20)",
            )
        } else {
            e
        }
    })?;
    // From the row: a replay answers the first upload's id, type and size.
    let key = storage::pending_key(user.id, row.id);
    let upload_request = storage
        .presign_upload(&key, &row.content_type, row.size_bytes)
        .await?;
    Ok(Created(CreatedUpload {
        upload: Upload::from_row(row, None),
        upload_request,
    }))
}

async fn find(app: &App, caller: &SignedIn, id: Uuid) -> Result<Row, ApiError> {
    app.db.as_user(caller).find(&UPLOADS, id).await
}

/// The status change, as the service role (users cannot update uploads themselves).
async fn set_status(
    app: &App,
    caller: &SignedIn,
    id: Uuid,
    owner: Uuid,
    ready: bool,
    reason: Option<&str>,
) -> Result<Row, ApiError> {
    let service = app
        .db
        .as_service(caller)
        .ok_or_else(|| ApiError::unavailable("uploads: no service role key configured"))?;
    postgrest::one(
        service.rpc(&crate::sql::SetUploadStatus {
            p_id: id,
            p_owner: owner,
            p_ready: ready,
            p_reason: reason.map(str::to_owned),
        })?,
        "Upload",
    )
    .await
}

/// What the bytes are, by their magic number.
fn sniff(bytes: &[u8]) -> Option<&'static str> {
    infer::get(bytes)
        .map(|t| t.mime_type())
        .filter(|m| ALLOWED_TYPES.contains(m))
}

/// The answer for an upload already completed: ready with a fresh download URL, or the
/// rejection's conflict.
async fn completed(storage: &Bucket<'_>, row: Row) -> Result<Data<Upload>, ApiError> {
    if row.status != "ready" {
        return Err(ApiError::conflict(
            "This upload was rejected; start a new one",
        ));
    }
    let download = storage
        .presign_download(&storage::file_key(row.owner_id, row.id), &row.original_name)
        .await?;
    Ok(Data(Upload::from_row(row, Some(download))))
}

/// POST /uploads/{id}/complete
pub async fn complete(
    app: App,
    caller: SignedIn,
    UploadId(id): UploadId,
) -> Result<Data<Upload>, ApiError> {
    let storage = bucket(&app, &caller)?;
    let row = find(&app, &caller, id).await?;
    if row.status != "pending" {
        return completed(&storage, row).await;
    }
    let pending = storage::pending_key(row.owner_id, row.id);
    let file = storage::file_key(row.owner_id, row.id);
    // The file's verdict and, for a good one, its copy to files/. Every read is pinned to
    // the version the HEAD saw (its ETag): the presigned PUT stays usable for minutes, and
    // a file swapped in after the check must not be the one that is kept.
    let checked = async {
        let head = storage.head(&pending).await?.ok_or_else(|| {
            ApiError::conflict("Nothing was uploaded yet: PUT the file to the upload URL first")
        })?;
        let verdict = verdict(&storage, &pending, &head, &row).await?;
        if verdict.is_ok() {
            storage.copy(&pending, &file, Some(&head.etag)).await?;
        }
        Ok::<_, ApiError>(verdict)
    }
    .await;
    let verdict = match checked {
        Ok(verdict) => verdict,
        // No object, or one gone or replaced since the HEAD, may be another attempt's
        // doing (a retry's lost predecessor, or one at the same time): if it completed the
        // upload meanwhile (and removed the pending object), that is the answer.
        Err(e) => {
            let now = find(&app, &caller, id).await?;
            return if now.status == "pending" {
                Err(e)
            } else {
                completed(&storage, now).await
            };
        }
    };
    match verdict {
        Ok(()) => {
            // Copied; then mark ready, then remove the pending object: a failure at any
            // step leaves the pending object in place, so completing again redoes the
            // rest (and a row already ready answers as above; two attempts at once both
            // answer it, set_upload_status returning the row the first one marked). A
            // pending object left behind by a failed delete is removed by the bucket's
            // lifecycle rule.
            let row = set_status(&app, &caller, row.id, row.owner_id, true, None).await?;
            if storage.delete(&pending).await.is_err() {
                tracing::warn!(
                    request_id = caller.request_id,
                    upload = %row.id,
                    "pending object not deleted (the lifecycle rule will)"
                );
            }
            let download = storage.presign_download(&file, &row.original_name).await?;
            Ok(Data(Upload::from_row(row, Some(download))))
        }
        Err(reason) => {
            storage.delete(&pending).await?;
            set_status(&app, &caller, row.id, row.owner_id, false, Some(&reason)).await?;
            Err(ApiError::invalid_field(
                "file",
                &format!("rejected and deleted: {reason}"),
            ))
        }
    }
}

/// Whether the pending object is what the row declares: its size, then its first bytes'
/// kind (of the version `head` saw). The reason when it is not.
async fn verdict(
    storage: &Bucket<'_>,
    pending: &str,
    head: &storage::ObjectHead,
    row: &Row,
) -> Result<Result<(), String>, ApiError> {
    if head.size != row.size_bytes as u64 {
        return Ok(Err(format!(
            "the file is {} bytes, not the {} declared",
            head.size, row.size_bytes
        )));
    }
    let bytes = storage
        .first_bytes(pending, SNIFF_BYTES, &head.etag)
        .await?;
    Ok(match sniff(&bytes) {
        Some(actual) if actual == row.content_type => Ok(()),
        Some(actual) => Err(format!(
            "the content is {actual}, not the {} declared",
            row.content_type
        )),
        None => Err(format!("the content is not a {} image", row.content_type)),
    })
}

/// GET /uploads/{id}
pub async fn get(
    app: App,
    caller: SignedIn,
    UploadId(id): UploadId,
) -> Result<Data<Upload>, ApiError> {
    let row = find(&app, &caller, id).await?;
    let download = if row.status == "ready" {
        let storage = storage(&app)?;
        Some(
            storage
                .presign_download(&storage::file_key(row.owner_id, row.id), &row.original_name)
                .await?,
        )
    } else {
        None
    };
    Ok(Data(Upload::from_row(row, download)))
}

/// Rows as the API answers them, each ready one with a fresh download URL (presigned
/// here: no request to S3).
pub(crate) async fn with_downloads(app: &App, rows: Vec<Row>) -> Result<Vec<Upload>, ApiError> {
    let mut answered = Vec::with_capacity(rows.len());
    for row in rows {
        let download = if row.status == "ready" {
            let key = storage::file_key(row.owner_id, row.id);
            Some(
                storage(app)?
                    .presign_download(&key, &row.original_name)
                    .await?,
            )
        } else {
            None
        };
        answered.push(Upload::from_row(row, download));
    }
    Ok(answered)
}

/// GET /uploads?page=&pageSize=
pub async fn list(
    app: App,
    caller: SignedIn,
    Paging(query): Paging,
) -> Result<Listed<Upload>, ApiError> {
    let page = postgrest::page::<Row>(
        app.db
            .as_user(&caller)
            .table("uploads")
            .select(COLUMNS)
            .order("created_at.desc,id.desc"),
        &query,
    )
    .await?;
    let items: Vec<Upload> = page
        .items
        .into_iter()
        .map(|r| Upload::from_row(r, None))
        .collect();
    Ok(Listed::new(
        query,
        response::Page {
            items,
            total: page.total,
        },
    ))
}

/// DELETE /uploads/{id}: the object (pending or verified) first, then the row.
pub async fn delete(
    app: App,
    caller: SignedIn,
    UploadId(id): UploadId,
) -> Result<NoContent, ApiError> {
    let storage = bucket(&app, &caller)?;
    let row = find(&app, &caller, id).await?;
    storage
        .delete(&storage::pending_key(row.owner_id, row.id))
        .await?;
    storage
        .delete(&storage::file_key(row.owner_id, row.id))
        .await?;
    let _deleted: Row = app.db.as_user(&caller).delete(&UPLOADS, id).await?;
    Ok(NoContent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_the_three_image_types_and_nothing_else() {
        assert_eq!(
            sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]),
            Some("image/jpeg")
        );
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some("image/png"));
        assert_eq!(sniff(b"RIFF\x24\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"just some text, really"), None);
        assert_eq!(sniff(b"GIF89a\x01\0\x01\0"), None);
    }
}
