//! What a route takes and answers, as its handler's types say it ([`Signature`], filled
//! by [`crate::pipeline::typed`]'s extractors and answers) and as its table entry adds
//! ([`Own`]: the refusals, cookies and redirects that are the route's own).
//!
//! functions/src/openapi.rs renders both into the OpenAPI document; the fuzz target reads
//! every body type through [`Signature::read_body`]; the tests' sample requests and the
//! `cargo lambda invoke` fixtures take [`Signature::body_example`]. Nothing here runs on
//! a request: a route's `describe` is only called by those tools.

use std::collections::BTreeMap;

use lambda_http::Request;
use serde_json::{json, Value};
use utoipa::openapi::path::ParameterIn;
use utoipa::{IntoParams, ToSchema};

/// `components.schemas`, filled as signatures name types.
#[derive(Debug, Default)]
pub struct Schemas(pub BTreeMap<String, Value>);

impl Schemas {
    /// Adds `T` (and every schema it refers to) and answers a `$ref` to it.
    pub fn add<T: ToSchema>(&mut self) -> Value {
        let mut found = Vec::new();
        T::schemas(&mut found);
        found.push((T::name().into_owned(), T::schema()));
        for (name, schema) in found {
            let schema = serde_json::to_value(schema).expect("a schema serializes");
            self.0.entry(name).or_insert(schema);
        }
        json!({ "$ref": format!("#/components/schemas/{}", T::name()) })
    }
}

/// A typed success: its status and its `data`'s schema.
#[derive(Debug, Clone, PartialEq)]
pub enum Success {
    /// 200 `{"data": T}`.
    Ok(Value),
    /// 201 `{"data": T}`.
    Created(Value),
    /// 202 `{"data": T}`.
    Accepted(Value),
    /// 200 `{"data": [T], "pagination"}`.
    Page(Value),
    /// 200 `{"data": T, "pagination"}`: a page whose `data` is an object naming what its
    /// items are.
    PageOf(Value),
    /// 204, no body.
    NoContent,
    /// 200, server-sent events whose messages' data is `T`.
    Events(Value),
}

/// A body reader for the fuzzer: whether the request's body reads as the route's body type.
pub type ReadBody = fn(&Request) -> bool;

/// What a handler's signature says: the body, query and answer its types have.
#[derive(Default)]
pub struct Signature {
    pub schemas: Schemas,
    /// The body's schema (a `$ref`).
    pub body: Option<Value>,
    /// The body may be left out.
    pub body_optional: bool,
    /// The body type's example as written ([`Example`]; the fixtures' body).
    pub body_example: Option<&'static str>,
    /// Reads a request's body as the body type, with its validators.
    pub read_body: Option<ReadBody>,
    /// Query parameters (OpenAPI parameter objects).
    pub query: Vec<Value>,
    /// The answer, unless the handler answers a bare response the route describes.
    pub success: Option<Success>,
    /// A second typed answer (an [`crate::pipeline::typed::Either`]).
    pub also: Option<Success>,
}

impl Signature {
    /// Adds the query parameters of `T`.
    pub fn add_query<T: IntoParams>(&mut self) {
        self.query.extend(
            T::into_params(|| Some(ParameterIn::Query))
                .into_iter()
                .map(|p| serde_json::to_value(p).expect("a parameter serializes")),
        );
    }
}

/// `describe` of a route: fills the signature from the handler's types.
pub type Describe = fn(&mut Signature);

impl Signature {
    /// What `describe` says.
    pub fn of(describe: Describe) -> Self {
        let mut sig = Self::default();
        describe(&mut sig);
        sig
    }

    /// The body type's example as JSON.
    pub fn body_example_json(&self) -> Option<Value> {
        self.body_example
            .map(|text| serde_json::from_str(text).expect("a body type's example is JSON"))
    }

    /// The query parameters' names, in order (`workspaceId=&page=&pageSize=`).
    pub fn query_names(&self) -> String {
        self.query
            .iter()
            .filter_map(|p| p["name"].as_str())
            .map(|name| format!("{name}="))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// An example of a body type, as JSON: the OpenAPI document's example request, the
/// `cargo lambda invoke` fixture, schemathesis' first example and the tests' sample
/// request. Ids are the example ids of their resource (tools/xtask).
pub trait Example {
    const EXAMPLE: &'static str;
}

/// How a client may present credentials to the route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// A bearer token or the session cookie (every user route).
    User,
    /// No credentials.
    None,
    /// The session cookie only.
    Cookie,
    /// The session cookie if there is one.
    OptionalCookie,
}

/// An answer that is not one of the typed ones: the route says what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bare {
    /// A redirect: its status and where to, why.
    Redirect(u16, &'static str),
    /// The OpenAPI document itself.
    Document,
}

/// What a route's table entry says of its contract beyond its handler's types.
#[derive(Debug, Clone, Copy)]
pub struct Own {
    /// Refusals of this route: status and what it means here (`CODE: why`).
    pub refuses: &'static [(u16, &'static str)],
    /// The success sets this cookie.
    pub cookie: Option<&'static str>,
    /// ... only sometimes.
    pub cookie_sometimes: bool,
    /// What the second answer (an `Either`'s) means, and the cookie it sets.
    pub also: Option<(&'static str, Option<&'static str>)>,
    /// Who may present what; `None`: by the route's access.
    pub security: Option<Security>,
    /// Its answer when the handler answers a bare response.
    pub bare: Option<Bare>,
}

pub(crate) const NOTHING_OWN: Own = Own {
    refuses: &[],
    cookie: None,
    cookie_sometimes: false,
    also: None,
    security: None,
    bare: None,
};
