//! Success envelopes: `{"data": ...}` and, for lists, `{"data": [...], "pagination": {...}}`.

use http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;
use serde_json::json;

use crate::pipeline::error::ApiError;
use crate::pipeline::input::PageQuery;

pub type ApiResult = Result<Response<Body>, ApiError>;

/// Where a page is in the whole list: `total` is exact up to 1000 rows, an estimate above.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    pub page: u32,
    pub page_size: u32,
    pub total: u64,
    pub total_pages: u64,
}

impl Pagination {
    pub fn new(query: &PageQuery, total: u64) -> Self {
        let size = u64::from(query.page_size);
        Self {
            page: query.page,
            page_size: query.page_size,
            total,
            total_pages: total.div_ceil(size),
        }
    }
}

/// A page of rows together with the total the query matched.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_pages_rounds_up() {
        let q = PageQuery {
            page: 1,
            page_size: 20,
        };
        assert_eq!(Pagination::new(&q, 0).total_pages, 0);
        assert_eq!(Pagination::new(&q, 20).total_pages, 1);
        assert_eq!(Pagination::new(&q, 21).total_pages, 2);
    }
}
