//! `refresh-session` Lambda: see [`functions::routes::REFRESH_SESSION`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run(
        functions::routes::REFRESH_SESSION,
        functions::sessions::refresh,
    )
    .await
}
