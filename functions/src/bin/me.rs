//! `me` Lambda: GET /me, see [`functions::routes::ME`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::pipeline::serve(functions::routes::ME)
}
