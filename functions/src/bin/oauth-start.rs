//! `oauth-start` Lambda: GET /auth/oauth/{provider}, see [`functions::routes::OAUTH_START`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::pipeline::serve(functions::routes::OAUTH_START)
}
