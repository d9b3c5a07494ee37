//! `create-project` Lambda: see [`functions::routes::CREATE_PROJECT`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run(
        functions::routes::CREATE_PROJECT,
        functions::projects::create,
    )
    .await
}
