//! `delete-post` Lambda: DELETE /posts/{id}, see [`functions::routes::DELETE_POST`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::pipeline::serve(functions::routes::DELETE_POST)
}
