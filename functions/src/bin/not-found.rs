//! `not-found` Lambda: GET $default, see [`functions::routes::NOT_FOUND`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::pipeline::serve(functions::routes::NOT_FOUND)
}
