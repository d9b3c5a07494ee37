//! PostgREST, called as the user so that Postgres row-level security decides.
//!
//! One HTTP client per process (pooled connections, a timeout on every call). Each
//! request carries the caller's own access token; there is no service-role path here.
//!
//! The postgrest crate (1.6) builds each request: URL, filters, method, its Accept,
//! Prefer, Range and Content-Type headers, body. It is built on reqwest 0.11 and sends
//! with it; here its request is read back and sent with the process's reqwest (0.12)
//! instead ([`Query::request`]), so reqwest 0.11's HTTP/2 and TLS code, which have
//! advisories (deny.toml), never runs.

use crate::clients::sql::SqlFunction;
use postgrest::Builder;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::SignedIn;
use crate::base::caller::Caller;
use crate::base::error::{ApiError, ErrorCode};
pub use crate::base::headers::{IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED, RATE_LIMIT_PASS};
use crate::base::headers::{RATELIMIT, RATELIMIT_POLICY, TRACE_HEADER};
use crate::base::paging::{Page, PageQuery};
use crate::config::{Config, ConfigError};

/// Largest PostgREST response body read into memory.
const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

#[derive(Clone)]
pub struct Db {
    client: reqwest::Client,
    /// What the postgrest crate's builder wants; it never sends a request.
    builder_client: reqwest011::Client,
    rest_url: String,
    headers: HeaderMap,
    service_key: Option<String>,
}

impl Db {
    pub fn new(config: &Config, client: reqwest::Client) -> Result<Self, ConfigError> {
        let mut headers = HeaderMap::new();
        let apikey = HeaderValue::from_str(&config.anon_key).map_err(|_| ConfigError {
            var: crate::config::PUBLISHABLE_KEY,
            problem: "is not a valid header value".into(),
        })?;
        headers.insert("apikey", apikey);
        let service_key = config.service_role_key.clone();
        let builder_client = reqwest011::Client::builder()
            .build()
            .map_err(|_| ConfigError {
                var: "SUPABASE_REST_URL",
                problem: "could not build the query builder's client".into(),
            })?;
        Ok(Self {
            client,
            builder_client,
            rest_url: config.rest_url.as_str().trim_end_matches('/').to_owned(),
            headers,
            service_key,
        })
    }

    /// PostgREST as this user: their token on every call, so RLS applies; and what the
    /// request tells the database (its trace, the pass of the rate-limit hit the
    /// pipeline already counted, its idempotency key).
    pub fn as_user<'a>(&'a self, caller: &'a SignedIn) -> UserDb<'a> {
        UserDb { db: self, caller }
    }

    /// PostgREST as the service role, for the few writes no user may make (audit events,
    /// rate-limit counters), in `caller`'s request. None when no service role key is
    /// configured.
    pub fn as_service<'a>(&'a self, caller: &'a Caller) -> Option<ServiceDb<'a>> {
        self.service_key.as_deref().map(|key| ServiceDb {
            db: self,
            key,
            caller,
        })
    }

    /// The headers every request of `caller`'s carries: the apikey and the trace.
    fn headers_for(&self, caller: &Caller) -> HeaderMap {
        let mut headers = self.headers.clone();
        if let Some(trace) = caller.trace().and_then(|t| HeaderValue::from_str(t).ok()) {
            headers.insert(TRACE_HEADER, trace);
        }
        headers
    }

    fn user_query<'a>(&'a self, path: &str, caller: &'a SignedIn) -> Query<'a> {
        let mut headers = self.headers_for(caller);
        if let Some(pass) = caller
            .rate_limit_pass()
            .and_then(|p| HeaderValue::from_str(p).ok())
        {
            headers.insert(RATE_LIMIT_PASS, pass);
        }
        if let Some(key) = caller
            .idempotency_key()
            .and_then(|k| HeaderValue::from_str(k).ok())
        {
            headers.insert(IDEMPOTENCY_KEY, key);
        }
        bearer(&mut headers, caller.user.token());
        self.query(&format!("{}/{}", self.rest_url, path), headers, caller)
    }

