//! GET /health: no credentials, no database; answers that the function starts and runs.

use serde::Serialize;
use shared::pipeline::typed::Data;
use shared::{ApiError, App, Caller};

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok`.
    status: &'static str,
    /// The functions' version (Cargo package version).
    version: &'static str,
}

pub async fn handler(_app: App, _caller: Caller) -> Result<Data<Health>, ApiError> {
    Ok(Data(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    }))
}
