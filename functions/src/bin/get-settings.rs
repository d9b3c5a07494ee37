//! `get-settings` Lambda: see [`functions::routes::GET_SETTINGS`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run(functions::routes::GET_SETTINGS, functions::settings::get).await
}
