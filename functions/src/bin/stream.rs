//! `stream` Lambda (Function URL, RESPONSE_STREAM): GET /stream, see [`functions::routes::STREAM`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::pipeline::sse::serve(functions::routes::STREAM)
}
