//! `delete-my-account` Lambda: DELETE /me, see [`functions::routes::DELETE_MY_ACCOUNT`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::pipeline::serve(functions::routes::DELETE_MY_ACCOUNT)
}
