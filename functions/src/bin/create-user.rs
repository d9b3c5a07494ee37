//! `create-user` Lambda: see [`functions::routes::CREATE_USER`].

fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::start(shared::http::run(
        functions::routes::CREATE_USER,
        functions::users::create,
    ))
}
