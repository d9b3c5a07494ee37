//! `update-project` Lambda: see [`functions::routes::UPDATE_PROJECT`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run(
        functions::routes::UPDATE_PROJECT,
        functions::projects::update,
    )
    .await
}
