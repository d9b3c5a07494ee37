//! `get-upload` Lambda: see [`functions::routes::GET_UPLOAD`].

fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::start(shared::http::run(
        functions::routes::GET_UPLOAD,
        functions::uploads::get,
    ))
}
