//! `health` Lambda: see [`functions::routes::HEALTH`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run(functions::routes::HEALTH, functions::health::handler).await
}
