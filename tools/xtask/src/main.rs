//! `cargo xtask <command>` (the alias is in .cargo/config.toml). Commands:
//!
//! - `routes`: write every file that lists the routes from the route table
//!   (functions/src/routes.rs); `routes --check` writes nothing, lists what differs and
//!   exits 1 if anything does.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("tools/xtask sits two levels below the repository")
        .to_path_buf()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let repo = repo();
    match args.as_slice() {
        ["routes"] => match xtask::write(&repo) {
            Ok(changed) if changed.is_empty() => {
                println!("routes: every generated file is up to date");
                ExitCode::SUCCESS
            }
            Ok(changed) => {
                for path in changed {
                    println!("routes: wrote {}", path.display());
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("routes: {e}");
                ExitCode::FAILURE
            }
        },
        ["routes", "--check"] => match xtask::check(&repo) {
            Ok(stale) if stale.is_empty() => {
                println!("routes: every generated file is up to date");
                ExitCode::SUCCESS
            }
            Ok(stale) => {
                for s in stale {
                    eprintln!("routes: {s}");
                }
                eprintln!("routes: run `make routes` and commit what it writes");
                ExitCode::FAILURE
            }
            Err(e) => {
                eprintln!("routes: {e}");
                ExitCode::FAILURE
            }
        },
        _ => {
            eprintln!("usage: cargo xtask routes [--check]");
            ExitCode::from(2)
        }
    }
}
