//! `list-users` Lambda: see [`functions::routes::LIST_USERS`].

fn main() -> Result<(), lambda_http::Error> {
    shared::runtime::start(shared::http::run(
        functions::routes::LIST_USERS,
        functions::users::list,
    ))
}
