//! Input at the edge: JSON bodies, path ids and query strings become typed, validated
//! values here, or a precise 4xx. Handlers never see raw input.

use lambda_http::{Body, Request, RequestExt};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use uuid::Uuid;
use validator::{Validate, ValidationError};

use crate::base::error::{ApiError, ErrorCode, FieldErrors};
pub use crate::base::paging::{PageQuery, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

/// Largest JSON body accepted (API Gateway allows far more; no route needs it).
pub const MAX_JSON_BODY_BYTES: usize = 64 * 1024;

/// Parses the body as JSON into `T` (which should `deny_unknown_fields`), then validates it.
///
/// 415 unless Content-Type is application/json, 413 over [`MAX_JSON_BODY_BYTES`],
/// 400 for malformed JSON, 422 naming the field for a missing, unknown, mistyped or
/// invalid value.
pub fn json_body<T: DeserializeOwned + Validate>(req: &Request) -> Result<T, ApiError> {
    let content_type = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime != "application/json" {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "Send the body as application/json",
        ));
    }
    let bytes: &[u8] = match req.body() {
        Body::Empty => b"",
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => b"",
    };
    if bytes.len() > MAX_JSON_BODY_BYTES {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("The body must not exceed {MAX_JSON_BODY_BYTES} bytes"),
        ));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("The request body is empty"));
    }
    // Syntax first (400), then shape: only a JSON object is a body (serde would
    // otherwise fill a struct from an array by position), then fields (422).
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|_| ApiError::bad_request("The request body is not valid JSON"))?;
    if !value.is_object() {
        return Err(ApiError::invalid_field("body", "must be a JSON object"));
    }
    let value: T = serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        field_error(&path, &err.into_inner().to_string())
    })?;
    value.validate()?;
    Ok(value)
}

/// A body the route may go without: none (no bytes, whatever the Content-Type) is
/// `None`, anything else is read as [`json_body`] reads it.
pub fn optional_json_body<T: DeserializeOwned + Validate>(
    req: &Request,
) -> Result<Option<T>, ApiError> {
    let empty = match req.body() {
        Body::Empty => true,
        Body::Text(text) => text.is_empty(),
        Body::Binary(bytes) => bytes.is_empty(),
        _ => true,
    };
    if empty {
        return Ok(None);
    }
    json_body(req).map(Some)
}

/// Turns a serde data error into a 422 naming the field, without echoing the input.
fn field_error(path: &str, message: &str) -> ApiError {
    let quoted = message.split('`').nth(1).map(str::to_owned);
    let (field, problem) = if message.starts_with("missing field") {
        (join_path(path, quoted.as_deref()), "is required")
    } else if message.starts_with("unknown field") {
        // The path already ends at the unknown key.
        let leaf = quoted.filter(|q| path.rsplit('.').next() != Some(q.as_str()));
        (join_path(path, leaf.as_deref()), "is not an allowed field")
    } else if message.starts_with("unknown variant") {
        (join_path(path, None), "is not one of the allowed values")
    } else {
        (join_path(path, None), "has an invalid value or type")
    };
    ApiError::invalid_field(&field, problem)
}

fn join_path(path: &str, leaf: Option<&str>) -> String {
    let base = if path == "." || path.is_empty() {
        String::new()
    } else {
        path.to_owned()
    };
    match (base.is_empty(), leaf) {
        (true, Some(leaf)) => leaf.to_owned(),
        (false, Some(leaf)) => format!("{base}.{leaf}"),
        (true, None) => "body".to_owned(),
        (false, None) => base,
    }
}

/// A path id. Ids are UUIDs; anything else cannot name an existing resource: 404.
pub fn path_id(req: &Request, name: &str, what: &str) -> Result<Uuid, ApiError> {
    req.path_parameters_ref()
        .and_then(|p| p.first(name))
        .and_then(|raw| Uuid::try_parse(raw).ok())
        .ok_or_else(|| ApiError::not_found(what))
}

/// The query string as `T` (which should `deny_unknown_fields`), validated: 422 naming
/// the parameter otherwise.
pub fn query<T: DeserializeOwned + Validate>(req: &Request) -> Result<T, ApiError> {
    from_pairs(query_pairs(req)?)
}

/// A list route's query: `page` and `pageSize` as a [`PageQuery`], the other
/// parameters as `T` (which should `deny_unknown_fields`).
pub fn paged_query<T: DeserializeOwned + Validate>(
    req: &Request,
) -> Result<(T, PageQuery), ApiError> {
    let (paging, rest): (Vec<_>, Vec<_>) = query_pairs(req)?
        .into_iter()
        .partition(|(k, _)| k == "page" || k == "pageSize");
    Ok((from_pairs(rest)?, from_pairs(paging)?))
}

/// The query string's pairs; a parameter given twice is refused.
fn query_pairs(req: &Request) -> Result<Vec<(String, String)>, ApiError> {
    let pairs: Vec<(String, String)> = match req.query_string_parameters_ref() {
        Some(params) => params
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        None => Vec::new(),
    };
    let mut seen = std::collections::BTreeSet::new();
    for (k, _) in &pairs {
        if !seen.insert(k.as_str()) {
            return Err(ApiError::invalid_field(k, "must be given once"));
        }
    }
    Ok(pairs)
}

