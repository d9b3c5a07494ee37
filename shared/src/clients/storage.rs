//! S3 for uploads: presigned URLs for the client (PUT with Content-Type and
//! Content-Length signed, so S3 itself refuses anything else; GET with
//! Content-Disposition), and the function's own object calls.
//!
//! The function's calls (HEAD, ranged GET, copy, DELETE) are presigned too and sent with
//! the process's one reqwest client: aws-sdk-s3 is used without an HTTP client of its
//! own, so there is one TLS stack and one connection pool per process. They carry the
//! invocation's X-Ray trace header, added here: the SDK's recursion-detection
//! interceptor would take it from `_X_AMZN_TRACE_ID`, which this runtime never sets
//! (shared/src/pipeline/runtime.rs), and the header is not signed (SigV4 leaves
//! `x-amzn-trace-id` out), so adding it after presigning is sound.
//!
//! Objects live under `pending/<user>/<id>` until verified, then `files/<user>/<id>`; a
//! lifecycle rule on `pending/` removes uploads that were never completed.

use std::time::Duration;

use aws_sdk_s3::presigning::{PresignedRequest, PresigningConfig};
use serde::Serialize;
use uuid::Uuid;

use crate::base::caller::Caller;
use crate::base::error::ApiError;
use crate::base::headers::TRACE_HEADER;
use crate::config::Config;

/// How long a client has to use an upload URL.
pub const UPLOAD_URL_TTL: Duration = Duration::from_secs(300);
/// How long a download URL works.
pub const DOWNLOAD_URL_TTL: Duration = Duration::from_secs(300);
/// Lifetime of the presigned requests the function sends itself.
const INTERNAL_TTL: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct Storage {
    s3: aws_sdk_s3::Client,
    http: reqwest::Client,
    pub bucket: String,
    credentials: aws_credential_types::Credentials,
    region: String,
    /// Base URL for requests the function signs itself (copy).
    object_base: String,
}

/// A presigned request for the client: method, URL and the headers it must send as is.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientRequest {
    pub method: String,
    pub url: String,
    pub headers: std::collections::BTreeMap<String, String>,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

pub fn pending_key(owner: Uuid, id: Uuid) -> String {
    format!("pending/{owner}/{id}")
}

pub fn file_key(owner: Uuid, id: Uuid) -> String {
    format!("files/{owner}/{id}")
}

fn unavailable(what: &'static str) -> ApiError {
    ApiError::unavailable(what)
}

/// An object's size and ETag (as S3 writes it, quotes included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectHead {
    pub size: u64,
    pub etag: String,
}

/// The object changed between two requests that had to see the same version.
fn replaced() -> ApiError {
    ApiError::conflict("The file changed while it was being checked; complete the upload again")
        .with_cause("s3: precondition failed (object replaced)")
}

/// The object was there a moment ago and is not now (removed by a request at the same
/// time: for a pending upload, another completion of it).
fn gone() -> ApiError {
    ApiError::conflict("The file is gone since it was checked; complete the upload again")
        .with_cause("s3: not found (object removed)")
}

impl Storage {
    /// None when UPLOADS_BUCKET is not configured (routes that need it answer 503).
    pub fn from_config(config: &Config, http: reqwest::Client) -> Option<Self> {
        let bucket = config.uploads_bucket.clone()?;
        let credentials = crate::clients::sigv4::credentials_from(|name| std::env::var(name).ok());
        let mut builder = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new(config.aws_region.clone()))
            .credentials_provider(credentials.clone());
        let object_base = match &config.s3_endpoint {
            Some(endpoint) => {
                let endpoint = endpoint.as_str().trim_end_matches('/');
                builder = builder.endpoint_url(endpoint).force_path_style(true);
                format!("{endpoint}/{bucket}")
            }
            None => format!("https://{bucket}.s3.{}.amazonaws.com", config.aws_region),
        };
        Some(Self {
            s3: aws_sdk_s3::Client::from_conf(builder.build()),
            http,
            bucket,
            credentials,
            region: config.aws_region.clone(),
            object_base,
        })
    }

    fn ttl(d: Duration) -> Result<PresigningConfig, ApiError> {
        PresigningConfig::expires_in(d).map_err(|_| ApiError::internal("presigning config"))
    }

    fn to_client(req: PresignedRequest, ttl: Duration) -> ClientRequest {
        ClientRequest {
            method: req.method().to_owned(),
            url: req.uri().to_owned(),
            // The SDK adds Lambda's X-Ray trace header where the environment has one;
            // it is not signed and means nothing to the client.
            headers: req
                .headers()
                .filter(|(k, _)| !k.eq_ignore_ascii_case(TRACE_HEADER))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            expires_at: chrono::Utc::now() + chrono::Duration::from_std(ttl).unwrap_or_default(),
        }
    }

    /// A PUT URL that S3 accepts only with exactly this Content-Type and Content-Length.
    pub async fn presign_upload(
        &self,
        key: &str,
        content_type: &str,
        size: i64,
    ) -> Result<ClientRequest, ApiError> {
        let req = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(size)
            .presigned(Self::ttl(UPLOAD_URL_TTL)?)
            .await
            .map_err(|_| ApiError::internal("presign put"))?;
        Ok(Self::to_client(req, UPLOAD_URL_TTL))
    }

    /// A GET URL whose response downloads as `filename` (RFC 6266 / 5987 encoded).
    pub async fn presign_download(
        &self,
        key: &str,
        filename: &str,
    ) -> Result<ClientRequest, ApiError> {
        let req = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_disposition(content_disposition(filename))
            .presigned(Self::ttl(DOWNLOAD_URL_TTL)?)
            .await
            .map_err(|_| ApiError::internal("presign get"))?;
        Ok(Self::to_client(req, DOWNLOAD_URL_TTL))
    }

    /// The bucket as `caller`'s request uses it: its calls carry the request's trace.
    pub fn for_request<'a>(&'a self, caller: &'a Caller) -> Bucket<'a> {
        Bucket {
            storage: self,
            caller,
        }
    }
}

