//! `get-user` Lambda: see [`functions::routes::GET_USER`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run(functions::routes::GET_USER, functions::users::get).await
}
