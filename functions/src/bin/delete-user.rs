//! `delete-user` Lambda: DELETE /users/{id}, see [`functions::routes::DELETE_USER`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::pipeline::serve(functions::routes::DELETE_USER)
}
