//! `get-user` Lambda: GET /users/{id}, see [`functions::routes::GET_USER`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::pipeline::serve(functions::routes::GET_USER)
}
