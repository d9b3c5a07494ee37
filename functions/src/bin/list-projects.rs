//! `list-projects` Lambda: see [`functions::routes::LIST_PROJECTS`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run(functions::routes::LIST_PROJECTS, functions::projects::list).await
}
