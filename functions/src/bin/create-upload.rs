//! `create-upload` Lambda: see [`functions::routes::CREATE_UPLOAD`].

fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::start(shared::http::run(
        functions::routes::CREATE_UPLOAD,
        functions::uploads::create,
    ))
}
