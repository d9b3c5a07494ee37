//! Rules that hold across routes: rate limits (counted in Postgres), audit events, and
//! the answer time of the routes that must not tell accounts apart.

pub mod answer_time;
pub mod audit;
pub mod rate_limit;
