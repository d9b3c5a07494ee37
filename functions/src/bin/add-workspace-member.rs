//! `add-workspace-member` Lambda: POST /workspaces/{id}/members, see [`functions::routes::ADD_WORKSPACE_MEMBER`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::pipeline::serve(functions::routes::ADD_WORKSPACE_MEMBER)
}
