//! Typed handlers, in the way axum's extractors do it: a handler is an
//! `async fn(App, <caller>, <extractors>...) -> Result<<answer>, ApiError>`, where the
//! caller is [`Caller`] (a route anyone may call) or [`SignedIn`] (a user route), each
//! extractor reads one part of the request ([`Json`], [`MaybeJson`], [`Query`],
//! [`Paging`], [`Filtered`], a path id ([`crate::path_id!`]), or the whole [`Request`] as the last argument) and
//! the answer is [`Data`], [`Created`], [`Accepted`], [`Listed`], [`ListedAs`],
//! [`NoContent`], [`With`] cookies and headers around one of them, [`Either`] of two, or a bare
//! `Response` (a redirect) that the route's entry describes.
//!
//! The same types describe the route ([`Endpoint::describe`] fills a
//! [`Signature`]): the OpenAPI document, the fuzz target's body readers, the fixtures'
//! and the tests' sample bodies come from them, so a handler's contract is written once,
//! in its signature. Extractors run in the order of the arguments; the first refusal
//! answers.
//!
//! Written by hand rather than taken from axum: the pipeline's stages (credentials,
//! CSRF, rate limits, the error envelope) run before and around the handler on a
//! `lambda_http` request, and a route holds its handler as a plain function pointer.

use std::future::Future;

use http::StatusCode;
pub use lambda_http::Request;
use lambda_http::{Body, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};
pub use uuid::Uuid;
use validator::Validate;

use crate::base::error::ApiError;
use crate::base::paging::{Page, PageQuery};
use crate::clients::App;
use crate::pipeline::contract::{Example, Signature, Success};
use crate::pipeline::input;
use crate::pipeline::response::{self, ApiResult};
use crate::pipeline::route::HandlerFuture;

// ---------------------------------------------------------------------------------
// Extractors

/// A part of the request a handler reads (by reference, so several may read it).
pub trait FromRequest: Sized {
    fn from_request(req: &Request) -> Result<Self, ApiError>;
    /// What it adds to the route's contract.
    fn describe(_sig: &mut Signature) {}
}

/// What the last argument may be: any [`FromRequest`], or the whole [`Request`] (for
/// the headers and cookies the session routes read).
pub trait FromRequestLast: Sized {
    fn from_request_last(req: Request) -> Result<Self, ApiError>;
    fn describe_last(_sig: &mut Signature) {}
}

impl<T: FromRequest> FromRequestLast for T {
    fn from_request_last(req: Request) -> Result<Self, ApiError> {
        T::from_request(&req)
    }
    fn describe_last(sig: &mut Signature) {
        T::describe(sig)
    }
}

impl FromRequestLast for Request {
    fn from_request_last(req: Request) -> Result<Self, ApiError> {
        Ok(req)
    }
}

/// A JSON body of `T`: 415, 413, 400 or 422 naming the field ([`input::json_body`]).
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> FromRequest for Json<T>
where
    T: DeserializeOwned + Validate + ToSchema + Example,
{
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        input::json_body(req).map(Json)
    }
    fn describe(sig: &mut Signature) {
        sig.body = Some(sig.schemas.add::<T>());
        sig.body_example = Some(T::EXAMPLE);
        sig.read_body = Some(|req| input::json_body::<T>(req).is_ok());
    }
}

/// A JSON body the route may go without ([`input::optional_json_body`]).
#[derive(Debug)]
pub struct MaybeJson<T>(pub Option<T>);

impl<T> FromRequest for MaybeJson<T>
where
    T: DeserializeOwned + Validate + ToSchema + Example,
{
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        input::optional_json_body(req).map(MaybeJson)
    }
    fn describe(sig: &mut Signature) {
        Json::<T>::describe(sig);
        sig.body_optional = true;
    }
}

/// The query string as `T` ([`input::query`]).
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> FromRequest for Query<T>
where
    T: DeserializeOwned + Validate + IntoParams,
{
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        input::query(req).map(Query)
    }
    fn describe(sig: &mut Signature) {
        sig.add_query::<T>();
    }
}

/// The query parameters of `T`, which the handler reads itself, leniently, from the
/// whole request (a redirect answers every request, a malformed one too): never refuses.
pub struct ReadsQuery<T>(std::marker::PhantomData<T>);

impl<T: IntoParams> FromRequest for ReadsQuery<T> {
    fn from_request(_req: &Request) -> Result<Self, ApiError> {
        Ok(ReadsQuery(std::marker::PhantomData))
    }
    fn describe(sig: &mut Signature) {
        sig.add_query::<T>();
    }
}

/// A list's `page` and `pageSize`, its only query parameters.
#[derive(Debug, Clone, Copy)]
pub struct Paging(pub PageQuery);

