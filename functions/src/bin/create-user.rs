//! `create-user` Lambda: POST /users, see [`functions::routes::CREATE_USER`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::pipeline::serve(functions::routes::CREATE_USER)
}
