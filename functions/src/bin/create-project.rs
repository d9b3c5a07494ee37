//! `create-project` Lambda: see [`functions::routes::CREATE_PROJECT`].

fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::start(shared::http::run(
        functions::routes::CREATE_PROJECT,
        functions::projects::create,
    ))
}