    fn query<'a>(&'a self, url: &str, headers: HeaderMap, caller: &'a Caller) -> Query<'a> {
        let builder = Builder::new(
            url,
            None,
            reqwest011::header::HeaderMap::new(),
            self.builder_client.clone(),
        );
        Query {
            builder,
            headers,
            client: &self.client,
            caller,
        }
    }
}

/// `Authorization: Bearer <token>` (a verified token or a configured key: always a
/// valid header value; one that is not is left out, and PostgREST answers 401).
fn bearer(headers: &mut HeaderMap, token: &str) {
    if let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}")) {
        headers.insert(AUTHORIZATION, value);
    }
}

/// One PostgREST request, and the request of the API's it is made for (whose answer
/// keeps the headers the database sets: [`Caller::keep_header`]).
pub struct Query<'a> {
    builder: Builder,
    /// The apikey, the token, the trace and what the request tells the database.
    headers: HeaderMap,
    client: &'a reqwest::Client,
    caller: &'a Caller,
}

impl<'a> Query<'a> {
    /// The request the postgrest crate built, on the process's client: its method, URL
    /// (filters included), headers and body, read back from reqwest 0.11's request; then
    /// this query's own headers.
    fn request(self) -> Result<reqwest::RequestBuilder, ApiError> {
        let unbuilt = || ApiError::internal("postgrest: the request could not be built");
        let built = self.builder.build().build().map_err(|_| unbuilt())?;
        let method = reqwest::Method::from_bytes(built.method().as_str().as_bytes())
            .map_err(|_| unbuilt())?;
        let mut headers = HeaderMap::with_capacity(built.headers().len() + self.headers.len());
        for (name, value) in built.headers() {
            let name = HeaderName::from_bytes(name.as_str().as_bytes()).map_err(|_| unbuilt())?;
            let value = HeaderValue::from_bytes(value.as_bytes()).map_err(|_| unbuilt())?;
            headers.append(name, value);
        }
        for (name, value) in self.headers {
            if let Some(name) = name {
                headers.insert(name, value);
            }
        }
        let request = self
            .client
            .request(method, built.url().as_str())
            .headers(headers);
        Ok(match built.body().and_then(|body| body.as_bytes()) {
            Some(body) => request.body(body.to_vec()),
            None => request,
        })
    }

    /// The columns (and embedded resources) to answer with.
    pub fn select(self, columns: &str) -> Self {
        self.map(|b| b.select(columns))
    }

    /// The order of the rows (`created_at.desc,id.desc`).
    pub fn order(self, columns: &str) -> Self {
        self.map(|b| b.order(columns))
    }

    /// Only rows whose `column` equals `value`.
    pub fn eq(self, column: &str, value: impl AsRef<str>) -> Self {
        self.map(|b| b.eq(column, value))
    }

    /// Inserts `body` (JSON rows), updating the rows that already have its `on_conflict`
    /// key ([`Query::on_conflict`]).
    pub fn upsert(self, body: String) -> Self {
        self.map(|b| b.upsert(body))
    }

    /// The unique columns an [`Query::upsert`] matches rows on.
    pub fn on_conflict(self, columns: &str) -> Self {
        self.map(|b| b.on_conflict(columns))
    }

    fn map(self, f: impl FnOnce(Builder) -> Builder) -> Self {
        Query {
            builder: f(self.builder),
            ..self
        }
    }
}

pub struct UserDb<'a> {
    db: &'a Db,
    caller: &'a SignedIn,
}

impl<'a> UserDb<'a> {
    /// A query on a table or view.
    pub fn table(&self, name: &str) -> Query<'a> {
        self.db.user_query(name, self.caller)
    }

    /// A call to a SQL function (`POST /rpc/<name>`).
    pub fn rpc<F: SqlFunction>(&self, call: &F) -> Result<Query<'a>, ApiError> {
        let body = serde_json::to_string(call)
            .map_err(|_| ApiError::internal("rpc parameters serialization failed"))?;
        Ok(self
            .db
            .user_query(&format!("rpc/{}", F::NAME), self.caller)
            .map(|b| b.rpc(body)))
    }
}