fn from_pairs<T: DeserializeOwned + Validate>(pairs: Vec<(String, String)>) -> Result<T, ApiError> {
    let encoded = serde_urlencoded::to_string(&pairs)
        .map_err(|_| ApiError::bad_request("The query string is malformed"))?;
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
    let value: T = serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        field_error(&path, &err.into_inner().to_string())
    })?;
    value.validate()?;
    Ok(value)
}

/// Validator for names and titles: not blank, no control characters.
pub fn plain_text(value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::new("blank").with_message("must not be blank".into()));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(ValidationError::new("control_characters")
            .with_message("must not contain control characters".into()));
    }
    Ok(())
}

/// Validator for longer free text: control characters other than newlines and tabs refused.
pub fn free_text(value: &str) -> Result<(), ValidationError> {
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(ValidationError::new("control_characters")
            .with_message("must not contain control characters".into()));
    }
    Ok(())
}

/// Deserializes a string without its leading and trailing whitespace: the value the
/// validators check is the value stored (`#[serde(deserialize_with = "input::trimmed")]`).
pub fn trimmed<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let value = String::deserialize(deserializer)?;
    Ok(match value.trim() {
        t if t.len() == value.len() => value,
        t => t.to_owned(),
    })
}

/// As [`trimmed`], for an optional field (with `#[serde(default)]`).
pub fn trimmed_option<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    // With `#[serde(default)]`: absent is `None`; `null` is refused (a type error, 422),
    // as for any field that cannot be cleared.
    trimmed(deserializer).map(Some)
}

/// Deserializes a present field (even `null`) as `Some`, so PATCH bodies can tell
/// "absent" (`None`) from "set to null" (`Some(None)`).
pub fn present<'de, T, D>(deserializer: D) -> Result<Option<T>, D::Error>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// The fields a PATCH body sets, as the JSON object its `Serialize` writes (absent
/// fields skipped with `skip_serializing_if = "Option::is_none"`, a field set to `null`
/// kept as `null`); 422 ([`empty_patch`]) when it sets none.
pub fn changes<T: serde::Serialize>(
    changes: &T,
) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    match serde_json::to_value(changes) {
        Ok(serde_json::Value::Object(fields)) if !fields.is_empty() => Ok(fields),
        Ok(serde_json::Value::Object(_)) => Err(empty_patch()),
        _ => Err(ApiError::internal("changes serialization failed")),
    }
}

/// A 422 for a body that must change at least one field.
pub fn empty_patch() -> ApiError {
    let mut fields = FieldErrors::new();
    fields.insert(
        "body".into(),
        vec!["must contain at least one field to change".into()],
    );
    ApiError::validation(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, Validate)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Sample {
        #[validate(length(min = 1, max = 3, message = "must be 1 to 3 characters"))]
        short_name: String,
        count: Option<u32>,
    }

    fn body(text: &str) -> Request {
        http::Request::builder()
            .header("content-type", "application/json")
            .body(Body::Text(text.to_owned()))
            .unwrap()
    }

    fn field_of(e: &ApiError) -> String {
        let details = e.details.as_ref().expect("details");
        let fields = &details.fields;
        assert_eq!(fields.len(), 1, "{details:?}");
        fields.keys().next().unwrap().clone()
    }

    #[test]
    fn names_the_failing_field_once() {
        let cases = [
            (r#"{}"#, "shortName"),
            (r#"{"shortName": "ab", "extra": 1}"#, "extra"),
            (r#"{"shortName": 5}"#, "shortName"),
            (r#"{"shortName": "ab", "count": "x"}"#, "count"),
            (r#"{"shortName": "abcd"}"#, "shortName"),
            (r#"["ab", 1]"#, "body"),
        ];
        for (text, field) in cases {
            let e = json_body::<Sample>(&body(text)).unwrap_err();
            assert_eq!(e.code, ErrorCode::ValidationError, "{text}");
            assert_eq!(field_of(&e), field, "{text}");
        }
    }

    #[test]
    fn syntax_errors_are_400_even_after_a_type_error() {
        for text in [r#"{"shortName": 1,"#, "[1,", "{", "nope"] {
            let e = json_body::<Sample>(&body(text)).unwrap_err();
            assert_eq!(e.code, ErrorCode::BadRequest, "{text}");
        }
    }

    /// API Gateway hands a body that is not UTF-8 to the function base64-encoded, which
    /// lambda_http decodes into `Body::Binary`.
    #[test]
    fn a_body_that_is_not_utf8_is_400() {
        let req = http::Request::builder()
            .header("content-type", "application/json")
            .body(Body::Binary(b"\xff\xfe{\"shortName\": \"ab\"}".to_vec()))
            .unwrap();
        let e = json_body::<Sample>(&req).unwrap_err();
        assert_eq!(e.code, ErrorCode::BadRequest);
    }

    #[test]
    fn accepts_a_valid_body() {
        let s: Sample = json_body(&body(r#"{"shortName": "ab", "count": 2}"#)).unwrap();
        assert_eq!(s.short_name, "ab");
        assert_eq!(s.count, Some(2));
    }
}
