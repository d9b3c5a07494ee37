//! Secrets read at cold start from AWS Secrets Manager, never from a function's
//! configuration: a function that needs the secret key or the HS256 JWT secret is given
//! the secret's ARN (`SUPABASE_SECRET_KEY_SECRET_ARN`, or the legacy
//! `SUPABASE_SERVICE_ROLE_KEY_SECRET_ARN`; `SUPABASE_JWT_SECRET_ARN`) and an IAM policy
//! for that ARN alone; `health` gets neither. Anyone who can read a function's
//! configuration sees an ARN, not a key.
//!
//! Locally the plain variables (`SUPABASE_SECRET_KEY` or `SUPABASE_SERVICE_ROLE_KEY`,
//! `SUPABASE_JWT_SECRET`) are read as before; when both a value and an ARN are set, the
//! ARN wins.
//!
//! Hand-written: one `GetSecretValue` call (JSON 1.1 protocol), signed by `sigv4` and
//! sent with a reqwest client, so that the SDK's own HTTP and TLS stack is not compiled
//! into every binary (as for S3's CopyObject in `storage.rs`).

use std::collections::HashMap;

use serde::Deserialize;

use crate::config::ConfigError;

/// (the variable a value lands in, the variable naming its secret's ARN)
pub const SECRET_VARS: [(&str, &str); 3] = [
    ("SUPABASE_SECRET_KEY", "SUPABASE_SECRET_KEY_SECRET_ARN"),
    (
        "SUPABASE_SERVICE_ROLE_KEY",
        "SUPABASE_SERVICE_ROLE_KEY_SECRET_ARN",
    ),
    ("SUPABASE_JWT_SECRET", "SUPABASE_JWT_SECRET_ARN"),
];

/// How long a cold start waits for Secrets Manager.
const SECRETS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Largest secret accepted (Secrets Manager's own limit is 64 KiB).
const MAX_SECRET_BYTES: usize = 64 * 1024;

#[derive(Deserialize)]
struct SecretValue {
    #[serde(rename = "SecretString")]
    secret_string: Option<String>,
}

/// Fetches every secret whose ARN variable is set, all at once; the values by the
/// variable they stand for. A missing, unreadable or empty secret fails the cold start
/// with a message naming the ARN variable (never the value).
pub async fn resolve(
    get: impl Fn(&str) -> Option<String>,
    http: &reqwest::Client,
) -> Result<HashMap<&'static str, String>, ConfigError> {
    let get = &get;
    let fetches =
        SECRET_VARS.iter().filter_map(|&(var, arn_var)| {
            let arn = get(arn_var).filter(|a| !a.trim().is_empty())?;
            Some(async move {
                Ok::<_, ConfigError>((var, fetch(get, http, arn_var, arn.trim()).await?))
            })
        });
    futures_util::future::join_all(fetches)
        .await
        .into_iter()
        .collect()
}

fn arn_region(arn: &str) -> Option<&str> {
    // arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    match parts.as_slice() {
        ["arn", _, "secretsmanager", region, _, "secret", name]
            if !region.is_empty() && !name.is_empty() =>
        {
            Some(region)
        }
        _ => None,
    }
}

async fn fetch(
    get: &impl Fn(&str) -> Option<String>,
    http: &reqwest::Client,
    arn_var: &'static str,
    arn: &str,
) -> Result<String, ConfigError> {
    use aws_sigv4::http_request::{SignableBody, SigningSettings};

    let fail = |problem: &str| ConfigError::new(arn_var, problem.to_owned());
    let region = arn_region(arn).ok_or_else(|| fail("is not a Secrets Manager secret ARN"))?;
    // SECRETS_MANAGER_ENDPOINT: a local Secrets Manager (tests); AWS otherwise.
    let url = get("SECRETS_MANAGER_ENDPOINT")
        .map(|e| e.trim_end_matches('/').to_owned() + "/")
        .unwrap_or_else(|| format!("https://secretsmanager.{region}.amazonaws.com/"));
    let body = serde_json::json!({ "SecretId": arn }).to_string();
    let signed = crate::clients::sigv4::signed_headers(
        &crate::clients::sigv4::credentials_from(get),
        region,
        "secretsmanager",
        SigningSettings::default(),
        crate::clients::sigv4::Unsigned {
            method: "POST",
            url: &url,
            headers: &[
                ("content-type", "application/x-amz-json-1.1"),
                ("x-amz-target", "secretsmanager.GetSecretValue"),
            ],
            body: SignableBody::Bytes(body.as_bytes()),
        },
    )
    .ok_or_else(|| fail("could not be signed for"))?;
    let mut request = http.post(&url);
    for (k, v) in signed {
        request = request.header(k, v);
    }
    // Its own time limit, whatever UPSTREAM_TIMEOUT_MS says: a cold start waits no longer.
    let request = request.body(body).timeout(SECRETS_TIMEOUT);
    let response = request
        .send()
        .await
        .map_err(|_| fail("names a secret Secrets Manager could not be reached for"))?;
    if !response.status().is_success() {
        return Err(fail(&format!(
            "names a secret that could not be read (Secrets Manager answered {})",
            response.status().as_u16()
        )));
    }
    let bytes = response
        .bytes()
        .await
        .map_err(|_| fail("names a secret whose value could not be read"))?;
    if bytes.len() > MAX_SECRET_BYTES {
        return Err(fail("names a secret that is too large"));
    }
    let value: SecretValue =
        serde_json::from_slice(&bytes).map_err(|_| fail("names a secret with no SecretString"))?;
    value
        .secret_string
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| fail("names a secret with an empty SecretString"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_region_from_the_arn() {
        assert_eq!(
            arn_region("arn:aws:secretsmanager:eu-west-1:123456789012:secret:supa/key-AbCdEf"),
            Some("eu-west-1")
        );
        assert_eq!(
            arn_region("arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:a:b"),
            Some("cn-north-1")
        );
        assert_eq!(
            arn_region("arn:aws:s3:eu-west-1:123456789012:secret:x"),
            None
        );
        assert_eq!(arn_region("supa/key"), None);
    }
}
