//! `delete-project` Lambda: see [`functions::routes::DELETE_PROJECT`].

fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::start(shared::http::run(
        functions::routes::DELETE_PROJECT,
        functions::projects::delete,
    ))
}
