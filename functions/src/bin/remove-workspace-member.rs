//! `remove-workspace-member` Lambda: see [`functions::routes::REMOVE_WORKSPACE_MEMBER`].

fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::start(shared::http::run(
        functions::routes::REMOVE_WORKSPACE_MEMBER,
        functions::workspaces::remove_member,
    ))
}
