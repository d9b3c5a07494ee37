//! `list-my-sessions` Lambda: GET /me/sessions, see [`functions::routes::LIST_MY_SESSIONS`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::pipeline::serve(functions::routes::LIST_MY_SESSIONS)
}
