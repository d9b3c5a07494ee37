//! `set-password` Lambda: POST /auth/password, see [`functions::routes::SET_PASSWORD`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::pipeline::serve(functions::routes::SET_PASSWORD)
}
