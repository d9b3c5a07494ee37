//! `update-user` Lambda: PATCH /users/{id}, see [`functions::routes::UPDATE_USER`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::pipeline::serve(functions::routes::UPDATE_USER)
}
