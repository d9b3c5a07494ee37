//! One error type for every route, one JSON shape for every error.
//!
//! The message a client sees is written here or by the route, never copied from
//! PostgREST, Postgres, serde or a TLS library: internals stay in the log, as codes.

use std::borrow::Cow;
use std::collections::BTreeMap;

use http::StatusCode;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// What went wrong, for programs: each code has one HTTP status ([`ErrorCode::status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    BadRequest,
    Unauthorized,
    Forbidden,
    /// 403: the session signed in too long ago for this; sign in again or send the
    /// password.
    ReauthenticationNeeded,
    NotFound,
    MethodNotAllowed,
    Conflict,
    CsrfFailed,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationError,
    /// 422: an `Idempotency-Key` already used for a different request.
    IdempotencyKeyReused,
    /// 409: a request with the same `Idempotency-Key` is still running.
    IdempotencyInProgress,
    RateLimited,
    #[serde(rename = "INTERNAL_ERROR")]
    Internal,
    ServiceUnavailable,
    /// 503 while the site's `maintenanceMode` is on: writes by users who are not admins.
    Maintenance,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "BAD_REQUEST",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::Forbidden => "FORBIDDEN",
            Self::ReauthenticationNeeded => "REAUTHENTICATION_NEEDED",
            Self::NotFound => "NOT_FOUND",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::Conflict => "CONFLICT",
            Self::CsrfFailed => "CSRF_FAILED",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Self::ValidationError => "VALIDATION_ERROR",
            Self::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            Self::IdempotencyInProgress => "IDEMPOTENCY_IN_PROGRESS",
            Self::RateLimited => "RATE_LIMITED",
            Self::Internal => "INTERNAL_ERROR",
            Self::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            Self::Maintenance => "MAINTENANCE",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::ReauthenticationNeeded => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict => StatusCode::CONFLICT,
            Self::CsrfFailed => StatusCode::FORBIDDEN,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::ValidationError | Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::IdempotencyInProgress => StatusCode::CONFLICT,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::ServiceUnavailable | Self::Maintenance => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// Field name -> what is wrong with it, as the `details` of a VALIDATION_ERROR.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// The `details` of an error. A VALIDATION_ERROR's `fields` names each field that is
/// wrong (camelCase, `body` for the body as a whole, `a.b` or `a[0]` inside it) with
/// what is wrong with it; a CONFLICT about workspaces (an account that is the last
/// admin of some) names them in `workspaces`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct ErrorDetails {
    #[serde(skip_serializing_if = "FieldErrors::is_empty")]
    #[schema(inline)]
    pub fields: FieldErrors,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub workspaces: Vec<WorkspaceRef>,
}

/// A workspace an error is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
pub struct WorkspaceRef {
    pub id: uuid::Uuid,
    pub name: String,
}

/// The body of every error response: `{"error": {code, message, requestId, details?}}`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorEnvelope<'a> {
    pub error: ErrorObject<'a>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorObject<'a> {
    pub code: ErrorCode,
    /// For people: what to change. Never internals (SQL, upstream text, tokens).
    pub message: &'a str,
    /// The `x-request-id` of the response, to quote to support.
    pub request_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub details: Option<&'a ErrorDetails>,
}

