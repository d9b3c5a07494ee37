//! The cases `make bench` measures, in one table ([`CASES`]): what the function is sent
//! (through the Runtime API emulator, as API Gateway would send it) and its floor, the
//! PostgREST request the handler wraps, sent straight to PostgREST as the same user with
//! the same token.
//!
//! The floor is the handler's main PostgREST request, as `functions/src/*.rs` make it
//! today: the projects routes call one SQL function each (`list_projects`,
//! `create_project`, `update_project`: the role check, the write and a bounded count
//! inside), get-project reads the table as one object, list-users calls `list_users`
//! (the permission check, the search and a bounded count inside). Whatever else the
//! function does (token verification, any other PostgREST call, JSON reshaping, the
//! runtime's round trips) is what the ratio function / floor shows. When a handler
//! changes which request it makes, change its floor here and nowhere else; a run warns
//! when a function and its floor see a different number of rows.
//!
//! Templates may use `${name}` placeholders, filled from [`Fixtures`]: the seeded ids
//! (`workspace_a`, `workspace_writer`, `project_a`, `project_writer`) and
//! `project_columns`. An unknown placeholder is an error, not an empty string.

use crate::error::{bail, Result};
use crate::seed;

/// `functions/src/projects.rs` COLUMNS.
const PROJECT_COLUMNS: &str = "id,workspace_id,name,description,created_by,created_at,updated_at";

/// Who sends the request (the seeded users of [`crate::seed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// No credentials.
    Nobody,
    /// A member of one workspace holding 200 projects.
    A,
    /// A member of 100 workspaces; application role admin (users.read).
    B,
    /// The editor of a workspace of its own, where the writes go.
    Writer,
}

impl Caller {
    pub fn label(self) -> &'static str {
        match self {
            Self::Nobody => "-",
            Self::A => "A (1 workspace)",
            Self::B => "B (100 workspaces, admin)",
            Self::Writer => "writer (editor)",
        }
    }
}

/// One measured request.
pub struct Case {
    /// Unique; `BENCH_CASES` selects by it.
    pub name: &'static str,
    /// The binary in `target/<profile>/`.
    pub function: &'static str,
    pub method: &'static str,
    /// The API Gateway route (its `{name}`s become pathParameters).
    pub route: &'static str,
    pub path: &'static str,
    /// Raw, URL-encoded query string.
    pub query: &'static str,
    pub body: Option<&'static str>,
    pub caller: Caller,
    pub floor: Option<Floor>,
    /// Also measured after growing the data to the large scale.
    pub at_large_scale: bool,
    /// Also run for the long memory test (VmRSS after 1,000 and `BENCH_LONG` invocations).
    pub memory: bool,
}

/// The request the handler makes to PostgREST, as a Supabase client would send it.
/// `Authorization: Bearer <the caller's token>` and `apikey` are added to every floor;
/// `Content-Type: application/json` to those with a body.
pub struct Floor {
    pub method: &'static str,
    /// Relative to the PostgREST base URL.
    pub path_and_query: &'static str,
    pub body: Option<&'static str>,
    pub headers: &'static [(&'static str, &'static str)],
}

/// `db::one`: exactly one row, as an object.
const ONE_HEADERS: &[(&str, &str)] = &[("Accept", "application/vnd.pgrst.object+json")];

