//! `complete-upload` Lambda: see [`functions::routes::COMPLETE_UPLOAD`].

fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::start(shared::http::run(
        functions::routes::COMPLETE_UPLOAD,
        functions::uploads::complete,
    ))
}
