//! `sign-up` Lambda: POST /auth/sign-up, see [`functions::routes::SIGN_UP`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::pipeline::serve(functions::routes::SIGN_UP)
}
