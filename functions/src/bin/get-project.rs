//! `get-project` Lambda: see [`functions::routes::GET_PROJECT`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run(functions::routes::GET_PROJECT, functions::projects::get).await
}
