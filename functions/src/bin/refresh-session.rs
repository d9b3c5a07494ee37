//! `refresh-session` Lambda: POST /auth/refresh, see [`functions::routes::REFRESH_SESSION`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::pipeline::serve(functions::routes::REFRESH_SESSION)
}
