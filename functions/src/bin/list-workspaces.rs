//! `list-workspaces` Lambda: see [`functions::routes::LIST_WORKSPACES`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run(
        functions::routes::LIST_WORKSPACES,
        functions::workspaces::list,
    )
    .await
}