impl FromRequest for Paging {
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        input::query(req).map(Paging)
    }
    fn describe(sig: &mut Signature) {
        sig.add_query::<PageQuery>();
    }
}

/// A list's filters as `T`, with its `page` and `pageSize` ([`input::paged_query`]).
#[derive(Debug)]
pub struct Filtered<T>(pub T, pub PageQuery);

impl<T> FromRequest for Filtered<T>
where
    T: DeserializeOwned + Validate + IntoParams,
{
    fn from_request(req: &Request) -> Result<Self, ApiError> {
        input::paged_query(req).map(|(filters, paging)| Filtered(filters, paging))
    }
    fn describe(sig: &mut Signature) {
        sig.add_query::<T>();
        sig.add_query::<PageQuery>();
    }
}

/// `path_id!(ProjectId, "id", "Project")`: a path id extractor, `ProjectId(pub Uuid)`,
/// read from the path parameter `id`; anything but a UUID is 404 as for an id that names
/// nothing (`Project not found`).
#[macro_export]
macro_rules! path_id {
    ($(#[$meta:meta])* $name:ident, $param:literal, $what:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name(pub $crate::pipeline::typed::Uuid);

        impl $crate::pipeline::typed::FromRequest for $name {
            fn from_request(
                req: &$crate::pipeline::typed::Request,
            ) -> ::std::result::Result<Self, $crate::ApiError> {
                $crate::pipeline::input::path_id(req, $param, $what).map($name)
            }
        }
    };
}

// ---------------------------------------------------------------------------------
// Answers

/// What a handler answers: the response, and what it adds to the route's contract.
pub trait Answer {
    fn into_response(self) -> ApiResult;
    /// The typed success, if it is one.
    fn success(_sig: &mut Signature) -> Option<Success> {
        None
    }
}

/// A bare response (a redirect): its route describes it.
impl Answer for Response<Body> {
    fn into_response(self) -> ApiResult {
        Ok(self)
    }
}

/// 200 `{"data": T}`.
#[derive(Debug)]
pub struct Data<T>(pub T);

impl<T: Serialize + ToSchema> Answer for Data<T> {
    fn into_response(self) -> ApiResult {
        response::ok(&self.0)
    }
    fn success(sig: &mut Signature) -> Option<Success> {
        Some(Success::Ok(sig.schemas.add::<T>()))
    }
}

/// 201 `{"data": T}`.
#[derive(Debug)]
pub struct Created<T>(pub T);

impl<T: Serialize + ToSchema> Answer for Created<T> {
    fn into_response(self) -> ApiResult {
        response::created(&self.0)
    }
    fn success(sig: &mut Signature) -> Option<Success> {
        Some(Success::Created(sig.schemas.add::<T>()))
    }
}

/// 202 `{"data": T}`.
#[derive(Debug)]
pub struct Accepted<T>(pub T);

impl<T: Serialize + ToSchema> Answer for Accepted<T> {
    fn into_response(self) -> ApiResult {
        let mut response = response::ok(&self.0)?;
        *response.status_mut() = StatusCode::ACCEPTED;
        Ok(response)
    }
    fn success(sig: &mut Signature) -> Option<Success> {
        Some(Success::Accepted(sig.schemas.add::<T>()))
    }
}

/// 200 `{"data": [T], "pagination"}`: one page of a list.
#[derive(Debug)]
pub struct Listed<T> {
    pub query: PageQuery,
    pub page: Page<T>,
}

impl<T> Listed<T> {
    pub fn new(query: PageQuery, page: Page<T>) -> Self {
        Self { query, page }
    }
}

impl<T: Serialize + ToSchema> Answer for Listed<T> {
    fn into_response(self) -> ApiResult {
        response::page(&self.query, &self.page)
    }
    fn success(sig: &mut Signature) -> Option<Success> {
        Some(Success::Page(sig.schemas.add::<T>()))
    }
}

/// 200 `{"data": T, "pagination"}`: one page whose `data` names what its items are.
#[derive(Debug)]
pub struct ListedAs<T> {
    pub query: PageQuery,
    pub data: T,
    pub total: u64,
}

impl<T: Serialize + ToSchema> Answer for ListedAs<T> {
    fn into_response(self) -> ApiResult {
        response::page_of(&self.query, &self.data, self.total)
    }
    fn success(sig: &mut Signature) -> Option<Success> {
        Some(Success::PageOf(sig.schemas.add::<T>()))
    }
}

/// 204, no body.
#[derive(Debug)]
pub struct NoContent;

impl Answer for NoContent {
    fn into_response(self) -> ApiResult {
        response::no_content()
    }
    fn success(_sig: &mut Signature) -> Option<Success> {
        Some(Success::NoContent)
    }
}

/// The admission of a stream of server-sent events whose messages' data is `T`: the
/// response (200, its headers) the events then follow.
pub struct EventStream<T>(pub Response<Body>, pub std::marker::PhantomData<T>);

impl<T: ToSchema> Answer for EventStream<T> {
    fn into_response(self) -> ApiResult {
        Ok(self.0)
    }
    fn success(sig: &mut Signature) -> Option<Success> {
        Some(Success::Events(sig.schemas.add::<T>()))
    }
}

/// An answer with cookies to set (the route's entry says which) and headers to add
/// (RateLimit's).
#[derive(Debug)]
pub struct With<A> {
    pub answer: A,
    pub cookies: Vec<String>,
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
}

impl<A> With<A> {
    pub fn new(answer: A) -> Self {
        Self {
            answer,
            cookies: Vec::new(),
            headers: Vec::new(),
        }
    }
    pub fn cookies(mut self, cookies: Vec<String>) -> Self {
        self.cookies.extend(cookies);
        self
    }
    pub fn headers(mut self, headers: Vec<(http::HeaderName, http::HeaderValue)>) -> Self {
        self.headers.extend(headers);
        self
    }
}

impl<A: Answer> Answer for With<A> {
    fn into_response(self) -> ApiResult {
        let mut response = crate::auth::cookies::set(self.answer.into_response()?, self.cookies);
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        Ok(response)
    }
    fn success(sig: &mut Signature) -> Option<Success> {
        A::success(sig)
    }
}

/// One of two answers (the route's entry says what the second means).
#[derive(Debug)]
pub enum Either<A, B> {
    First(A),
    Second(B),
}

impl<A: Answer, B: Answer> Answer for Either<A, B> {
    fn into_response(self) -> ApiResult {
        match self {
            Either::First(a) => a.into_response(),
            Either::Second(b) => b.into_response(),
        }
    }
    fn success(sig: &mut Signature) -> Option<Success> {
        sig.also = B::success(sig);
        A::success(sig)
    }
}

// ---------------------------------------------------------------------------------
// Handlers

/// A typed handler of callers `C` taking `Args`: implemented for every
/// `async fn(App, C, E1, ..., En) -> Result<A, ApiError>` (up to three extractors).
pub trait Endpoint<C, Args>: Copy + Send + Sync + 'static {
    /// Reads the extractors, runs the handler, and turns its answer into the response.
    fn call(self, app: App, caller: C, req: Request) -> HandlerFuture;
    /// The route's contract as these types say it.
    fn describe(sig: &mut Signature);
}

