//! `update-settings` Lambda: see [`functions::routes::UPDATE_SETTINGS`].

fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::start(shared::http::run(
        functions::routes::UPDATE_SETTINGS,
        functions::settings::put,
    ))
}
