//! `delete-post` Lambda: see [`functions::routes::DELETE_POST`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run(functions::routes::DELETE_POST, functions::posts::delete).await
}
