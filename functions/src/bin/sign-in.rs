//! `sign-in` Lambda: POST /auth/sign-in, see [`functions::routes::SIGN_IN`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::pipeline::serve(functions::routes::SIGN_IN)
}
