//! `stream` Lambda (Function URL, RESPONSE_STREAM): see [`functions::routes::STREAM`].

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::sse::run(
        functions::routes::STREAM,
        functions::stream::admit,
        functions::stream::produce,
    )
    .await
}
