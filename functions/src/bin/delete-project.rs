//! `delete-project` Lambda: DELETE /projects/{id}, see [`functions::routes::DELETE_PROJECT`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::pipeline::serve(functions::routes::DELETE_PROJECT)
}
