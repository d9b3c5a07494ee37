//! `update-settings` Lambda: see [`functions::routes::UPDATE_SETTINGS`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run(functions::routes::UPDATE_SETTINGS, functions::settings::put).await
}
