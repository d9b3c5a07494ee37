//! `stream` Lambda (Function URL, RESPONSE_STREAM): see [`functions::routes::STREAM`].

fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::start(shared::sse::run(
        functions::routes::STREAM,
        functions::stream::admit,
        functions::stream::produce,
    ))
}
