//! `list-users` Lambda: see [`functions::routes::LIST_USERS`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run(functions::routes::LIST_USERS, functions::users::list).await
}
