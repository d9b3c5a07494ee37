//! `get-upload` Lambda: GET /uploads/{id}, see [`functions::routes::GET_UPLOAD`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::pipeline::serve(functions::routes::GET_UPLOAD)
}
