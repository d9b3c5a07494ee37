//! `list-workspaces` Lambda: see [`functions::routes::LIST_WORKSPACES`].

fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::start(shared::http::run(
        functions::routes::LIST_WORKSPACES,
        functions::workspaces::list,
    ))
}