/// The bucket in one request: the calls that reach S3 (presigning is local: [`Storage`]).
pub struct Bucket<'a> {
    storage: &'a Storage,
    caller: &'a Caller,
}

impl std::ops::Deref for Bucket<'_> {
    type Target = Storage;

    fn deref(&self) -> &Storage {
        self.storage
    }
}

impl Bucket<'_> {
    async fn send(&self, req: PresignedRequest) -> Result<reqwest::Response, ApiError> {
        let method = reqwest::Method::from_bytes(req.method().as_bytes())
            .map_err(|_| ApiError::internal("presigned method"))?;
        let mut builder = self.http.request(method, req.uri());
        for (k, v) in req.headers() {
            if !k.eq_ignore_ascii_case(TRACE_HEADER) {
                builder = builder.header(k, v);
            }
        }
        builder = self.caller.traced(builder);
        builder
            .send()
            .await
            .map_err(|_| unavailable("s3: unreachable"))
    }

    /// The object's size, or None when it does not exist.
    pub async fn size(&self, key: &str) -> Result<Option<u64>, ApiError> {
        Ok(self.head(key).await?.map(|h| h.size))
    }

    /// The object's size and ETag, or None when it does not exist.
    pub async fn head(&self, key: &str) -> Result<Option<ObjectHead>, ApiError> {
        let req = self
            .s3
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(Storage::ttl(INTERNAL_TTL)?)
            .await
            .map_err(|_| ApiError::internal("presign head"))?;
        let response = self.send(req).await?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        match response.status().as_u16() {
            // The header, not reqwest's content_length() (the body of a HEAD is empty).
            200 => match (
                header("content-length").and_then(|v| v.parse().ok()),
                header("etag"),
            ) {
                (Some(size), Some(etag)) => Ok(Some(ObjectHead { size, etag })),
                _ => Err(ApiError::internal("s3: head without size or etag")),
            },
            // Without s3:ListBucket (least privilege), S3 answers a missing key with 403.
            404 | 403 => Ok(None),
            s if s >= 500 => Err(unavailable("s3: head failed")),
            _ => Err(ApiError::internal("s3: head refused")),
        }
    }

    /// The first `n` bytes of the object (a ranged GET), of exactly the version whose
    /// ETag is `etag` (If-Match: S3 answers 412 once the object was replaced).
    pub async fn first_bytes(&self, key: &str, n: u64, etag: &str) -> Result<Vec<u8>, ApiError> {
        let req = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .range(format!("bytes=0-{}", n.saturating_sub(1)))
            .if_match(etag)
            .presigned(Storage::ttl(INTERNAL_TTL)?)
            .await
            .map_err(|_| ApiError::internal("presign ranged get"))?;
        let response = self.send(req).await?;
        match response.status() {
            reqwest::StatusCode::PRECONDITION_FAILED => return Err(replaced()),
            reqwest::StatusCode::NOT_FOUND => return Err(gone()),
            _ => {}
        }
        if !response.status().is_success() {
            return Err(if response.status().is_server_error() {
                unavailable("s3: get failed")
            } else {
                ApiError::internal("s3: get refused")
            });
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|_| unavailable("s3: read failed"))?;
        Ok(bytes.iter().take(n as usize).copied().collect())
    }

    /// Server-side copy within the bucket. CopyObject cannot be presigned, so this one
    /// request is signed (SigV4, header form) here and sent with the same client.
    /// With `etag`, only that version of the source is copied
    /// (`x-amz-copy-source-if-match`; 412, a conflict here, once it was replaced).
    pub async fn copy(&self, from: &str, to: &str, etag: Option<&str>) -> Result<(), ApiError> {
        use aws_sigv4::http_request::{
            PayloadChecksumKind, PercentEncodingMode, SignableBody, SigningSettings,
            UriPathNormalizationMode,
        };
        let url = format!("{}/{}", self.object_base, encode_key(to));
        let source = format!("/{}/{}", self.bucket, encode_key(from));
        let mut headers = vec![("x-amz-copy-source", source.as_str())];
        if let Some(etag) = etag {
            headers.push(("x-amz-copy-source-if-match", etag));
        }
        let mut settings = SigningSettings::default();
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        let signed = crate::clients::sigv4::signed_headers(
            &self.credentials,
            &self.region,
            "s3",
            settings,
            crate::clients::sigv4::Unsigned {
                method: "PUT",
                url: &url,
                headers: &headers,
                body: SignableBody::UnsignedPayload,
            },
        )
        .ok_or_else(|| ApiError::internal("sigv4 sign"))?;
        let mut request = self.caller.traced(self.http.put(&url));
        for (k, v) in signed {
            request = request.header(k, v);
        }
        let response = request
            .send()
            .await
            .map_err(|_| unavailable("s3: unreachable"))?;
        match response.status() {
            s if s.is_success() => Ok(()),
            reqwest::StatusCode::PRECONDITION_FAILED => Err(replaced()),
            reqwest::StatusCode::NOT_FOUND => Err(gone()),
            s if s.is_server_error() => Err(unavailable("s3: copy failed")),
            _ => Err(ApiError::internal("s3: copy refused")),
        }
    }

    /// Deletes the object (a missing object is not an error).
    pub async fn delete(&self, key: &str) -> Result<(), ApiError> {
        let req = self
            .s3
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(Storage::ttl(INTERNAL_TTL)?)
            .await
            .map_err(|_| ApiError::internal("presign delete"))?;
        let response = self.send(req).await?;
        match response.status().as_u16() {
            200..=299 | 404 => Ok(()),
            s if s >= 500 => Err(unavailable("s3: delete failed")),
            _ => Err(ApiError::internal("s3: delete refused")),
        }
    }
}

