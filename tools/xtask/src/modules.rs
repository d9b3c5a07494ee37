//! `cargo xtask modules`: no module of `shared` or `functions` imports, directly or
//! through others, a module that imports it back. Layers hold only while that is true.
//!
//! Each crate's module tree is read from its `lib.rs` (`mod` items, file by file, as
//! rustc finds them) and parsed with `syn`; every `use` of the crate's own items and every
//! path that starts with `crate`, `self` or `super` is an edge from the file it is written
//! in to the file of the deepest module it names. A strongly connected set of more than
//! one file (Tarjan's algorithm) is a circle, reported with the paths that tie it.
//!
//! Written here rather than with `cargo modules dependencies --acyclic`: that tool builds
//! on rust-analyzer's crates, which take longer to compile on CI's two cores than the
//! rest of the test run's build; this reads the same `mod` and `use` structure with the
//! parser the workspace already compiles.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// One file module of a crate: its path from the crate root and its file.
#[derive(Debug, Clone)]
struct Module {
    path: Vec<String>,
    file: PathBuf,
}

/// The crates whose modules `cargo xtask modules` (make lint) and its test check.
pub const CHECKED: &[&str] = &[
    "shared/src/lib.rs",
    "functions/src/lib.rs",
    "tools/devstack/src/lib.rs",
];

/// An import from one file to another, and the path written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub via: String,
}

/// The circles of a crate: each a list of files and the edges among them.
#[derive(Debug)]
pub struct Circle {
    pub files: Vec<String>,
    pub edges: Vec<Edge>,
}

/// The circles among the modules of the crate whose root is `lib_rs`, with file names
/// relative to `repo`.
pub fn circles(repo: &Path, lib_rs: &Path) -> Result<Vec<Circle>, String> {
    let modules = module_tree(lib_rs)?;
    let by_path: BTreeMap<Vec<String>, usize> = modules
        .iter()
        .enumerate()
        .map(|(i, m)| (m.path.clone(), i))
        .collect();
    let mut edges: BTreeSet<(usize, usize, String)> = BTreeSet::new();
    for (i, module) in modules.iter().enumerate() {
        let text = std::fs::read_to_string(&module.file)
            .map_err(|e| format!("{}: {e}", module.file.display()))?;
        let file = syn::parse_file(&text).map_err(|e| format!("{}: {e}", module.file.display()))?;
        let mut paths = Paths {
            base: module.path.clone(),
            inline: Vec::new(),
            modules: &by_path,
            found: Vec::new(),
        };
        paths.visit_file(&file);
        for absolute in paths.found {
            // The deepest module the path names (the rest is an item in it).
            let target = (0..=absolute.len())
                .rev()
                .find_map(|n| by_path.get(&absolute[..n]).copied());
            if let Some(j) = target.filter(|&j| j != i) {
                edges.insert((i, j, format!("crate::{}", absolute.join("::"))));
            }
        }
    }
    let name = |i: usize| {
        modules[i]
            .file
            .strip_prefix(repo)
            .unwrap_or(&modules[i].file)
            .display()
            .to_string()
    };
    let graph: Vec<Vec<usize>> = (0..modules.len())
        .map(|i| {
            edges
                .iter()
                .filter(|(f, _, _)| *f == i)
                .map(|(_, t, _)| *t)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect()
        })
        .collect();
    Ok(strongly_connected(&graph)
        .into_iter()
        .filter(|set| set.len() > 1)
        .map(|set| {
            let members: BTreeSet<usize> = set.iter().copied().collect();
            Circle {
                files: set.iter().map(|&i| name(i)).collect(),
                edges: edges
                    .iter()
                    .filter(|(f, t, _)| members.contains(f) && members.contains(t))
                    .map(|(f, t, via)| Edge {
                        from: name(*f),
                        to: name(*t),
                        via: via.clone(),
                    })
                    .collect(),
            }
        })
        .collect())
}

