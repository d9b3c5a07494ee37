//! `create-post` Lambda: see [`functions::routes::CREATE_POST`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run(functions::routes::CREATE_POST, functions::posts::create).await
}