#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: Cow<'static, str>,
    pub details: Option<Box<ErrorDetails>>,
    /// For the log only: what really happened (an upstream error code, a verifier reason).
    /// Never sent to the client, never contains SQL, tokens or upstream message text.
    pub cause: Option<Cow<'static, str>>,
    /// The SQLSTATE or PostgREST code this error was mapped from, if any.
    pub upstream_code: Option<Box<str>>,
    pub allow: Option<Box<str>>,
    /// Seconds for Retry-After (429).
    pub retry_after: Option<u64>,
    /// The handler already wrote the audit event for this refusal.
    pub audited: bool,
    /// Headers the error response must carry as well (Set-Cookie clearing a dead
    /// session, RateLimit on a 429).
    pub extra_headers: Option<Box<Vec<(http::HeaderName, http::HeaderValue)>>>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
            cause: None,
            upstream_code: None,
            allow: None,
            retry_after: None,
            audited: false,
            extra_headers: None,
        }
    }

    pub fn with_cause(mut self, cause: impl Into<Cow<'static, str>>) -> Self {
        self.cause = Some(cause.into());
        self
    }

    pub fn unauthorized(cause: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            ErrorCode::Unauthorized,
            "Authentication required: send a valid Supabase access token",
        )
        .with_cause(cause)
    }

    pub fn forbidden(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    pub fn conflict(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    /// 403 CSRF_FAILED: a cookie-authenticated unsafe request from the wrong origin.
    pub fn csrf(cause: &'static str) -> Self {
        Self::new(
            ErrorCode::CsrfFailed,
            "Cross-site request refused: send it from an allowed origin",
        )
        .with_cause(cause)
    }

    /// 429 with Retry-After.
    pub fn rate_limited(retry_after: u64) -> Self {
        let mut e = Self::new(ErrorCode::RateLimited, "Too many requests; try again later");
        e.retry_after = Some(retry_after.max(1));
        e
    }

    /// 403: `signupsEnabled` is off (the API's check, or Supabase Auth's hook).
    pub fn signups_closed() -> Self {
        Self::new(ErrorCode::Forbidden, "Sign-ups are closed")
    }

    /// 503 MAINTENANCE with Retry-After: the site's maintenanceMode refuses this write.
    pub fn maintenance(retry_after: u64) -> Self {
        let mut e = Self::new(
            ErrorCode::Maintenance,
            "The service is down for maintenance; try again later",
        );
        e.retry_after = Some(retry_after.max(1));
        e
    }

    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    pub fn method_not_allowed(allow: String) -> Self {
        let mut e = Self::new(
            ErrorCode::MethodNotAllowed,
            "This method is not allowed on this resource",
        );
        e.allow = Some(allow.into());
        e
    }

    pub fn internal(cause: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::Internal, "An unexpected error occurred").with_cause(cause)
    }

    pub fn unavailable(cause: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            ErrorCode::ServiceUnavailable,
            "A service this request depends on is unavailable; try again shortly",
        )
        .with_cause(cause)
    }

    /// 422 with per-field messages.
    pub fn validation(fields: FieldErrors) -> Self {
        let mut e = Self::new(ErrorCode::ValidationError, "The request is not valid");
        e.details = Some(Box::new(ErrorDetails {
            fields,
            ..ErrorDetails::default()
        }));
        e
    }

    /// 403 REAUTHENTICATION_NEEDED with the message for this case.
    pub fn reauthenticate(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::ReauthenticationNeeded, message)
    }

    /// 409: the account is the last admin of these workspaces, which have other members.
    pub fn last_admin(workspaces: Vec<WorkspaceRef>) -> Self {
        let mut e = Self::conflict(
            "This account is the last admin of workspaces that have other members: make someone else an admin there, or remove the members, first",
        );
        e.details = Some(Box::new(ErrorDetails {
            workspaces,
            ..ErrorDetails::default()
        }));
        e
    }

    /// 422 for one field.
    pub fn invalid_field(field: &str, message: &str) -> Self {
        let mut fields = FieldErrors::new();
        fields.insert(field.to_owned(), vec![message.to_owned()]);
        Self::validation(fields)
    }

    pub fn with_cookies(self, cookies: Vec<String>) -> Self {
        let headers = cookies
            .into_iter()
            .filter_map(|c| http::HeaderValue::from_str(&c).ok())
            .map(|v| (http::header::SET_COOKIE, v))
            .collect();
        self.with_headers(headers)
    }

    pub fn with_headers(mut self, headers: Vec<(http::HeaderName, http::HeaderValue)>) -> Self {
        self.extra_headers
            .get_or_insert_with(Default::default)
            .extend(headers);
        self
    }

    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    /// A not-found from PostgREST (no row, or `PT404` without a hint of its own) names
    /// `what`; any other error is unchanged.
    pub fn not_found_as(self, what: &str) -> Self {
        let generic = self.code == ErrorCode::NotFound && self.message == "Resource not found";
        match self.upstream_code.as_deref() {
            Some("PGRST116") | Some("PT404") if generic => Self {
                message: format!("{what} not found").into(),
                ..self
            },
            _ => self,
        }
    }

    /// True when Postgres refused a write because a referenced row does not exist.
    pub fn is_foreign_key_violation(&self) -> bool {
        self.upstream_code.as_deref() == Some("23503")
    }

    /// The JSON body of this error.
    pub fn body(&self, request_id: &str) -> Value {
        let envelope = ErrorEnvelope {
            error: ErrorObject {
                code: self.code,
                message: &self.message,
                request_id,
                details: self.details.as_deref(),
            },
        };
        serde_json::to_value(envelope).unwrap_or(Value::Null)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for ApiError {}

impl From<validator::ValidationErrors> for ApiError {
    fn from(errors: validator::ValidationErrors) -> Self {
        let mut fields = FieldErrors::new();
        collect_validation_errors(&errors, "", &mut fields);
        Self::validation(fields)
    }
}

fn collect_validation_errors(
    errors: &validator::ValidationErrors,
    prefix: &str,
    out: &mut FieldErrors,
) {
    use validator::ValidationErrorsKind;
    for (field, kind) in errors.errors() {
        let name = if field == "__all__" {
            "body".to_owned()
        } else {
            camel_case(field)
        };
        let path = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}.{name}")
        };
        match kind {
            ValidationErrorsKind::Field(list) => {
                let messages = out.entry(path).or_default();
                for e in list {
                    messages.push(
                        e.message
                            .as_ref()
                            .map(|m| m.to_string())
                            .unwrap_or_else(|| format!("is invalid ({})", e.code)),
                    );
                }
            }
            ValidationErrorsKind::Struct(inner) => collect_validation_errors(inner, &path, out),
            ValidationErrorsKind::List(items) => {
                for (i, inner) in items {
                    collect_validation_errors(inner, &format!("{path}[{i}]"), out);
                }
            }
        }
    }
}

/// `workspace_id` -> `workspaceId`: validator reports Rust field names, clients send
/// camelCase (a raw identifier, `r#type`, is the field `type`).
pub fn camel_case(snake: &str) -> String {
    let snake = snake.strip_prefix("r#").unwrap_or(snake);
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_their_names() {
        use ErrorCode::*;
        for code in [
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            MethodNotAllowed,
            Conflict,
            CsrfFailed,
            PayloadTooLarge,
            UnsupportedMediaType,
            ValidationError,
            RateLimited,
            Internal,
            ServiceUnavailable,
        ] {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
    }

    #[test]
    fn camel_cases_field_names() {
        assert_eq!(camel_case("workspace_id"), "workspaceId");
        assert_eq!(camel_case("name"), "name");
        assert_eq!(camel_case("page_size"), "pageSize");
        assert_eq!(camel_case("r#type"), "type");
    }

    #[test]
    fn body_has_the_contract_shape_and_no_cause() {
        let e = ApiError::internal("postgrest 42P01");
        let body = e.body("req-1");
        assert_eq!(body["error"]["code"], "INTERNAL_ERROR");
        assert_eq!(body["error"]["requestId"], "req-1");
        assert!(body["error"].get("details").is_none());
        assert!(!body.to_string().contains("42P01"));
    }
}
