//! `delete-upload` Lambda: see [`functions::routes::DELETE_UPLOAD`].

fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::start(shared::http::run(
        functions::routes::DELETE_UPLOAD,
        functions::uploads::delete,
    ))
}
