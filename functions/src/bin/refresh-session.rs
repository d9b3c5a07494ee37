//! `refresh-session` Lambda: see [`functions::routes::REFRESH_SESSION`].

fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::start(shared::http::run(
        functions::routes::REFRESH_SESSION,
        functions::sessions::refresh,
    ))
}
