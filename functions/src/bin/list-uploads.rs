//! `list-uploads` Lambda: see [`functions::routes::LIST_UPLOADS`].

fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::start(shared::http::run(
        functions::routes::LIST_UPLOADS,
        functions::uploads::list,
    ))
}
