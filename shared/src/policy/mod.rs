//! Rules that hold across routes: rate limits (counted in Postgres), audit events, the
//! database's word on a permission, and the answer time of the routes that must not
//! tell accounts apart.

pub mod answer_time;
pub mod audit;
pub mod authorize;
pub mod rate_limit;
