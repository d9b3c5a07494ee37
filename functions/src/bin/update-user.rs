//! `update-user` Lambda: see [`functions::routes::UPDATE_USER`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run(functions::routes::UPDATE_USER, functions::users::update).await
}
