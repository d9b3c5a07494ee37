//! `complete-upload` Lambda: POST /uploads/{id}/complete, see [`functions::routes::COMPLETE_UPLOAD`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::pipeline::serve(functions::routes::COMPLETE_UPLOAD)
}
