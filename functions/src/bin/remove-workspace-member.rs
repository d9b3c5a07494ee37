//! `remove-workspace-member` Lambda: see [`functions::routes::REMOVE_WORKSPACE_MEMBER`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run(
        functions::routes::REMOVE_WORKSPACE_MEMBER,
        functions::workspaces::remove_member,
    )
    .await
}
