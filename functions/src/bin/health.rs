//! `health` Lambda: see [`functions::routes::HEALTH`].

fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::start(shared::http::run(
        functions::routes::HEALTH,
        functions::health::handler,
    ))
}