/// Every file module reachable from `lib_rs` through `mod name;` items.
fn module_tree(lib_rs: &Path) -> Result<Vec<Module>, String> {
    let mut modules = Vec::new();
    let mut pending = vec![Module {
        path: Vec::new(),
        file: lib_rs.to_path_buf(),
    }];
    while let Some(module) = pending.pop() {
        let text = std::fs::read_to_string(&module.file)
            .map_err(|e| format!("{}: {e}", module.file.display()))?;
        let file = syn::parse_file(&text).map_err(|e| format!("{}: {e}", module.file.display()))?;
        // Where its child modules' files are: beside lib.rs and mod.rs, else in a folder
        // of the file's own name.
        let stem = module
            .file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("");
        let parent = module.file.parent().unwrap_or(Path::new("."));
        let dir = if matches!(stem, "lib" | "mod" | "main") {
            parent.to_path_buf()
        } else {
            parent.join(stem)
        };
        for item in &file.items {
            let syn::Item::Mod(m) = item else { continue };
            if m.content.is_some() {
                continue;
            }
            let name = m.ident.to_string();
            let file = [
                dir.join(format!("{name}.rs")),
                dir.join(&name).join("mod.rs"),
            ]
            .into_iter()
            .find(|p| p.exists())
            .ok_or_else(|| format!("{}: no file for `mod {name};`", module.file.display()))?;
            let mut path = module.path.clone();
            path.push(name);
            pending.push(Module { path, file });
        }
        modules.push(module);
    }
    modules.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(modules)
}

/// The crate-relative paths a file names, made absolute.
struct Paths<'m> {
    /// The file's module path.
    base: Vec<String>,
    /// Inline modules (`mod tests { .. }`) the visitor is inside.
    inline: Vec<String>,
    /// The crate's file modules, for paths that start at a child module.
    modules: &'m BTreeMap<Vec<String>, usize>,
    found: Vec<Vec<String>>,
}

impl Paths<'_> {
    fn here(&self) -> Vec<String> {
        self.base.iter().chain(&self.inline).cloned().collect()
    }

    /// `segments` made absolute when it starts with `crate`, `self` or `super`.
    fn absolute(&self, segments: &[String]) -> Option<Vec<String>> {
        let first = segments.first()?;
        match first.as_str() {
            "crate" => Some(segments[1..].to_vec()),
            "self" | "super" => {
                let mut here = self.here();
                let mut rest = segments;
                if rest.first().map(String::as_str) == Some("self") {
                    rest = &rest[1..];
                }
                while rest.first().map(String::as_str) == Some("super") {
                    here.pop()?;
                    rest = &rest[1..];
                }
                here.extend(rest.iter().cloned());
                Some(here)
            }
            // A path that starts at a child module (`use route::Route;` in a mod.rs).
            child => {
                let mut here = self.here();
                here.push(child.to_owned());
                self.modules.contains_key(&here).then(|| {
                    here.extend(segments[1..].iter().cloned());
                    here
                })
            }
        }
    }

    fn add(&mut self, segments: &[String]) {
        if let Some(absolute) = self.absolute(segments) {
            self.found.push(absolute);
        }
    }

    /// Every path a `use` tree names, with its prefix.
    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let mut full = prefix.clone();
                if n.ident != "self" {
                    full.push(n.ident.to_string());
                }
                self.add(&full);
            }
            syn::UseTree::Rename(r) => {
                let mut full = prefix.clone();
                if r.ident != "self" {
                    full.push(r.ident.to_string());
                }
                self.add(&full);
            }
            syn::UseTree::Glob(_) => {
                let full = prefix.clone();
                self.add(&full);
            }
            syn::UseTree::Group(g) => {
                for tree in &g.items {
                    self.use_tree(prefix, tree);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Paths<'_> {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &item.tree);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        self.add(&segments);
        syn::visit::visit_path(self, path);
    }

    /// `pub(crate)` and `pub(in path)` name where an item is seen, not what it uses.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        if item.content.is_some() {
            self.inline.push(item.ident.to_string());
            syn::visit::visit_item_mod(self, item);
            self.inline.pop();
        }
    }
}

