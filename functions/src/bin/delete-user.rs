//! `delete-user` Lambda: see [`functions::routes::DELETE_USER`].

fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::start(shared::http::run(
        functions::routes::DELETE_USER,
        functions::users::delete,
    ))
}