/// RFC 3986 unreserved characters stay as they are (as SigV4 expects).
const KEY_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// An object key in a URL path: each segment percent-encoded, slashes kept.
fn encode_key(key: &str) -> String {
    key.split('/')
        .map(|seg| percent_encoding::utf8_percent_encode(seg, KEY_SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// `attachment; filename="<ascii fallback>"; filename*=UTF-8''<percent-encoded>`: the
/// original name, safe in a header whatever characters it holds.
pub fn content_disposition(filename: &str) -> String {
    let fallback: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded =
        percent_encoding::utf8_percent_encode(filename, percent_encoding::NON_ALPHANUMERIC);
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A stand-in S3 on 127.0.0.1 that answers 204 and keeps each request's head.
    async fn recording_s3() -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let heads = Arc::new(Mutex::new(Vec::new()));
        let seen = heads.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut head = Vec::new();
                let mut buf = [0; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                seen.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&head).to_ascii_lowercase());
                let _ = socket
                    .write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            }
        });
        (url, heads)
    }

    #[tokio::test]
    async fn the_functions_own_s3_calls_carry_the_requests_trace_header() {
        let (endpoint, heads) = recording_s3().await;
        let config = Config::from_lookup(|name| match name {
            "SUPABASE_URL" => Some("http://127.0.0.1:9".into()),
            "SUPABASE_ANON_KEY" => Some("anon".into()),
            "UPLOADS_BUCKET" => Some("uploads".into()),
            "S3_ENDPOINT" => Some(endpoint.clone()),
            _ => None,
        })
        .unwrap();
        let storage = Storage::from_config(&config, reqwest::Client::new()).unwrap();
        let header = "Root=1-abc-def;Parent=0123456789abcdef;Sampled=1";
        let traced = Caller::background("req-s3", Some(header.into()));
        let bucket = storage.for_request(&traced);
        bucket.delete("pending/a/b").await.unwrap();
        bucket.copy("pending/a/b", "files/a/b", None).await.unwrap();
        let untraced = Caller::default();
        storage
            .for_request(&untraced)
            .delete("pending/a/c")
            .await
            .unwrap();
        let heads = heads.lock().unwrap().clone();
        assert_eq!(heads.len(), 3, "{heads:?}");
        let line = format!("x-amzn-trace-id: {}\r\n", header.to_ascii_lowercase());
        assert!(
            heads[0].starts_with("delete ") && heads[0].contains(&line),
            "{}",
            heads[0]
        );
        assert!(
            heads[1].starts_with("put ") && heads[1].contains(&line),
            "{}",
            heads[1]
        );
        assert_eq!(heads[0].matches("x-amzn-trace-id").count(), 1);
        assert_eq!(heads[1].matches("x-amzn-trace-id").count(), 1);
        assert!(
            !heads[2].contains("x-amzn-trace-id"),
            "a request without a trace: {}",
            heads[2]
        );
    }

    #[test]
    fn content_disposition_is_header_safe() {
        let v = content_disposition("résumé \"x\";\r\nSet-Cookie: a=b.png");
        assert!(!v.contains('\r') && !v.contains('\n'));
        assert!(v.starts_with("attachment; filename=\"r_sum_ _x___"));
        assert!(v.contains(
            "filename*=UTF-8''r%C3%A9sum%C3%A9%20%22x%22%3B%0D%0ASet%2DCookie%3A%20a%3Db%2Epng"
        ));
    }
}