/// Tarjan's strongly connected components of `graph` (adjacency lists).
fn strongly_connected(graph: &[Vec<usize>]) -> Vec<Vec<usize>> {
    struct State<'g> {
        graph: &'g [Vec<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        sets: Vec<Vec<usize>>,
    }
    fn visit(s: &mut State<'_>, v: usize) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        for &w in &s.graph[v] {
            match s.index[w] {
                None => {
                    visit(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on_stack[w] => s.low[v] = s.low[v].min(iw),
                Some(_) => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut set = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack[w] = false;
                set.push(w);
                if w == v {
                    break;
                }
            }
            set.sort_unstable();
            s.sets.push(set);
        }
    }
    let n = graph.len();
    let mut state = State {
        graph,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        sets: Vec::new(),
    };
    for v in 0..n {
        if state.index[v].is_none() {
            visit(&mut state, v);
        }
    }
    state.sets
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, files: &[(&str, &str)]) {
        for (name, text) in files {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-modules-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_circle_through_use_super_and_a_path_in_a_body_is_found() {
        let dir = scratch("circle");
        write(
            &dir,
            &[
                ("lib.rs", "pub mod a;\npub mod b;\npub mod c;\n"),
                (
                    "a/mod.rs",
                    "pub mod inner;\nuse crate::b::Thing;\npub fn helper() {}\n",
                ),
                (
                    "a/inner.rs",
                    "pub fn f() { super::super::c::g(); super::helper(); }\n",
                ),
                (
                    "b.rs",
                    "pub struct Thing;\nfn h() { crate::a::inner::f(); }\n",
                ),
                (
                    "c.rs",
                    "pub fn g() {}\n#[cfg(test)]\nmod tests { use super::*; }\n",
                ),
            ],
        );
        let circles = circles(&dir, &dir.join("lib.rs")).unwrap();
        assert_eq!(circles.len(), 1, "{circles:?}");
        let files = &circles[0].files;
        assert!(files.iter().any(|f| f.ends_with("a/mod.rs")), "{files:?}");
        assert!(files.iter().any(|f| f.ends_with("a/inner.rs")), "{files:?}");
        assert!(files.iter().any(|f| f.ends_with("b.rs")), "{files:?}");
        assert!(!files.iter().any(|f| f.ends_with("c.rs")), "{files:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_import_through_the_crate_roots_re_export_is_an_edge_to_the_root() {
        let dir = scratch("root");
        write(
            &dir,
            &[
                (
                    "lib.rs",
                    "pub mod low;\npub mod high;\npub use high::Top;\n",
                ),
                ("low.rs", "pub fn f() -> crate::Top { todo!() }\n"),
                ("high.rs", "use crate::low::f;\npub struct Top;\n"),
            ],
        );
        let circles = circles(&dir, &dir.join("lib.rs")).unwrap();
        assert_eq!(circles.len(), 1, "{circles:?}");
        assert_eq!(circles[0].files.len(), 3, "{circles:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// What `make lint` reports, kept by `make test` too.
    #[test]
    fn the_checked_crates_have_no_circle() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
            .ancestors()
            .nth(2)
            .unwrap();
        for lib in CHECKED {
            let circles = circles(repo, &repo.join(lib)).unwrap();
            assert!(
                circles.is_empty(),
                "{lib}: {circles:#?} (cargo xtask modules)"
            );
        }
    }

    #[test]
    fn layers_that_only_import_downwards_have_no_circle() {
        let dir = scratch("layers");
        write(
            &dir,
            &[
                (
                    "lib.rs",
                    "pub mod low;\npub mod high;\npub use high::Top;\n",
                ),
                ("low.rs", "pub struct Base;\n"),
                (
                    "high.rs",
                    "use crate::low::{self, Base};\npub struct Top(Base);\n",
                ),
            ],
        );
        assert!(circles(&dir, &dir.join("lib.rs")).unwrap().is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
