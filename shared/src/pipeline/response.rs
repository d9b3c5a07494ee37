//! Success envelopes: `{"data": ...}` and, for lists, `{"data": [...], "pagination": {...}}`.

use http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;
use serde_json::json;

use crate::base::error::ApiError;
use crate::base::paging::PageQuery;
pub use crate::base::paging::{Page, Pagination};

pub type ApiResult = Result<Response<Body>, ApiError>;

pub fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

fn envelope<T: Serialize>(status: StatusCode, data: &T) -> ApiResult {
    let data = serde_json::to_value(data)
        .map_err(|_| ApiError::internal("response serialization failed"))?;
    Ok(json_response(status, &json!({ "data": data })))
}

pub fn ok<T: Serialize>(data: &T) -> ApiResult {
    envelope(StatusCode::OK, data)
}

pub fn created<T: Serialize>(data: &T) -> ApiResult {
    envelope(StatusCode::CREATED, data)
}

pub fn page<T: Serialize>(query: &PageQuery, page: &Page<T>) -> ApiResult {
    let data = serde_json::to_value(&page.items)
        .map_err(|_| ApiError::internal("response serialization failed"))?;
    let pagination = Pagination::new(query, page.total);
    Ok(json_response(
        StatusCode::OK,
        &json!({ "data": data, "pagination": pagination }),
    ))
}

/// `{"data": <data>, "pagination": ...}`: a page whose `data` is an object (that names
/// what its items are) rather than the items themselves.
pub fn page_of<T: Serialize>(query: &PageQuery, data: &T, total: u64) -> ApiResult {
    let data = serde_json::to_value(data)
        .map_err(|_| ApiError::internal("response serialization failed"))?;
    let pagination = Pagination::new(query, total);
    Ok(json_response(
        StatusCode::OK,
        &json!({ "data": data, "pagination": pagination }),
    ))
}

pub fn no_content() -> ApiResult {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}
