//! GET /health: no credentials, no database; answers that the function starts and runs.

use lambda_http::Request;
use serde::Serialize;
use shared::pipeline::response::{self, ApiResult};
use shared::{App, Caller};

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Health {
    /// Always `ok`.
    status: &'static str,
    /// The functions' version (Cargo package version).
    version: &'static str,
}

pub async fn handler(_app: App, _caller: Caller, _req: Request) -> ApiResult {
    response::ok(&Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}
