//! `get-post` Lambda: see [`functions::routes::GET_POST`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run(functions::routes::GET_POST, functions::posts::get).await
}