/// A table as the routes read and write its rows by id: its name, the columns a route
/// answers with, and what a missing row is called in the 404.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static str,
    pub what: &'static str,
}

impl UserDb<'_> {
    fn by_id(&self, table: &Table, id: Uuid) -> Query<'_> {
        self.table(table.name).eq("id", id.to_string())
    }

    /// The row `id` as the caller may see it (RLS); 404 when it cannot, or there is none.
    pub async fn find<T: DeserializeOwned>(&self, table: &Table, id: Uuid) -> Result<T, ApiError> {
        one(self.by_id(table, id).select(table.columns), table.what).await
    }

    /// Changes the row `id` and answers it as it is now; 404 when the caller cannot see
    /// it (or RLS lets them see but not change it).
    pub async fn update<T: DeserializeOwned, C: Serialize>(
        &self,
        table: &Table,
        id: Uuid,
        changes: &C,
    ) -> Result<T, ApiError> {
        let body = body(changes)?;
        let query = self.by_id(table, id).map(|b| b.update(body));
        one(query.select(table.columns), table.what).await
    }

    /// Deletes the row `id` and answers it as it was; 404 as for [`UserDb::update`].
    pub async fn delete<T: DeserializeOwned>(
        &self,
        table: &Table,
        id: Uuid,
    ) -> Result<T, ApiError> {
        one(
            self.by_id(table, id)
                .map(|b| b.delete())
                .select(table.columns),
            table.what,
        )
        .await
    }
}

pub struct ServiceDb<'a> {
    db: &'a Db,
    key: &'a str,
    caller: &'a Caller,
}

impl<'a> ServiceDb<'a> {
    /// A call to a SQL function (`POST /rpc/<name>`) as the service role.
    pub fn rpc<F: SqlFunction>(&self, call: &F) -> Result<Query<'a>, ApiError> {
        let function = F::NAME;
        let body = serde_json::to_string(call)
            .map_err(|_| ApiError::internal("rpc parameters serialization failed"))?;
        // The key travels as apikey too (Supabase's gateway checks it).
        let mut headers = self.db.headers_for(self.caller);
        if let Ok(v) = HeaderValue::from_str(self.key) {
            headers.insert("apikey", v);
        }
        bearer(&mut headers, self.key);
        let url = format!("{}/rpc/{function}", self.db.rest_url);
        Ok(self
            .db
            .query(&url, headers, self.caller)
            .map(|b| b.rpc(body)))
    }
}

/// Serializes a row for insert or update.
pub fn body<T: Serialize>(row: &T) -> Result<String, ApiError> {
    serde_json::to_string(row).map_err(|_| ApiError::internal("row serialization failed"))
}

/// Exactly one row, decoded; none is 404 (`what` names it in the message).
pub async fn one<T: DeserializeOwned>(query: Query<'_>, what: &str) -> Result<T, ApiError> {
    let caller = query.caller;
    let response = send(query.map(Builder::single)).await?;
    match decode(response, caller).await {
        Err(e) if e.upstream_code.as_deref() == Some("PGRST116") => Err(ApiError::not_found(what)),
        other => other,
    }
}

/// The JSON a function call (`POST /rpc/<name>`) returns, decoded as it is (a row
/// object, a page object, a list); a refusal raised with `PT404` names `what` unless the
/// function's hint names the missing resource itself.
pub async fn call<T: DeserializeOwned>(query: Query<'_>, what: &str) -> Result<T, ApiError> {
    let caller = query.caller;
    decode(send(query).await?, caller)
        .await
        .map_err(|e| e.not_found_as(what))
}

/// A page as the list functions answer it: `{"items": [...], "total": n}`, where
/// `total` is exact up to 1000 and the planner's estimate beyond.
#[derive(Debug, Deserialize)]
pub struct RpcPage<T> {
    pub items: Vec<T>,
    pub total: u64,
}

