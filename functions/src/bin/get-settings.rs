//! `get-settings` Lambda: see [`functions::routes::GET_SETTINGS`].

fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::start(shared::http::run(
        functions::routes::GET_SETTINGS,
        functions::settings::get,
    ))
}
