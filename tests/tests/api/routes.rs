//! One route table, `functions::routes`, and the files `make routes` writes from it:
//! the binaries in functions/src/bin and their `[[bin]]` entries, the `cargo lambda
//! watch` router in Cargo.toml, template.yaml's functions, the event fixtures and
//! the route table of docs/routes.md. The committed files must be what the generator writes, and
//! (read back with their own parsers) list the same routes as the table.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use functions::routes;
use yaml_rust2::YamlLoader;

type RouteSet = BTreeSet<(String, String, String)>; // (method, path, function)

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The HttpApi's routes in the table, with the $default one as ("ANY", "$default").
fn from_code() -> RouteSet {
    let fallbacks = routes::FALLBACKS.iter().map(|r| {
        (
            "ANY".to_owned(),
            "$default".to_owned(),
            r.function.to_owned(),
        )
    });
    routes::ALL
        .iter()
        .map(|r| {
            (
                r.method.to_string(),
                r.path.to_owned(),
                r.function.to_owned(),
            )
        })
        .chain(fallbacks)
        .collect()
}

fn from_watch_router() -> RouteSet {
    let text = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    let manifest: toml::Value = toml::from_str(&text).unwrap();
    let router = manifest["workspace"]["metadata"]["lambda"]["watch"]["router"]
        .as_table()
        .expect("[workspace.metadata.lambda.watch.router] in Cargo.toml");
    let mut set = RouteSet::new();
    for (path, entries) in router {
        if path == xtask::CATCH_ALL_PATH {
            // The local $default: one function for every method.
            let function = entries.as_str().expect("the catch-all names one function");
            set.insert(("ANY".to_owned(), "$default".to_owned(), function.to_owned()));
            continue;
        }
        for entry in entries.as_array().expect("a list of {method, function}") {
            let function = entry["function"].as_str().unwrap();
            if routes::FALLBACKS.iter().any(|r| r.function == function) {
                // A method no route of this path serves: the local $default.
                let method = entry["method"].as_str().unwrap();
                assert!(
                    !routes::ALL
                        .iter()
                        .any(|r| r.path == path && r.method.as_str() == method),
                    "{method} {path} is a route, not the $default"
                );
                continue;
            }
            if entry["method"].as_str() == Some("OPTIONS") {
                // Local CORS preflight: must go to a function that serves this path.
                let function = entry["function"].as_str().unwrap();
                assert!(
                    routes::ALL
                        .iter()
                        .chain(routes::STREAMING)
                        .any(|r| r.path == path && r.function == function),
                    "OPTIONS {path} routed to {function}, which does not serve {path}"
                );
                continue;
            }
            set.insert((
                entry["method"].as_str().unwrap().to_owned(),
                path.clone(),
                entry["function"].as_str().unwrap().to_owned(),
            ));
        }
    }
    set
}

fn from_template() -> RouteSet {
    let text = std::fs::read_to_string(repo().join("template.yaml")).unwrap();
    let docs = YamlLoader::load_from_str(&text).expect("template.yaml parses");
    let resources = docs[0]["Resources"].as_hash().expect("Resources");
    let mut set = RouteSet::new();
    for (name, resource) in resources {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = binary_of(name.as_str().unwrap(), resource);
        // Functions without events (Function URLs) serve no HttpApi route.
        let Some(events) = resource["Properties"]["Events"].as_hash() else {
            continue;
        };
        for (_, event) in events {
            if event["Type"].as_str() != Some("HttpApi") {
                continue;
            }
            let props = &event["Properties"];
            if props["Path"].is_badvalue() && props["Method"].is_badvalue() {
                // No Path and no Method: SAM's $default route.
                set.insert(("ANY".to_owned(), "$default".to_owned(), binary.clone()));
                continue;
            }
            set.insert((
                props["Method"].as_str().unwrap().to_uppercase(),
                props["Path"].as_str().unwrap().to_owned(),
                binary.clone(),
            ));
        }
    }
    set
}

/// The binary a template function runs: `sam build` runs the Makefile's
/// build-<LogicalId> (BuildMethod: makefile), which copies the binary of the route whose
/// logical id that is (checked by the test below).
fn binary_of(name: &str, resource: &yaml_rust2::Yaml) -> String {
    assert_eq!(
        resource["Metadata"]["BuildMethod"].as_str(),
        Some("makefile"),
        "{name} is built by the Makefile"
    );
    xtask::routes()
        .map(|r| r.function)
        .chain(xtask::JOBS.iter().map(|j| j.function))
        .find(|f| format!("{}Function", xtask::logical_id_of(f)) == name)
        .unwrap_or_else(|| panic!("{name} is no route's or job's function"))
        .to_owned()
}