impl<T> From<RpcPage<T>> for Page<T> {
    fn from(page: RpcPage<T>) -> Self {
        Page {
            items: page.items,
            total: page.total,
        }
    }
}

/// A function call whose answer carries no data (`returns void`): success or the error.
pub async fn exec(query: Query<'_>, what: &str) -> Result<(), ApiError> {
    let caller = query.caller;
    let response = send(query).await?;
    if response.status().is_success() {
        keep_response_headers(response.headers(), caller);
        return Ok(());
    }
    decode::<serde_json::Value>(response, caller)
        .await
        .map(|_| ())
        .map_err(|e| e.not_found_as(what))
}

/// All rows the query returns, decoded.
pub async fn many<T: DeserializeOwned>(query: Query<'_>) -> Result<Vec<T>, ApiError> {
    let caller = query.caller;
    decode(send(query).await?, caller).await
}

/// One page of rows plus the exact total (`Prefer: count=exact`, `Content-Range`).
pub async fn page<T: DeserializeOwned>(
    rows: Query<'_>,
    query: &PageQuery,
) -> Result<Page<T>, ApiError> {
    let caller = rows.caller;
    let (from, to) = query.range();
    // Range for table reads; limit/offset too, because PostgREST ignores Range on
    // POST (calls of set-returning functions). Both say the same rows.
    let request = rows
        .map(|b| b.exact_count().range(from, to))
        .request()?
        .query(&[("limit", to - from + 1), ("offset", from)]);
    let response = request.send().await.map_err(transport_error)?;
    let status = response.status();
    let total = response
        .headers()
        .get("content-range")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit_once('/'))
        .and_then(|(_, total)| total.parse::<u64>().ok());
    // A page past the end is an empty page, not an error.
    if status == StatusCode::RANGE_NOT_SATISFIABLE {
        return Ok(Page {
            items: Vec::new(),
            total: total.unwrap_or(0),
        });
    }
    let items: Vec<T> = decode(response, caller).await?;
    let total = total.ok_or_else(|| ApiError::internal("postgrest: no count in Content-Range"))?;
    Ok(Page { items, total })
}

async fn send(query: Query<'_>) -> Result<reqwest::Response, ApiError> {
    query.request()?.send().await.map_err(transport_error)
}

fn transport_error(e: reqwest::Error) -> ApiError {
    if e.is_timeout() {
        ApiError::unavailable("postgrest: timeout")
    } else if e.is_connect() {
        ApiError::unavailable("postgrest: connection failed")
    } else {
        ApiError::unavailable("postgrest: request failed")
    }
}

async fn decode<T: DeserializeOwned>(
    response: reqwest::Response,
    caller: &Caller,
) -> Result<T, ApiError> {
    let status = response.status();
    let headers = response.headers().clone();
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Err(rate_limited(response.headers()));
    }
    if response.content_length().unwrap_or(0) > MAX_RESPONSE_BYTES as u64 {
        return Err(ApiError::internal("postgrest: response too large"));
    }
    let bytes = response
        .bytes()
        .await
        .map_err(|_| ApiError::unavailable("postgrest: reading the response failed"))?;
    if bytes.len() > MAX_RESPONSE_BYTES {
        return Err(ApiError::internal("postgrest: response too large"));
    }
    if status.is_success() {
        keep_response_headers(&headers, caller);
        serde_json::from_slice(&bytes).map_err(|_| ApiError::internal("postgrest: undecodable row"))
    } else if let Some(retry) = (status == StatusCode::SERVICE_UNAVAILABLE)
        .then(|| maintenance_refusal(&bytes))
        .flatten()
    {
        Err(ApiError::maintenance(retry).with_cause("postgrest: maintenance mode"))
    } else {
        Err(map_error(status, &bytes))
    }
}

/// Keeps the RateLimit headers and `Idempotent-Replayed` of a successful PostgREST
/// answer for the API's answer to `caller`.
fn keep_response_headers(headers: &HeaderMap, caller: &Caller) {
    for name in [RATELIMIT_POLICY, RATELIMIT, IDEMPOTENT_REPLAYED] {
        if let Some(value) = headers.get(&name) {
            caller.keep_header(name, value.clone());
        }
    }
}

