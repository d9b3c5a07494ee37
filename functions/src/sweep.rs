//! `sweep-storage`, every five minutes (template.yaml; `make dev` every minute): removes
//! what has expired (`sweep_expired_rows`: pending uploads never completed, old
//! idempotency keys and rate-limit windows), then deletes from S3 the objects whose rows
//! are gone (`claim_storage_deletions`, then `finish_storage_deletions`). Whatever
//! deleted the row (the API, PostgREST directly, a deleted user's cascade), the database
//! queued its objects in the same transaction (migration 20261208000100).
//!
//! A run takes at most [`BATCHES`] batches of [`BATCH`] keys; a key S3 did not delete
//! stays queued with its error and is tried again in a later run (the claim already
//! moved its next try back), and the run stops at the first failing batch: S3 is down,
//! nothing is lost, the next run goes on. Its metrics: `storage_deleted`,
//! `storage_delete_failures` and `storage_backlog` (alarmed in template.yaml).

use serde::Deserialize;
use serde_json::{json, Value};
use shared::clients::postgrest;
use shared::pipeline::metrics;
use shared::{ApiError, App, Caller};

/// Keys per claim.
pub const BATCH: u32 = 100;
/// Claims per run: 1,000 objects per run at most, the rest in the next one.
pub const BATCHES: usize = 10;

#[derive(Deserialize)]
struct Claim {
    keys: Vec<String>,
    backlog: u64,
}

/// One run of the sweep: what it removed, deleted, failed to delete and left queued.
pub async fn sweep_storage(app: App, caller: Caller) -> Result<Value, ApiError> {
    let service = app
        .db
        .as_service(&caller)
        .ok_or_else(|| ApiError::unavailable("sweep: no service role key configured"))?;
    let storage = app
        .storage()
        .ok_or_else(|| ApiError::unavailable("sweep: UPLOADS_BUCKET is not configured"))?
        .for_request(&caller);
    let expired: Value = postgrest::call(
        service.rpc(&crate::sql::SweepExpiredRows {})?,
        "Expired rows",
    )
    .await?;
    let (mut deleted, mut failed, mut backlog) = (0u64, 0u64, 0u64);
    for _ in 0..BATCHES {
        let claim: Claim = postgrest::call(
            service.rpc(&crate::sql::ClaimStorageDeletions { p_limit: BATCH })?,
            "Storage deletions",
        )
        .await?;
        backlog = claim.backlog;
        if claim.keys.is_empty() {
            break;
        }
        let (mut gone, mut kept, mut error) = (Vec::new(), Vec::new(), None);
        for key in claim.keys {
            match storage.delete(&key).await {
                Ok(()) => gone.push(key),
                Err(e) => {
                    error = e.cause.clone().map(|c| c.to_string());
                    kept.push(key);
                }
            }
        }
        let (gone_count, kept_count) = (gone.len() as u64, kept.len() as u64);
        postgrest::exec(
            service.rpc(&crate::sql::FinishStorageDeletions {
                p_deleted: gone,
                p_failed: kept,
                p_error: error,
            })?,
            "Storage deletions",
        )
        .await?;
        deleted += gone_count;
        failed += kept_count;
        backlog = backlog.saturating_sub(gone_count);
        if kept_count > 0 {
            break;
        }
    }
    metrics::record_storage_sweep(deleted, failed, backlog);
    Ok(json!({ "expired": expired, "deleted": deleted, "failed": failed, "backlog": backlog }))
}
