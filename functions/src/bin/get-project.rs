//! `get-project` Lambda: see [`functions::routes::GET_PROJECT`].

fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::start(shared::http::run(
        functions::routes::GET_PROJECT,
        functions::projects::get,
    ))
}
