//! `complete-email-link` Lambda: POST /auth/confirm, see [`functions::routes::COMPLETE_EMAIL_LINK`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::pipeline::serve(functions::routes::COMPLETE_EMAIL_LINK)
}