pub const CASES: &[Case] = &[
    Case {
        name: "health",
        function: "health",
        method: "GET",
        route: "/health",
        path: "/health",
        query: "",
        body: None,
        caller: Caller::Nobody,
        floor: None,
        at_large_scale: false,
        memory: true,
    },
    Case {
        name: "list-projects (one workspace)",
        function: "list-projects",
        method: "GET",
        route: "/projects",
        path: "/projects",
        query: "workspaceId=${workspace_a}",
        body: None,
        caller: Caller::A,
        floor: Some(Floor {
            method: "POST",
            path_and_query: "/rpc/list_projects",
            body: Some(r#"{"p_workspace_id":"${workspace_a}","p_limit":20,"p_offset":0}"#),
            headers: &[],
        }),
        at_large_scale: true,
        memory: true,
    },
    Case {
        name: "list-projects (all workspaces)",
        function: "list-projects",
        method: "GET",
        route: "/projects",
        path: "/projects",
        query: "",
        body: None,
        caller: Caller::B,
        floor: Some(Floor {
            method: "POST",
            path_and_query: "/rpc/list_projects",
            body: Some(r#"{"p_workspace_id":null,"p_limit":20,"p_offset":0}"#),
            headers: &[],
        }),
        at_large_scale: true,
        memory: false,
    },
    Case {
        name: "get-project",
        function: "get-project",
        method: "GET",
        route: "/projects/{id}",
        path: "/projects/${project_a}",
        query: "",
        body: None,
        caller: Caller::A,
        floor: Some(Floor {
            method: "GET",
            path_and_query: "/projects?select=${project_columns}&id=eq.${project_a}",
            body: None,
            headers: ONE_HEADERS,
        }),
        at_large_scale: false,
        memory: false,
    },
    Case {
        name: "create-project",
        function: "create-project",
        method: "POST",
        route: "/projects",
        path: "/projects",
        query: "",
        body: Some(
            r#"{"name":"Bench project","description":"Created by make bench","workspaceId":"${workspace_writer}"}"#,
        ),
        caller: Caller::Writer,
        floor: Some(Floor {
            method: "POST",
            path_and_query: "/rpc/create_project",
            body: Some(
                r#"{"p_workspace_id":"${workspace_writer}","p_name":"Bench project","p_description":"Created by make bench"}"#,
            ),
            headers: &[],
        }),
        at_large_scale: false,
        memory: false,
    },
    Case {
        name: "update-project",
        function: "update-project",
        method: "PATCH",
        route: "/projects/{id}",
        path: "/projects/${project_writer}",
        query: "",
        body: Some(r#"{"name":"Bench project, renamed"}"#),
        caller: Caller::Writer,
        floor: Some(Floor {
            method: "POST",
            path_and_query: "/rpc/update_project",
            body: Some(
                r#"{"p_id":"${project_writer}","p_changes":{"name":"Bench project, renamed"}}"#,
            ),
            headers: &[],
        }),
        at_large_scale: false,
        memory: false,
    },
    Case {
        name: "list-users (search)",
        function: "list-users",
        method: "GET",
        route: "/users",
        path: "/users",
        // Matches users 120..129 at both scales (see seed.rs).
        query: "search=User%20000012",
        body: None,
        caller: Caller::B,
        floor: Some(Floor {
            method: "POST",
            path_and_query: "/rpc/list_users",
            body: Some(r#"{"p_search":"User 000012","p_limit":20,"p_offset":0}"#),
            headers: &[],
        }),
        at_large_scale: true,
        memory: false,
    },
];

/// The values of the `${name}` placeholders.
pub struct Fixtures {
    values: Vec<(&'static str, String)>,
}

impl Fixtures {
    pub fn seeded() -> Self {
        Self {
            values: vec![
                ("workspace_a", seed::workspace_id(seed::WORKSPACE_A)),
                (
                    "workspace_writer",
                    seed::workspace_id(seed::WORKSPACE_WRITER),
                ),
                ("project_a", seed::project_id(seed::WORKSPACE_A, 1)),
                (
                    "project_writer",
                    seed::project_id(seed::WORKSPACE_WRITER, 1),
                ),
                ("project_columns", PROJECT_COLUMNS.to_owned()),
            ],
        }
    }

    /// `template` with every `${name}` replaced.
    pub fn expand(&self, template: &str) -> Result<String> {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                bail!("unterminated placeholder in {template:?}");
            };
            let name = &after[..end];
            match self.values.iter().find(|(n, _)| *n == name) {
                Some((_, value)) => out.push_str(value),
                None => bail!("unknown placeholder ${{{name}}} in {template:?}"),
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_expands() {
        let fixtures = Fixtures::seeded();
        for case in CASES {
            let floor = case.floor.as_ref();
            for template in [case.path, case.query]
                .into_iter()
                .chain(case.body)
                .chain(floor.map(|f| f.path_and_query))
                .chain(floor.and_then(|f| f.body))
            {
                let expanded = fixtures.expand(template).unwrap();
                assert!(!expanded.contains("${"), "{}: {expanded}", case.name);
            }
        }
        assert!(fixtures.expand("${nope}").is_err());
        assert!(fixtures.expand("${workspace_a").is_err());
    }

    #[test]
    fn names_are_unique() {
        for (i, case) in CASES.iter().enumerate() {
            assert!(CASES[i + 1..].iter().all(|c| c.name != case.name));
        }
    }
}