/// `sam build` runs `make build-<LogicalId>` for each function: every target copies its
/// own route's binary out of the one workspace build.
#[test]
fn every_function_builds_with_the_makefile_and_copies_its_own_binary() {
    for route in xtask::routes() {
        let target = format!("build-{}Function", xtask::logical_id(route));
        let out = std::process::Command::new("make")
            .args(["-n", "-s", &target, "ARTIFACTS_DIR=/artifacts"])
            .current_dir(repo())
            .output()
            .expect("make runs");
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{target}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            script.contains("cargo lambda build --release --arm64"),
            "{target}:\n{script}"
        );
        let copy = format!(
            "target/lambda/{}/bootstrap /artifacts/bootstrap",
            route.function
        );
        assert!(script.contains(&copy), "{target}:\n{script}");
    }
}

fn binaries() -> BTreeSet<String> {
    std::fs::read_dir(repo().join("functions/src/bin"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect()
}

fn streaming() -> RouteSet {
    routes::STREAMING
        .iter()
        .map(|r| {
            (
                r.method.to_string(),
                r.path.to_owned(),
                r.function.to_owned(),
            )
        })
        .collect()
}

#[test]
fn template_watch_router_binaries_and_code_list_the_same_routes() {
    let code = from_code();
    assert_eq!(
        code.len(),
        routes::ALL.len() + routes::FALLBACKS.len(),
        "duplicate routes in routes::ALL"
    );
    // Locally every route, streaming ones included, is served by the watch router.
    let local: RouteSet = code.union(&streaming()).cloned().collect();
    assert_eq!(
        from_watch_router(),
        local,
        "Cargo.toml watch router vs routes"
    );
    // On AWS the HttpApi serves routes::ALL; streaming routes have Function URLs.
    assert_eq!(
        from_template(),
        code,
        "template.yaml HttpApi vs routes::ALL"
    );
    // The binaries: every route's, and every scheduled function's.
    let functions: BTreeSet<String> = local
        .iter()
        .map(|(_, _, f)| f.clone())
        .chain(routes::JOBS.iter().map(|j| j.function.to_owned()))
        .collect();
    assert_eq!(
        binaries(),
        functions,
        "functions/src/bin vs routes and jobs"
    );
}

#[test]
fn every_job_has_its_schedule_and_builds_its_own_binary() {
    let text = std::fs::read_to_string(repo().join("template.yaml")).unwrap();
    let docs = YamlLoader::load_from_str(&text).unwrap();
    let resources = &docs[0]["Resources"];
    for job in routes::JOBS {
        let id = xtask::logical_id_of(job.function);
        let function = &resources[format!("{id}Function").as_str()];
        let schedule = &function["Properties"]["Events"]["Schedule"];
        assert_eq!(
            schedule["Type"].as_str(),
            Some("ScheduleV2"),
            "{}",
            job.function
        );
        assert_eq!(
            schedule["Properties"]["ScheduleExpression"].as_str(),
            Some(job.schedule)
        );
        assert!(
            !resources[format!("{id}ErrorsAlarm").as_str()].is_badvalue(),
            "{} has its errors alarm",
            job.function
        );
        let out = std::process::Command::new("make")
            .args([
                "-n",
                "-s",
                &format!("build-{id}Function"),
                "ARTIFACTS_DIR=/artifacts",
            ])
            .current_dir(repo())
            .output()
            .expect("make runs");
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(
            script.contains(&format!(
                "target/lambda/{}/bootstrap /artifacts/bootstrap",
                job.function
            )),
            "{script}"
        );
    }
}

#[test]
fn streaming_routes_have_a_response_streaming_function_url() {
    let text = std::fs::read_to_string(repo().join("template.yaml")).unwrap();
    let docs = YamlLoader::load_from_str(&text).unwrap();
    let resources = docs[0]["Resources"].as_hash().unwrap();
    for route in routes::STREAMING {
        let name = format!("{}Function", xtask::logical_id(route));
        let function = resources
            .iter()
            .find(|(k, _)| k.as_str() == Some(name.as_str()))
            .map(|(_, r)| r)
            .unwrap_or_else(|| panic!("no function for {}", route.function));
        let url = &function["Properties"]["FunctionUrlConfig"];
        assert_eq!(
            url["InvokeMode"].as_str(),
            Some("RESPONSE_STREAM"),
            "{}",
            route.function
        );
        // Behind CloudFront: only the distribution may invoke the URL (origin access
        // control); the function still authenticates the caller itself.
        assert_eq!(
            url["AuthType"].as_str(),
            Some("AWS_IAM"),
            "{}",
            route.function
        );
        assert!(function["Properties"]["Events"].as_hash().is_none());
        assert!(
            !function["Properties"]["ReservedConcurrentExecutions"].is_badvalue(),
            "{}: reserved concurrency",
            route.function
        );
    }
}

#[test]
fn every_binary_runs_its_own_route() {
    for route in routes::ALL {
        let source = std::fs::read_to_string(
            repo().join(format!("functions/src/bin/{}.rs", route.function)),
        )
        .unwrap();
        let constant = route.function.to_uppercase().replace('-', "_");
        assert!(
            source.contains(&format!("functions::routes::{constant}")),
            "{}.rs does not run routes::{constant}",
            route.function
        );
    }
}

#[test]
fn every_route_has_an_event_fixture_for_cargo_lambda_invoke() {
    for route in routes::ALL {
        let path = repo().join(format!("functions/events/{}.json", route.function));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("missing {}", path.display()));
        let event: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(event["version"], "2.0", "{}", route.function);
        assert_eq!(
            event["routeKey"],
            format!("{} {}", route.method, route.path),
            "{}",
            route.function
        );
        // lambda_http must read it as an API Gateway v2 request for that method.
        let request = lambda_http::request::from_str(&text).expect("a valid HTTP API event");
        assert_eq!(request.method(), route.method, "{}", route.function);
    }
}

#[test]
fn committed_files_are_what_make_routes_writes() {
    let stale = xtask::check(&repo()).expect("the generated files are readable");
    let list: Vec<String> = stale.iter().map(ToString::to_string).collect();
    assert!(
        list.is_empty(),
        "run `make routes` and commit what it writes:\n{}",
        list.join("\n")
    );
}

/// A copy of what the generator writes, in a directory of its own.
fn generated_copy() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("routes-{}", uuid::Uuid::new_v4().simple()));
    for (owned, _) in xtask::OWNED_DIRS {
        std::fs::create_dir_all(dir.join(owned)).unwrap();
    }
    for output in xtask::outputs() {
        let text = match output.section {
            None => output.content,
            Some((begin, end)) => format!("before\n{begin}\n{}{end}\nafter\n", output.content),
        };
        let path = dir.join(&output.path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

#[test]
fn the_check_finds_an_edited_file_a_stray_one_and_lost_markers() {
    let dir = generated_copy();
    assert_eq!(
        xtask::check(&dir).unwrap(),
        vec![],
        "a fresh copy is up to date"
    );

    let router = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&router).unwrap();
    std::fs::write(&router, text.replace("get-project", "get-projects")).unwrap();
    let fixture = dir.join("functions/events/health.json");
    std::fs::remove_file(&fixture).unwrap();
    std::fs::write(dir.join("functions/src/bin/old-route.rs"), "fn main() {}\n").unwrap();
    let table = dir.join("docs/routes.md");
    std::fs::write(&table, "no markers here\n").unwrap();
    // Text outside the markers is not the generator's: editing it is not stale.
    let template = dir.join("template.yaml");
    let text = std::fs::read_to_string(&template).unwrap();
    std::fs::write(&template, text.replace("before\n", "hand-written head\n")).unwrap();

    let stale = xtask::check(&dir).unwrap();
    assert_eq!(
        stale,
        vec![
            xtask::Stale::Differs("functions/events/health.json".into()),
            xtask::Stale::Differs("Cargo.toml".into()),
            xtask::Stale::NoMarkers("docs/routes.md".into()),
            xtask::Stale::Extra("functions/src/bin/old-route.rs".into()),
        ]
    );

    // Writing mends what it can and removes the stray binary; lost markers stay an error.
    assert!(xtask::write(&dir).is_err(), "routes.md without markers");
    std::fs::write(
        &table,
        xtask::outputs()
            .into_iter()
            .find(|o| o.path == Path::new("docs/routes.md"))
            .map(|o| {
                let (begin, end) = o.section.unwrap();
                format!("{begin}\n{end}\n")
            })
            .unwrap(),
    )
    .unwrap();
    let changed = xtask::write(&dir).unwrap();
    assert_eq!(changed.len(), 4, "{changed:?}");
    assert_eq!(xtask::check(&dir).unwrap(), vec![]);
    assert!(!dir.join("functions/src/bin/old-route.rs").exists());
    assert!(std::fs::read_to_string(&template)
        .unwrap()
        .starts_with("hand-written head\n"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A route constant left out of `ALL` (or `FALLBACKS`, `STREAMING`) would get no
/// binary, no function and no line in docs/routes.md, silently: every `Route` constant of the table
/// must be in one of them, named after its function (`get-project` -> `GET_PROJECT`, the
/// name its generated binary uses).
#[test]
fn every_route_constant_of_the_table_is_listed_and_named_after_its_function() {
    let source = std::fs::read_to_string(repo().join("functions/src/routes.rs")).unwrap();
    let declared: BTreeSet<String> = source
        .lines()
        .filter_map(|line| line.strip_prefix("pub const "))
        .filter_map(|rest| rest.split_once(": Route ="))
        .map(|(name, _)| name.to_owned())
        .collect();
    let listed: BTreeSet<String> = xtask::routes().map(xtask::constant).collect();
    assert_eq!(
        declared, listed,
        "routes.rs: constants declared vs listed in ALL, FALLBACKS and STREAMING"
    );
}
