//! `create-post` Lambda: POST /posts, see [`functions::routes::CREATE_POST`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::pipeline::serve(functions::routes::CREATE_POST)
}
