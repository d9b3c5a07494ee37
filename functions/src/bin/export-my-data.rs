//! `export-my-data` Lambda: GET /me/export, see [`functions::routes::EXPORT_MY_DATA`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::pipeline::serve(functions::routes::EXPORT_MY_DATA)
}
