//! The auth stand-in's own tests: each endpoint's documented answers and its main
//! refusals, through the router in-process (tower's oneshot) against a PostgreSQL
//! database made for the run (supabase/local/*.sql and every migration) and dropped
//! after it. PostgreSQL at DATABASE_URL, else postgres@127.0.0.1:5432 (trust); psql and
//! openssl on PATH. Without them the run fails: nothing is skipped.
//!
//! A harness of its own (libtest-mimic: cargo test's filters and output) so that the
//! database is created once before the first test and dropped after the last. Tests on
//! the shared database use addresses of their own; those that change what every user
//! meets (the hooks) or read every row get a copy of their own.

mod support;

mod admin;
mod config;
mod hooks;
mod keys;
mod kong;
mod logout;
mod mailbox;
mod oauth;
mod server;
mod signup;
mod token;
mod user;
mod verify;

use std::sync::Arc;

use libtest_mimic::{Arguments, Trial};
use support::{trial, World};

fn main() {
    let args = Arguments::from_args();
    let tests = [
        admin::tests(),
        config::tests(),
        hooks::tests(),
        keys::tests(),
        kong::tests(),
        logout::tests(),
        mailbox::tests(),
        oauth::tests(),
        server::tests(),
        signup::tests(),
        token::tests(),
        user::tests(),
        verify::tests(),
    ]
    .concat();
    let runs_any = !args.list
        && tests
            .iter()
            .any(|(name, _)| !args.is_filtered_out(&Trial::test(name.clone(), || Ok(()))));
    let world = runs_any.then(|| match World::create() {
        Ok(world) => Arc::new(world),
        Err(e) => {
            eprintln!("auth_standin tests: cannot set up the database: {e}");
            std::process::exit(1);
        }
    });
    let trials = tests
        .into_iter()
        .map(|(name, test)| match &world {
            Some(world) => trial(world.clone(), name, test),
            // Listed or filtered out: never run.
            None => Trial::test(name, || Ok(())),
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    if let Some(world) = &world {
        world.clean_up();
    }
    conclusion.exit();
}
