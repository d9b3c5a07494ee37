//! `sign-in` Lambda: see [`functions::routes::SIGN_IN`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run(functions::routes::SIGN_IN, functions::sessions::sign_in).await
}
