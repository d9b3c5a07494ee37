//! `sign-out` Lambda: POST /auth/sign-out, see [`functions::routes::SIGN_OUT`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::pipeline::serve(functions::routes::SIGN_OUT)
}
