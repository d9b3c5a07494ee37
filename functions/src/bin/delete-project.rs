//! `delete-project` Lambda: see [`functions::routes::DELETE_PROJECT`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run(
        functions::routes::DELETE_PROJECT,
        functions::projects::delete,
    )
    .await
}
