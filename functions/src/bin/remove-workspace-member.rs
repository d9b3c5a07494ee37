//! `remove-workspace-member` Lambda: DELETE /workspaces/{id}/members/{userId}, see [`functions::routes::REMOVE_WORKSPACE_MEMBER`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::pipeline::serve(functions::routes::REMOVE_WORKSPACE_MEMBER)
}
