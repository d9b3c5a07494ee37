//! `update-post` Lambda: see [`functions::routes::UPDATE_POST`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run(functions::routes::UPDATE_POST, functions::posts::update).await
}
