//! `sweep-storage` Lambda (scheduled, rate(5 minutes)): see [`functions::routes::SWEEP_STORAGE`].
//! Written by `make routes` from the route table (functions/src/routes.rs).

fn main() -> Result<(), lambda_http::Error> {
    shared::pipeline::job::serve(functions::routes::SWEEP_STORAGE)
}
