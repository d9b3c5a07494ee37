//! `publish-post` Lambda: see [`functions::routes::PUBLISH_POST`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run(functions::routes::PUBLISH_POST, functions::posts::publish).await
}
