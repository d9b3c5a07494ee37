//! `delete-user` Lambda: see [`functions::routes::DELETE_USER`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run(functions::routes::DELETE_USER, functions::users::delete).await
}
