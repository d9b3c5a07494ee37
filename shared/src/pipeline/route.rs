//! What a route is: its function (binary) name, method, path, who may call it, where
//! its writes are counted, the handler that serves it, and what its deployment needs.
//!
//! `functions::routes` holds the project's table of them. It is the single source:
//! `make routes` (tools/xtask) writes every file that lists routes from it (the
//! binaries, their `[[bin]]` entries, the `cargo lambda watch` router, template.yaml's
//! functions, the event fixtures and the route table of docs/routes.md), and a test fails when a
//! committed file differs from what it writes.

use std::future::Future;
use std::pin::Pin;

use http::Method;
use lambda_http::Request;

use crate::auth::SignedIn;
use crate::base::caller::Caller;
use crate::clients::App;
use crate::pipeline::contract::{Bare, Describe, Own, Security, NOTHING_OWN};
use crate::pipeline::events::EventSink;
use crate::pipeline::response::ApiResult;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No credentials read by the pipeline (the handler may read a cookie itself).
    Public,
    /// A verified Supabase user access token is required (header or session cookie).
    User,
}

/// Where a signed-in user's write (POST, PUT, PATCH, DELETE) is counted against its
/// rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteLimit {
    /// By the pipeline before the handler runs (`hit_route_limit_for(<claims>, <function>)`, one
    /// request more): for handlers whose first side effect is not a PostgREST write
    /// (Supabase Auth, S3) or that write with the service role.
    BeforeHandler,
    /// By the database's request gate, on the handler's one PostgREST write, in the same
    /// request (as `write`, or `create-upload` for `POST /uploads`); its RateLimit
    /// headers come back on PostgREST's answer. A write the database refuses is rolled
    /// back with its count.
    InDatabase,
}

/// The future a handler returns, boxed so that a route can hold its handler as a plain
/// function pointer (one allocation per request).
pub type HandlerFuture = Pin<Box<dyn Future<Output = ApiResult> + Send>>;
/// A stream producer's future (see [`crate::pipeline::sse`]).
pub type ProducerFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A handler of a route anyone may call.
pub type PublicHandler = fn(App, Caller, Request) -> HandlerFuture;
/// A handler of a route for signed-in users: it receives the verified user.
pub type UserHandler = fn(App, SignedIn, Request) -> HandlerFuture;
/// A stream's producer: writes the events of an admitted stream.
pub type Producer = fn(App, SignedIn, Request, EventSink) -> ProducerFuture;

/// The code that serves a route; which kind also says who may call it.
#[derive(Debug, Clone, Copy)]
pub enum Handler {
    /// A JSON route anyone may call ([`Route::public`]).
    Public(PublicHandler),
    /// A JSON route for signed-in users ([`Route::user`]).
    User(UserHandler),
    /// Server-sent events for signed-in users ([`Route::stream`], [`crate::pipeline::sse`]):
    /// `admit` answers refusals (and the headers of the stream) like a JSON handler;
    /// `produce` writes the events.
    Stream {
        admit: UserHandler,
        produce: Producer,
    },
}

/// A handler as a route holds it: the call, and the description its types give
/// ([`crate::pipeline::typed`]).
#[derive(Debug, Clone, Copy)]
pub struct Typed<H> {
    pub call: H,
    pub describe: Describe,
}

/// `handler!(module::function)`: a route's handler from a typed `async fn(App, Caller,
/// <extractors>...) -> Result<<answer>, ApiError>` ([`Route::public`]) or `async
/// fn(App, SignedIn, <extractors>...)` ([`Route::user`]); see
/// [`crate::pipeline::typed`].
#[macro_export]
macro_rules! handler {
    ($f:path) => {
        $crate::pipeline::route::Typed {
            call: |app, caller, req| $crate::pipeline::typed::call($f, app, caller, req),
            describe: |sig| $crate::pipeline::typed::describe(&$f, sig),
        }
    };
}

/// `producer!(module::function)`: a stream's producer from an `async fn(App, SignedIn,
/// Request, EventSink)` ([`Route::stream`]).
#[macro_export]
macro_rules! producer {
    ($f:path) => {
        |app, caller, req, sink| ::std::boxed::Box::pin($f(app, caller, req, sink))
    };
}

