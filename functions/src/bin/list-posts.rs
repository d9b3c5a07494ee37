//! `list-posts` Lambda: see [`functions::routes::LIST_POSTS`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run(functions::routes::LIST_POSTS, functions::posts::list).await
}
