//! `create-user` Lambda: see [`functions::routes::CREATE_USER`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run(functions::routes::CREATE_USER, functions::users::create).await
}
