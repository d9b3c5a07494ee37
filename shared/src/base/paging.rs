//! Paging: the `page` and `pageSize` a list takes, the page a query answers, and where
//! that page is in the whole list.

use serde::{Deserialize, Serialize};
use validator::Validate;

pub const DEFAULT_PAGE_SIZE: u32 = 20;
pub const MAX_PAGE_SIZE: u32 = 100;

/// `page` (from 1) and `pageSize` (1..=100, default 20).
#[derive(Debug, Clone, Copy, Deserialize, Validate, PartialEq, Eq, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The page, from 1.
    #[serde(default = "first_page")]
    #[validate(range(min = 1, max = 100000, message = "must be between 1 and 100000"))]
    #[param(minimum = 1, maximum = 100000, default = 1)]
    pub page: u32,
    /// Items per page.
    #[serde(default = "default_page_size")]
    #[validate(range(min = 1, max = 100, message = "must be between 1 and 100"))]
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub page_size: u32,
}

impl Default for PageQuery {
    fn default() -> Self {
        Self {
            page: 1,
            page_size: DEFAULT_PAGE_SIZE,
        }
    }
}

impl PageQuery {
    /// Inclusive row range for PostgREST's Range header.
    pub fn range(&self) -> (usize, usize) {
        let size = self.page_size as usize;
        let from = (self.page as usize - 1) * size;
        (from, from + size - 1)
    }
}

fn first_page() -> u32 {
    1
}

fn default_page_size() -> u32 {
    DEFAULT_PAGE_SIZE
}

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