/// The database's request gate refused a write over its rate limit (PostgREST 429 with
/// Retry-After and the RateLimit headers, passed on as they are).
fn rate_limited(headers: &HeaderMap) -> ApiError {
    let retry = headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let passed = [RATELIMIT_POLICY, RATELIMIT]
        .into_iter()
        .filter_map(|name| Some((name.clone(), headers.get(&name)?.clone())))
        .collect();
    ApiError::rate_limited(retry)
        .with_headers(passed)
        .with_cause("postgrest: request gate rate limit")
}

/// The database's maintenance refusal (`private.refuse_writes_in_maintenance`: a 503
/// whose code is MAINTENANCE), as opposed to PostgREST failing to reach Postgres; with
/// the seconds to wait (`details`: "Retry after <n> seconds").
fn maintenance_refusal(body: &[u8]) -> Option<u64> {
    #[derive(Deserialize)]
    struct Refusal {
        code: String,
        #[serde(default)]
        details: Option<String>,
    }
    let refusal: Refusal = serde_json::from_slice(body).ok()?;
    (refusal.code == "MAINTENANCE").then(|| {
        refusal
            .details
            .as_deref()
            .and_then(|d| d.strip_prefix("Retry after "))
            .and_then(|d| d.strip_suffix(" seconds"))
            .and_then(|n| n.parse().ok())
            .unwrap_or(300)
    })
}

#[derive(Deserialize)]
struct PostgrestError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    hint: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// A hint our own SQL raised with a `PT` code (`raise ... using hint = 'Workspace'`):
/// passed on only when it is plain words, so no value from a row can ride along.
fn our_hint(hint: Option<&str>) -> Option<&str> {
    hint.filter(|h| {
        (1..=80).contains(&h.len())
            && h.starts_with(|c: char| c.is_ascii_uppercase())
            && h.chars()
                .all(|c| c.is_ascii_alphabetic() || c == ' ' || c == '.')
    })
}

/// The cause of a 401 for a token whose session has ended (logged and audited as the
/// refusal's reason).
pub const SESSION_ENDED: &str = "session_ended";

