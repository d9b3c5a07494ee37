//! `sign-out` Lambda: see [`functions::routes::SIGN_OUT`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run(functions::routes::SIGN_OUT, functions::sessions::sign_out).await
}
