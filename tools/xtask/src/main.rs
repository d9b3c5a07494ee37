//! `cargo xtask <command>` (the alias is in .cargo/config.toml). Commands:
//!
//! - `routes`: write every file that lists the routes from the route table
//!   (functions/src/routes.rs); `routes --check` writes nothing, lists what differs and
//!   exits 1 if anything does.
//! - `modules`: fail when modules of `shared` or `functions` import each other in a
//!   circle ([`xtask::modules`]), naming the files and the paths that tie them.

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
        ["modules"] => {
            let mut failed = false;
            for lib in xtask::modules::CHECKED {
                match xtask::modules::circles(&repo, &repo.join(lib)) {
                    Ok(circles) if circles.is_empty() => {
                        println!("modules: {lib}: no module imports one that imports it back")
                    }
                    Ok(circles) => {
                        failed = true;
                        for circle in circles {
                            eprintln!("modules: a circle of {}", circle.files.join(", "));
                            for edge in circle.edges {
                                eprintln!("  {} -> {}: {}", edge.from, edge.to, edge.via);
                            }
                        }
                    }
                    Err(e) => {
                        eprintln!("modules: {e}");
                        failed = true;
                    }
                }
            }
            if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        _ => {
            eprintln!("usage: cargo xtask routes [--check] | cargo xtask modules");
            ExitCode::from(2)
        }
    }
}
