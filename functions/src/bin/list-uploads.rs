//! `list-uploads` Lambda: see [`functions::routes::LIST_UPLOADS`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run(functions::routes::LIST_UPLOADS, functions::uploads::list).await
}
