//! `publish-post` Lambda: POST /posts/{id}/publish, see [`functions::routes::PUBLISH_POST`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::pipeline::serve(functions::routes::PUBLISH_POST)
}
