//! `delete-upload` Lambda: see [`functions::routes::DELETE_UPLOAD`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run(functions::routes::DELETE_UPLOAD, functions::uploads::delete).await
}