impl<F, Fut, C, A> Endpoint<C, ()> for F
where
    F: Fn(App, C) -> Fut + Copy + Send + Sync + 'static,
    Fut: Future<Output = Result<A, ApiError>> + Send + 'static,
    A: Answer,
    C: Send + 'static,
{
    fn call(self, app: App, caller: C, _req: Request) -> HandlerFuture {
        Box::pin(async move { self(app, caller).await?.into_response() })
    }
    fn describe(sig: &mut Signature) {
        sig.success = A::success(sig);
    }
}

macro_rules! endpoint {
    ($($e:ident),* ; $last:ident) => {
        #[allow(non_snake_case)]
        impl<F, Fut, C, A, $($e,)* $last> Endpoint<C, ($($e,)* $last,)> for F
        where
            F: Fn(App, C, $($e,)* $last) -> Fut + Copy + Send + Sync + 'static,
            Fut: Future<Output = Result<A, ApiError>> + Send + 'static,
            A: Answer,
            C: Send + 'static,
            $($e: FromRequest + Send + 'static,)*
            $last: FromRequestLast + Send + 'static,
        {
            fn call(self, app: App, caller: C, req: Request) -> HandlerFuture {
                Box::pin(async move {
                    $(let $e = $e::from_request(&req)?;)*
                    let $last = $last::from_request_last(req)?;
                    self(app, caller, $($e,)* $last).await?.into_response()
                })
            }
            fn describe(sig: &mut Signature) {
                $($e::describe(sig);)*
                $last::describe_last(sig);
                sig.success = A::success(sig);
            }
        }
    };
}

endpoint!(; E1);
endpoint!(E1; E2);
endpoint!(E1, E2; E3);

/// The describe function of a handler (for [`crate::handler!`]).
pub fn describe<F: Endpoint<C, Args>, C, Args>(_handler: &F, sig: &mut Signature) {
    F::describe(sig)
}

/// Calls a handler (for [`crate::handler!`]).
pub fn call<F: Endpoint<C, Args>, C, Args>(
    handler: F,
    app: App,
    caller: C,
    req: Request,
) -> HandlerFuture {
    handler.call(app, caller, req)
}
