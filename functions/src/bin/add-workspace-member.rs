//! `add-workspace-member` Lambda: see [`functions::routes::ADD_WORKSPACE_MEMBER`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run(
        functions::routes::ADD_WORKSPACE_MEMBER,
        functions::workspaces::add_member,
    )
    .await
}
