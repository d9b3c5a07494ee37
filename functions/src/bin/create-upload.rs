//! `create-upload` Lambda: see [`functions::routes::CREATE_UPLOAD`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run(functions::routes::CREATE_UPLOAD, functions::uploads::create).await
}
