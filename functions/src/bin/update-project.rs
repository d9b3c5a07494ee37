//! `update-project` Lambda: see [`functions::routes::UPDATE_PROJECT`].

fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::start(shared::http::run(
        functions::routes::UPDATE_PROJECT,
        functions::projects::update,
    ))
}
