//! `sign-out` Lambda: see [`functions::routes::SIGN_OUT`].

fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::start(shared::http::run(
        functions::routes::SIGN_OUT,
        functions::sessions::sign_out,
    ))
}
