//! `get-upload` Lambda: see [`functions::routes::GET_UPLOAD`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run(functions::routes::GET_UPLOAD, functions::uploads::get).await
}
