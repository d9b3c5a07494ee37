//! `me` Lambda: see [`functions::routes::ME`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run(functions::routes::ME, functions::users::me).await
}
