//! `create-post` Lambda: see [`functions::routes::CREATE_POST`].

fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::start(shared::http::run(
        functions::routes::CREATE_POST,
        functions::posts::create,
    ))
}
