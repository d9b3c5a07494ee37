//! Rules that hold across routes: rate limits (counted in Postgres) and audit events.

pub mod audit;
pub mod rate_limit;
