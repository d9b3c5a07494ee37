//! `update-settings` Lambda: PUT /settings, see [`functions::routes::UPDATE_SETTINGS`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::http::serve(functions::routes::UPDATE_SETTINGS)
}
