//! `update-user` Lambda: see [`functions::routes::UPDATE_USER`].

fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::start(shared::http::run(
        functions::routes::UPDATE_USER,
        functions::users::update,
    ))
}
