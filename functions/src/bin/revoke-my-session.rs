//! `revoke-my-session` Lambda: DELETE /me/sessions/{id}, see [`functions::routes::REVOKE_MY_SESSION`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::pipeline::serve(functions::routes::REVOKE_MY_SESSION)
}
