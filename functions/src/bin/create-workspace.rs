//! `create-workspace` Lambda: see [`functions::routes::CREATE_WORKSPACE`].

fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::start(shared::http::run(
        functions::routes::CREATE_WORKSPACE,
        functions::workspaces::create,
    ))
}
