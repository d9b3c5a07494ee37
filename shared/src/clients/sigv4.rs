//! AWS Signature Version 4 for the few AWS requests sent with the process's own reqwest
//! client (S3's CopyObject, Secrets Manager's GetSecretValue), with aws-sigv4, so the
//! SDK's own HTTP and TLS stack is not compiled into every binary.

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};

/// The execution role's credentials, from the variables Lambda sets.
pub fn credentials_from(get: impl Fn(&str) -> Option<String>) -> Credentials {
    Credentials::new(
        get("AWS_ACCESS_KEY_ID").unwrap_or_default(),
        get("AWS_SECRET_ACCESS_KEY").unwrap_or_default(),
        get("AWS_SESSION_TOKEN"),
        None,
        "environment",
    )
}

/// What a signed request consists of.
pub struct Unsigned<'a> {
    pub method: &'a str,
    pub url: &'a str,
    /// Headers to sign and send as they are.
    pub headers: &'a [(&'a str, &'a str)],
    pub body: SignableBody<'a>,
}

/// The request's headers plus the signature's (Authorization, X-Amz-Date, ...), or None
/// when it cannot be signed (a malformed URL or header).
pub fn signed_headers(
    credentials: &Credentials,
    region: &str,
    service: &str,
    settings: SigningSettings,
    request: Unsigned<'_>,
) -> Option<Vec<(String, String)>> {
    let identity: aws_smithy_runtime_api::client::identity::Identity = credentials.clone().into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(std::time::SystemTime::now())
        .settings(settings)
        .build()
        .ok()?
        .into();
    let signable = SignableRequest::new(
        request.method,
        request.url,
        request.headers.iter().copied(),
        request.body,
    )
    .ok()?;
    let (instructions, _) = sign(signable, &params).ok()?.into_parts();
    Some(
        request
            .headers
            .iter()
            .copied()
            .chain(instructions.headers())
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    )
}
