//! `openapi` Lambda: GET /openapi.json, see [`functions::routes::OPENAPI`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::pipeline::serve(functions::routes::OPENAPI)
}
