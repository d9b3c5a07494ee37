//! `list-audit-log` Lambda: see [`functions::routes::LIST_AUDIT_LOG`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run(
        functions::routes::LIST_AUDIT_LOG,
        functions::audit_log::list,
    )
    .await
}
