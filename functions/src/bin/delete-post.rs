//! `delete-post` Lambda: see [`functions::routes::DELETE_POST`].

fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::start(shared::http::run(
        functions::routes::DELETE_POST,
        functions::posts::delete,
    ))
}
