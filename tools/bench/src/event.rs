//! What travels through the emulator: API Gateway HTTP API events (payload format 2.0,
//! the shape of `functions/events/*.json`) and the functions' answers (lambda_http's
//! payload 2.0 response: statusCode, headers, body, isBase64Encoded).

use chrono::Utc;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::error::{bail, Context, Result};

const API_ID: &str = "benchapi01";
const SOURCE_IP: &str = "203.0.113.10";
const USER_AGENT: &str = "supa-lambda-bench";

/// One HTTP request as API Gateway would deliver it.
pub struct HttpRequest<'a> {
    pub method: &'a str,
    /// The API Gateway route, with `{name}` path parameters: `/projects/{id}`.
    pub route: &'a str,
    /// The concrete path: `/projects/6f1c...`.
    pub path: &'a str,
    /// The raw, URL-encoded query string (without `?`).
    pub query: &'a str,
    pub body: Option<&'a str>,
    pub bearer_token: Option<&'a str>,
}

/// An event with everything fixed but the per-request ids and times, which
/// [`EventTemplate::render`] fills in fresh each time.
pub struct EventTemplate(Value);

impl EventTemplate {
    pub fn new(req: &HttpRequest<'_>) -> Result<Self> {
        let route_key = format!("{} {}", req.method, req.route);
        let domain = format!("{API_ID}.execute-api.us-east-1.amazonaws.com");
        let mut headers = Map::new();
        let mut header = |name: &str, value: String| {
            headers.insert(name.to_owned(), Value::String(value));
        };
        header("accept", "application/json".into());
        if let Some(token) = req.bearer_token {
            header("authorization", format!("Bearer {token}"));
        }
        if let Some(body) = req.body {
            header("content-type", "application/json".into());
            header("content-length", body.len().to_string());
        }
        header("host", domain.clone());
        header("user-agent", USER_AGENT.into());
        header("x-forwarded-for", SOURCE_IP.into());
        header("x-forwarded-port", "443".into());
        header("x-forwarded-proto", "https".into());

        let mut event = json!({
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": req.path,
            "rawQueryString": req.query,
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": API_ID,
                "domainName": domain,
                "domainPrefix": API_ID,
                "http": {
                    "method": req.method,
                    "path": req.path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": SOURCE_IP,
                    "userAgent": USER_AGENT,
                },
                "requestId": "",
                "routeKey": route_key,
                "stage": "$default",
                "time": "",
                "timeEpoch": 0,
            },
            "isBase64Encoded": false,
        });
        let query = query_parameters(req.query)?;
        if !query.is_empty() {
            event["queryStringParameters"] = Value::Object(query);
        }
        let params = path_parameters(req.route, req.path)?;
        if !params.is_empty() {
            event["pathParameters"] = Value::Object(params);
        }
        if let Some(body) = req.body {
            event["body"] = Value::String(body.to_owned());
        }
        Ok(Self(event))
    }

    /// The same event with one more header (`name` lower-case, as API Gateway sends it).
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.0["headers"][name] = Value::String(value.to_owned());
        self
    }

    /// The same event with the cookies a browser sends (`name=value` each): payload 2.0
    /// carries them in `cookies` and, as API Gateway forwards them, in the `cookie` header.
    pub fn with_cookies(mut self, cookies: &[String]) -> Self {
        self.0["cookies"] = Value::from(cookies.to_vec());
        self.0["headers"]["cookie"] = Value::String(cookies.join("; "));
        self
    }

    /// The event as JSON, with a fresh API Gateway request id, trace header and time.
    pub fn render(&self) -> Vec<u8> {
        let mut event = self.0.clone();
        let now = Utc::now();
        let id = Uuid::new_v4().simple().to_string();
        let context = &mut event["requestContext"];
        context["requestId"] = Value::String(id[..16].to_owned());
        context["time"] = Value::String(now.format("%d/%b/%Y:%H:%M:%S +0000").to_string());
        context["timeEpoch"] = Value::from(now.timestamp_millis());
        event["headers"]["x-amzn-trace-id"] = Value::String(format!(
            "Root=1-{:08x}-{}",
            now.timestamp() as u32,
            &id[8..]
        ));
        serde_json::to_vec(&event).unwrap_or_default()
    }
}

/// `queryStringParameters`: decoded, repeated keys joined with commas as API Gateway does.
fn query_parameters(raw: &str) -> Result<Map<String, Value>> {
    let mut params = Map::new();
    if raw.is_empty() {
        return Ok(params);
    }
    let url = reqwest::Url::parse(&format!("http://localhost/?{raw}"))
        .context("the query string of a case is not valid")?;
    for (key, value) in url.query_pairs() {
        match params.get_mut(key.as_ref()) {
            Some(Value::String(joined)) => {
                joined.push(',');
                joined.push_str(&value);
            }
            _ => {
                params.insert(key.into_owned(), Value::String(value.into_owned()));
            }
        }
    }
    Ok(params)
}

