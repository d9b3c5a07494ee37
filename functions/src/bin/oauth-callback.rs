//! `oauth-callback` Lambda: GET /auth/callback, see [`functions::routes::OAUTH_CALLBACK`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::pipeline::serve(functions::routes::OAUTH_CALLBACK)
}
