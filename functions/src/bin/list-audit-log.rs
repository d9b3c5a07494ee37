//! `list-audit-log` Lambda: GET /audit-log, see [`functions::routes::LIST_AUDIT_LOG`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::pipeline::serve(functions::routes::LIST_AUDIT_LOG)
}
