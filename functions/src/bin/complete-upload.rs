//! `complete-upload` Lambda: see [`functions::routes::COMPLETE_UPLOAD`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run(
        functions::routes::COMPLETE_UPLOAD,
        functions::uploads::complete,
    )
    .await
}