/// One IAM statement a function needs on the uploads bucket.
#[derive(Debug, Clone, Copy)]
pub struct S3Grant {
    pub sid: &'static str,
    pub actions: &'static [&'static str],
    /// Key prefixes (`pending/`, `files/`): the statement covers `<prefix>*`.
    pub prefixes: &'static [&'static str],
}

/// What a function needs from its deployment beyond the defaults of template.yaml's
/// Globals.
#[derive(Debug, Clone, Copy)]
pub struct Deploy {
    /// Reads the Supabase secrets (service role key, JWT secret) at cold start.
    pub secrets: bool,
    /// Its statements on the uploads bucket (and `UPLOADS_BUCKET` in its environment).
    pub s3: &'static [S3Grant],
    /// Why it needs those statements (a comment above them in template.yaml).
    pub s3_why: &'static str,
    /// Timeout in seconds when not the Globals' one.
    pub timeout: Option<u32>,
}

/// An example request, for the `cargo lambda invoke` fixtures (functions/events).
/// Path parameters take the example ids of their resource (see tools/xtask); the body is
/// the body type's [`crate::pipeline::contract::Example`].
#[derive(Debug, Clone, Copy)]
pub struct Example {
    pub query: &'static str,
    /// Sent with the session cookie (and an Origin, as a browser does) instead of a
    /// bearer token.
    pub cookie: bool,
}

/// One HTTP route: the function name (binary and template.yaml), method and path, who
/// may call it, its handler, and what docs/routes.md, the deployment and the fixtures say of it.
#[derive(Debug, Clone)]
pub struct Route {
    pub function: &'static str,
    pub method: Method,
    pub path: &'static str,
    pub limit: WriteLimit,
    pub handler: Handler,
    /// Who may call it and what it does, for the route table of docs/routes.md.
    pub doc: &'static str,
    pub deploy: Deploy,
    pub example: Example,
    /// Serves every method of every path no other route serves (API Gateway's
    /// `$default` route; `method` and `path` are then placeholders).
    pub fallback: bool,
    /// Takes an `Idempotency-Key` header ([`Route::idempotent`]).
    pub idempotent: bool,
    /// What the handler's types say of its contract.
    pub describe: Describe,
    /// What the route adds to its contract: its own refusals, cookies, bare answers.
    pub own: Own,
}

pub(crate) const DEFAULT_DEPLOY: Deploy = Deploy {
    secrets: true,
    s3: &[],
    s3_why: "",
    timeout: None,
};

const NO_EXAMPLE: Example = Example {
    query: "",
    cookie: false,
};

impl Route {
    /// A route for signed-in users: the pipeline verifies the token before `handler`,
    /// which receives the user.
    pub const fn user(
        function: &'static str,
        method: Method,
        path: &'static str,
        handler: Typed<UserHandler>,
    ) -> Self {
        Self::new(
            function,
            method,
            path,
            Handler::User(handler.call),
            handler.describe,
        )
    }

    /// A route anyone may call: the pipeline reads no credentials.
    pub const fn public(
        function: &'static str,
        method: Method,
        path: &'static str,
        handler: Typed<PublicHandler>,
    ) -> Self {
        Self::new(
            function,
            method,
            path,
            Handler::Public(handler.call),
            handler.describe,
        )
    }

    /// Server-sent events for signed-in users, served by a Function URL with response
    /// streaming: `admit` runs as a JSON handler would (its refusals are the API's
    /// usual errors), then `produce` writes the events.
    pub const fn stream(
        function: &'static str,
        method: Method,
        path: &'static str,
        admit: Typed<UserHandler>,
        produce: Producer,
    ) -> Self {
        let handler = Handler::Stream {
            admit: admit.call,
            produce,
        };
        Self::new(function, method, path, handler, admit.describe)
    }

