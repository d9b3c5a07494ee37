//! `publish-post` Lambda: see [`functions::routes::PUBLISH_POST`].

fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::start(shared::http::run(
        functions::routes::PUBLISH_POST,
        functions::posts::publish,
    ))
}
