//! `update-post` Lambda: see [`functions::routes::UPDATE_POST`].

fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::start(shared::http::run(
        functions::routes::UPDATE_POST,
        functions::posts::update,
    ))
}
