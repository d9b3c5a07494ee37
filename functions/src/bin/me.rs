//! `me` Lambda: see [`functions::routes::ME`].

fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::start(shared::http::run(
        functions::routes::ME,
        functions::users::me,
    ))
}
