//! One route table, four places: `functions::routes::ALL`, the binaries in
//! functions/src/bin, the `cargo lambda watch` router in Cargo.toml, and template.yaml
//! (plus one API Gateway event fixture per route). They must list the same routes.

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

fn from_code() -> RouteSet {
    routes::ALL
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

fn from_watch_router() -> RouteSet {
    let text = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    let manifest: toml::Value = toml::from_str(&text).unwrap();
    let router = manifest["workspace"]["metadata"]["lambda"]["watch"]["router"]
        .as_table()
        .expect("[workspace.metadata.lambda.watch.router] in Cargo.toml");
    let mut set = RouteSet::new();
    for (path, entries) in router {
        for entry in entries.as_array().expect("a list of {method, function}") {
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
    for (_, resource) in resources {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .expect("every function names its Binary")
            .to_owned();
        // Functions without events (Function URLs) serve no HttpApi route.
        let Some(events) = resource["Properties"]["Events"].as_hash() else {
            continue;
        };
        for (_, event) in events {
            if event["Type"].as_str() != Some("HttpApi") {
                continue;
            }
            let props = &event["Properties"];
            set.insert((
                props["Method"].as_str().unwrap().to_uppercase(),
                props["Path"].as_str().unwrap().to_owned(),
                binary.clone(),
            ));
        }
    }
    set
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
        routes::ALL.len(),
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
    let functions: BTreeSet<String> = local.iter().map(|(_, _, f)| f.clone()).collect();
    assert_eq!(binaries(), functions, "functions/src/bin vs routes");
}

#[test]
fn streaming_routes_have_a_response_streaming_function_url() {
    let text = std::fs::read_to_string(repo().join("template.yaml")).unwrap();
    let docs = YamlLoader::load_from_str(&text).unwrap();
    let resources = docs[0]["Resources"].as_hash().unwrap();
    for route in routes::STREAMING {
        let function = resources
            .values()
            .find(|r| r["Metadata"]["BuildProperties"]["Binary"].as_str() == Some(route.function))
            .unwrap_or_else(|| panic!("no function for {}", route.function));
        let url = &function["Properties"]["FunctionUrlConfig"];
        assert_eq!(
            url["InvokeMode"].as_str(),
            Some("RESPONSE_STREAM"),
            "{}",
            route.function
        );
        assert_eq!(
            url["AuthType"].as_str(),
            Some("NONE"),
            "authenticated in the function"
        );
        assert!(function["Properties"]["Events"].as_hash().is_none());
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
