//! Every path and method no route serves (API Gateway's `$default` route; locally the
//! catch-all of the `cargo lambda watch` router): 404 with the error envelope and the
//! security headers, like every other answer of the API.

use lambda_http::{Body, Response};
use shared::{ApiError, App, Caller};

pub async fn handler(_app: App, _caller: Caller) -> Result<Response<Body>, ApiError> {
    Err(ApiError::not_found("Route").with_cause("no route for this method and path"))
}