/// `pathParameters`: the route's `{name}` segments matched against the path.
fn path_parameters(route: &str, path: &str) -> Result<Map<String, Value>> {
    let route_segments: Vec<&str> = route.split('/').collect();
    let path_segments: Vec<&str> = path.split('/').collect();
    if route_segments.len() != path_segments.len() {
        bail!("path {path} does not match route {route}");
    }
    let mut params = Map::new();
    for (pattern, segment) in route_segments.iter().zip(&path_segments) {
        match pattern.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) => {
                params.insert(name.to_owned(), Value::String((*segment).to_owned()));
            }
            None if pattern != segment => bail!("path {path} does not match route {route}"),
            None => {}
        }
    }
    Ok(params)
}

/// A function's answer, as lambda_http serializes it for API Gateway.
pub struct FunctionResponse {
    pub status: u16,
    pub body: String,
    /// `Idempotent-Replayed: true`: the answer of an earlier request with the same key.
    pub replayed: bool,
    /// The headers, names in lower case.
    pub headers: std::collections::BTreeMap<String, String>,
    /// The `Set-Cookie` values (payload 2.0's `cookies`).
    pub cookies: Vec<String>,
}

impl FunctionResponse {
    pub fn parse(raw: &[u8]) -> Result<Self> {
        let text = || String::from_utf8_lossy(raw).into_owned();
        let value: Value = serde_json::from_slice(raw)
            .context(format!("the function's response is not JSON: {}", text()))?;
        let status = value["statusCode"]
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .context(format!(
                "the function's response has no statusCode: {}",
                text()
            ))?;
        let body = match (&value["body"], value["isBase64Encoded"].as_bool()) {
            (Value::String(body), Some(true)) => format!("(base64) {body}"),
            (Value::String(body), _) => body.clone(),
            _ => String::new(),
        };
        let headers: std::collections::BTreeMap<String, String> = value["headers"]
            .as_object()
            .map(|h| {
                h.iter()
                    .filter_map(|(k, v)| Some((k.to_ascii_lowercase(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        let replayed = headers
            .get("idempotent-replayed")
            .is_some_and(|v| v == "true");
        let cookies = value["cookies"]
            .as_array()
            .map(|c| {
                c.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            status,
            body,
            replayed,
            headers,
            cookies,
        })
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// `pagination.total` of a list answer.
    pub fn total(&self) -> Option<u64> {
        let value: Value = serde_json::from_str(&self.body).ok()?;
        value["pagination"]["total"].as_u64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_payload_2_0_shape() {
        let template = EventTemplate::new(&HttpRequest {
            method: "GET",
            route: "/projects/{id}",
            path: "/projects/abc",
            query: "search=User%20000012&page=1",
            body: Some("{}"),
            bearer_token: Some("t.o.k"),
        })
        .unwrap();
        let event: Value = serde_json::from_slice(&template.render()).unwrap();
        assert_eq!(event["version"], "2.0");
        assert_eq!(event["routeKey"], "GET /projects/{id}");
        assert_eq!(event["pathParameters"]["id"], "abc");
        assert_eq!(event["queryStringParameters"]["search"], "User 000012");
        assert_eq!(event["rawQueryString"], "search=User%20000012&page=1");
        assert_eq!(event["headers"]["authorization"], "Bearer t.o.k");
        assert_eq!(event["requestContext"]["http"]["method"], "GET");
        assert_eq!(event["body"], "{}");
        let again: Value = serde_json::from_slice(&template.render()).unwrap();
        assert_ne!(
            event["requestContext"]["requestId"],
            again["requestContext"]["requestId"]
        );
    }

    #[test]
    fn a_route_without_parameters_has_none() {
        assert!(path_parameters("/health", "/health").unwrap().is_empty());
        assert!(path_parameters("/projects/{id}", "/projects").is_err());
        assert!(path_parameters("/users/{id}", "/projects/x").is_err());
    }

    #[test]
    fn reads_the_status_and_the_total() {
        let raw = br#"{"statusCode":200,"headers":{},"body":"{\"data\":[],\"pagination\":{\"total\":42}}","isBase64Encoded":false}"#;
        let response = FunctionResponse::parse(raw).unwrap();
        assert!(response.is_success());
        assert_eq!(response.total(), Some(42));
        assert!(!response.replayed);
        let replay = br#"{"statusCode":201,"headers":{"Idempotent-Replayed":"true"},"body":"{}"}"#;
        assert!(FunctionResponse::parse(replay).unwrap().replayed);
        assert!(FunctionResponse::parse(b"{}").is_err());
    }
}