    const fn new(
        function: &'static str,
        method: Method,
        path: &'static str,
        handler: Handler,
        describe: Describe,
    ) -> Self {
        Self {
            function,
            method,
            path,
            limit: WriteLimit::BeforeHandler,
            handler,
            doc: "",
            deploy: DEFAULT_DEPLOY,
            example: NO_EXAMPLE,
            fallback: false,
            idempotent: false,
            describe,
            own: NOTHING_OWN,
        }
    }

    /// The route of every path and method no other route serves (API Gateway's
    /// `$default`): the pipeline reads no credentials and checks no method, so the
    /// handler answers whatever arrives (a 404 with the error envelope).
    pub const fn fallback(function: &'static str, handler: Typed<PublicHandler>) -> Self {
        let mut route = Self::new(
            function,
            Method::GET,
            "$default",
            Handler::Public(handler.call),
            handler.describe,
        );
        route.fallback = true;
        route.deploy.secrets = false;
        route
    }

    /// Its one PostgREST write is counted by the database's request gate
    /// ([`WriteLimit::InDatabase`]).
    pub const fn counted_in_database(mut self) -> Self {
        self.limit = WriteLimit::InDatabase;
        self
    }

    /// It takes an `Idempotency-Key` header: the pipeline checks its shape and passes it
    /// to PostgREST, where the route's create function answers a repeat (same user, key
    /// and request, within 24 hours) with the first answer, a reuse for another request
    /// with 422, and makes a concurrent duplicate wait for the first to finish
    /// (`private.idempotent_replay`, supabase/migrations/20261203000000_idempotency_keys.sql).
    pub const fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }

    /// The description in docs/routes.md's route table: who may call it and what it does.
    pub const fn doc(mut self, doc: &'static str) -> Self {
        self.doc = doc;
        self
    }

    /// It reads no secret at cold start (its function gets neither ARN nor policy).
    pub const fn without_secrets(mut self) -> Self {
        self.deploy.secrets = false;
        self
    }

    /// Its statements on the uploads bucket, and why it needs them.
    pub const fn s3(mut self, why: &'static str, grants: &'static [S3Grant]) -> Self {
        self.deploy.s3 = grants;
        self.deploy.s3_why = why;
        self
    }

    pub const fn timeout(mut self, seconds: u32) -> Self {
        self.deploy.timeout = Some(seconds);
        self
    }

    /// The example request's query string.
    pub const fn example_query(mut self, query: &'static str) -> Self {
        self.example.query = query;
        self
    }

    /// Its own refusals, beyond those of every route of its kind: status and `CODE:
    /// what it means here`.
    pub const fn refuses(mut self, refusals: &'static [(u16, &'static str)]) -> Self {
        self.own.refuses = refusals;
        self
    }

    /// Its success sets a cookie: which, and for how long.
    pub const fn sets_cookie(mut self, what: &'static str) -> Self {
        self.own.cookie = Some(what);
        self
    }

    /// ... but not every time.
    pub const fn sometimes(mut self) -> Self {
        self.own.cookie_sometimes = true;
        self
    }

    /// What its second answer (its handler answers `Either`) means, and the cookie that
    /// one sets.
    pub const fn also(mut self, what: &'static str, cookie: Option<&'static str>) -> Self {
        self.own.also = Some((what, cookie));
        self
    }

    /// The credentials it reads itself (a public route that reads the session cookie).
    pub const fn security(mut self, security: Security) -> Self {
        self.own.security = Some(security);
        self
    }

    /// Its handler answers a bare response: what it is.
    pub const fn bare(mut self, bare: Bare) -> Self {
        self.own.bare = Some(bare);
        self
    }

    /// The example request carries the session cookie instead of a bearer token.
    pub const fn example_cookie(mut self) -> Self {
        self.example.cookie = true;
        self
    }

    /// Who may call it: what its handler takes.
    pub const fn access(&self) -> Access {
        match self.handler {
            Handler::Public(_) => Access::Public,
            Handler::User(_) | Handler::Stream { .. } => Access::User,
        }
    }

    /// Served by a Function URL with response streaming, not by the HttpApi.
    pub const fn is_streaming(&self) -> bool {
        matches!(self.handler, Handler::Stream { .. })
    }
}
