//! `recover` Lambda: POST /auth/recover, see [`functions::routes::RECOVER`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::pipeline::serve(functions::routes::RECOVER)
}
