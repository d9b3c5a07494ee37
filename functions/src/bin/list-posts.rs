//! `list-posts` Lambda: GET /posts, see [`functions::routes::LIST_POSTS`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::pipeline::serve(functions::routes::LIST_POSTS)
}
