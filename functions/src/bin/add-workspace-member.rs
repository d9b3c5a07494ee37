//! `add-workspace-member` Lambda: see [`functions::routes::ADD_WORKSPACE_MEMBER`].

fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::start(shared::http::run(
        functions::routes::ADD_WORKSPACE_MEMBER,
        functions::workspaces::add_member,
    ))
}
