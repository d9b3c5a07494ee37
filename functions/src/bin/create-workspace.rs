//! `create-workspace` Lambda: see [`functions::routes::CREATE_WORKSPACE`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run(
        functions::routes::CREATE_WORKSPACE,
        functions::workspaces::create,
    )
    .await
}
