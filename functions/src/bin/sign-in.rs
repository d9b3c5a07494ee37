//! `sign-in` Lambda: see [`functions::routes::SIGN_IN`].

fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::start(shared::http::run(
        functions::routes::SIGN_IN,
        functions::sessions::sign_in,
    ))
}
