//! `list-projects` Lambda: see [`functions::routes::LIST_PROJECTS`].

fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::start(shared::http::run(
        functions::routes::LIST_PROJECTS,
        functions::projects::list,
    ))
}
