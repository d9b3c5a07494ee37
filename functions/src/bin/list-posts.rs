//! `list-posts` Lambda: see [`functions::routes::LIST_POSTS`].

fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::start(shared::http::run(
        functions::routes::LIST_POSTS,
        functions::posts::list,
    ))
}