/// Maps a PostgREST error to the API's, by code only: PostgREST's and Postgres's own
/// text (which can quote SQL, constraint names or row values) never leaves this function.
pub fn map_error(status: StatusCode, body: &[u8]) -> ApiError {
    let status_code = status.as_u16();
    let parsed = serde_json::from_slice::<PostgrestError>(body).ok();
    let hint = parsed.as_ref().and_then(|e| e.hint.clone());
    // PostgREST 12 answers `400 {"code":"","message":""}` when its connection to Postgres
    // is ended in the middle of a request (found by make chaos): nothing the client sent,
    // and the transaction did not commit, so a retry is safe.
    let connection_lost = status == StatusCode::BAD_REQUEST
        && parsed.as_ref().is_some_and(|e| {
            e.code.as_deref().unwrap_or_default().is_empty()
                && e.message.as_deref().unwrap_or_default().is_empty()
        });
    let code = parsed.and_then(|e| e.code).unwrap_or_default();
    let mut error = match code.as_str() {
        _ if connection_lost => {
            ApiError::unavailable("postgrest: the connection to the database was lost")
        }
        "PGRST116" => ApiError::new(ErrorCode::NotFound, "Resource not found"),
        // private.idempotent_replay's refusals (the API checks the key's shape first).
        "VALIDATION_ERROR" => ApiError::new(ErrorCode::ValidationError, "The request is not valid"),
        "IDEMPOTENCY_KEY_REUSED" => ApiError::new(
            ErrorCode::IdempotencyKeyReused,
            "This Idempotency-Key was already used for a different request",
        ),
        "IDEMPOTENCY_IN_PROGRESS" => ApiError::new(
            ErrorCode::IdempotencyInProgress,
            "A request with this Idempotency-Key is still running; retry shortly",
        )
        .with_headers(vec![(
            http::header::RETRY_AFTER,
            http::HeaderValue::from_static("1"),
        )]),
        // The request gate: the token's session was signed out or revoked, passed its
        // not_after, or its user was banned or deleted (private.session_is_live).
        "SESSION_ENDED" => ApiError::new(
            ErrorCode::Unauthorized,
            "The session has ended; sign in again",
        )
        .with_cause(SESSION_ENDED),
        "42501" => ApiError::forbidden("You do not have permission to do this"),
        "23505" => ApiError::conflict("A resource with these values already exists"),
        "23503" => ApiError::new(
            ErrorCode::ValidationError,
            "A referenced resource does not exist",
        ),
        // Constraint violations and data exceptions (class 22: a value too long, a NUL
        // character, a malformed number): the client's input, never a 500.
        c if matches!(c, "23514" | "23502") || (c.starts_with("22") && c.len() == 5) => {
            ApiError::new(ErrorCode::ValidationError, "The request is not valid")
        }
        c if c.starts_with("PGRST3") => ApiError::unauthorized("postgrest rejected the token"),
        // PostgREST itself cannot reach Postgres.
        "PGRST000" | "PGRST001" | "PGRST002" | "57P01" | "57P03" | "53300" => {
            ApiError::unavailable("postgrest: database unavailable")
        }
        // `raise ... using errcode = 'PT409'` in SQL: an application rule refused it.
        c if c.starts_with("PT") && c.len() == 5 => match &c[2..] {
            "409" => ApiError::conflict("The request conflicts with the current state"),
            "404" => match our_hint(hint.as_deref()) {
                Some(what) => ApiError::not_found(what),
                None => ApiError::new(ErrorCode::NotFound, "Resource not found"),
            },
            "403" => ApiError::forbidden(
                our_hint(hint.as_deref())
                    .map(str::to_owned)
                    .unwrap_or_else(|| "You do not have permission to do this".to_owned()),
            ),
            "422" => ApiError::new(ErrorCode::ValidationError, "The request is not valid"),
            _ => ApiError::internal("postgrest: unmapped PT code"),
        },
        _ if status.is_server_error() => ApiError::unavailable("postgrest: upstream error"),
        // The status and code (never the text) say in the log line what to map next.
        _ => ApiError::internal(format!(
            "postgrest: unmapped error (status {status_code}, code {code})"
        )),
    };
    if error.cause.is_none() {
        error.cause = Some(format!("postgrest status {status_code} code {code}").into());
    }
    error.upstream_code = Some(code.into_boxed_str()).filter(|c| !c.is_empty());
    error
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(status: u16, code: &str) -> ApiError {
        let body = serde_json::json!({
            "code": code,
            "message": "duplicate key value violates unique constraint \"secret_idx\"",
            "details": "Key (email)=(a@b.c) already exists.",
            "hint": null,
        });
        map_error(
            StatusCode::from_u16(status).unwrap(),
            body.to_string().as_bytes(),
        )
    }

    #[test]
    fn maps_by_code_without_leaking_text() {
        for (status, code, expected) in [
            (406, "PGRST116", 404),
            (403, "42501", 403),
            (409, "23505", 409),
            (409, "23503", 422),
            (400, "23514", 422),
            (401, "PGRST301", 401),
            (401, "SESSION_ENDED", 401),
            (503, "PGRST001", 503),
            (409, "PT409", 409),
            (400, "22P05", 422),
            (400, "22021", 422),
            (400, "42P01", 500),
        ] {
            let e = map(status, code);
            assert_eq!(e.status().as_u16(), expected, "{code}");
            let body = e.body("r").to_string();
            assert!(
                !body.contains("secret_idx") && !body.contains("a@b.c"),
                "{body}"
            );
            assert!(!body.contains(code), "{body}");
        }
    }

    #[test]
    fn a_request_whose_database_connection_was_ended_is_a_503_not_a_500() {
        // What PostgREST 12.0.2 answered when make chaos ended its connections to
        // Postgres during a create (pg_terminate_backend).
        let lost = br#"{"code":"","details":null,"hint":null,"message":""}"#;
        let e = map_error(StatusCode::BAD_REQUEST, lost);
        assert_eq!(
            (e.status().as_u16(), e.code.as_str()),
            (503, "SERVICE_UNAVAILABLE")
        );
        // Any other 400 without a code is still not taken for the client's mistake or an
        // outage: it is unmapped, and says so in the log.
        let other = br#"{"code":"","message":"something else"}"#;
        let e = map_error(StatusCode::BAD_REQUEST, other);
        assert_eq!(e.status().as_u16(), 500);
        assert_eq!(
            e.cause.as_deref(),
            Some("postgrest: unmapped error (status 400, code )")
        );
    }

    #[test]
    fn the_maintenance_refusal_is_told_from_an_unreachable_database() {
        let body =
            br#"{"code":"MAINTENANCE","message":"x","details":"Retry after 120 seconds","hint":null}"#;
        assert_eq!(maintenance_refusal(body), Some(120));
        assert_eq!(maintenance_refusal(br#"{"code":"MAINTENANCE"}"#), Some(300));
        assert_eq!(maintenance_refusal(br#"{"code":"PGRST001"}"#), None);
        assert_eq!(maintenance_refusal(b"<html>"), None);
        let e = ApiError::maintenance(120);
        assert_eq!((e.status().as_u16(), e.code.as_str()), (503, "MAINTENANCE"));
        assert_eq!(e.retry_after, Some(120));
    }

    #[test]
    fn the_request_gates_429_keeps_its_retry_after_and_ratelimit_headers() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("17"));
        headers.insert(
            "ratelimit-policy",
            HeaderValue::from_static("\"write\";q=120;w=60"),
        );
        headers.insert("ratelimit", HeaderValue::from_static("\"write\";r=0;t=17"));
        headers.insert("content-range", HeaderValue::from_static("0-0/*"));
        let e = rate_limited(&headers);
        assert_eq!(e.status().as_u16(), 429);
        assert_eq!(e.retry_after, Some(17));
        let passed: Vec<(String, String)> = e
            .extra_headers
            .iter()
            .flat_map(|h| h.iter())
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
            .collect();
        assert_eq!(
            passed,
            [
                (
                    "ratelimit-policy".to_owned(),
                    "\"write\";q=120;w=60".to_owned()
                ),
                ("ratelimit".to_owned(), "\"write\";r=0;t=17".to_owned()),
            ]
        );
        // Without a usable Retry-After the client still gets one.
        assert_eq!(rate_limited(&HeaderMap::new()).retry_after, Some(1));
    }

    #[test]
    fn our_pt_hints_name_the_resource_and_nothing_else_passes() {
        let with_hint = |code: &str, hint: &str| {
            let body = serde_json::json!({ "code": code, "message": "x", "hint": hint });
            map_error(StatusCode::NOT_FOUND, body.to_string().as_bytes())
        };
        assert_eq!(
            with_hint("PT404", "Workspace").message,
            "Workspace not found"
        );
        assert_eq!(
            with_hint("PT403", "This needs the users.read permission").message,
            "This needs the users.read permission"
        );
        // Anything that is not plain words (a value, a quote, SQL) is dropped.
        for hint in ["workspace", "Key (email)=(a@b.c)", "Drop'; --", ""] {
            let e = with_hint("PT404", hint);
            assert_eq!(e.message, "Resource not found", "{hint}");
            assert_eq!(e.not_found_as("Project").message, "Project not found");
        }
        assert_eq!(
            with_hint("PT403", "a <b>hint</b>").message,
            "You do not have permission to do this"
        );
    }

    #[test]
    fn an_unparseable_error_is_still_clean() {
        let e = map_error(StatusCode::BAD_GATEWAY, b"<html>nginx</html>");
        assert_eq!(e.status().as_u16(), 503);
        assert!(!e.body("r").to_string().contains("nginx"));
    }
}
