//! `create-project` Lambda: POST /projects, see [`functions::routes::CREATE_PROJECT`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::pipeline::serve(functions::routes::CREATE_PROJECT)
}
