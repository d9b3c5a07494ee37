//! `get-post` Lambda: see [`functions::routes::GET_POST`].

fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::start(shared::http::run(
        functions::routes::GET_POST,
        functions::posts::get,
    ))
}
