//! `list-audit-log` Lambda: see [`functions::routes::LIST_AUDIT_LOG`].

fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::start(shared::http::run(
        functions::routes::LIST_AUDIT_LOG,
        functions::audit_log::list,
    ))
}
