//! `magic-link` Lambda: POST /auth/magic-link, see [`functions::routes::MAGIC_LINK`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::pipeline::serve(functions::routes::MAGIC_LINK)
}
