//! `get-user` Lambda: see [`functions::routes::GET_USER`].

fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::start(shared::http::run(
        functions::routes::GET_USER,
        functions::users::get,
    ))
}
