//! `delete-upload` Lambda: DELETE /uploads/{id}, see [`functions::routes::DELETE_UPLOAD`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::pipeline::serve(functions::routes::DELETE_UPLOAD)
}
