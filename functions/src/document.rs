//! GET /openapi.json: the committed OpenAPI document, served as `make routes` wrote it
//! (from [`crate::openapi`], which no binary links).

use lambda_http::{Body, Response};
use shared::{ApiError, App, Caller};

/// The committed document, as `make routes` wrote it.
pub const DOCUMENT: &str = include_str!("../../openapi.json");

/// GET /openapi.json: the document, to generate clients and fuzz the API with.
pub async fn handler(_app: App, _caller: Caller) -> Result<Response<Body>, ApiError> {
    let mut response = Response::new(Body::Text(DOCUMENT.to_owned()));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}
