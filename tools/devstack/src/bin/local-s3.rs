//! Local S3 server for development and tests: s3s-fs (a real S3 protocol
//! implementation on the file system) with SigV4 authentication switched on, so
//! presigned URLs, signed headers and expiry are checked as AWS would.
//!
//! Usage: local-s3 --port <port> --root <dir> (keys from LOCAL_S3_ACCESS_KEY and
//! LOCAL_S3_SECRET_KEY). Prints `listening on http://127.0.0.1:<port>` once ready.
//! Written by hand (about 100 lines) because the s3s-fs binary needs a 6-minute
//! `cargo install`; as a workspace member it shares the build with everything else.
//!
//! The bucket's CORS rule (template.yaml's `UploadsBucket` CorsConfiguration), which
//! s3s does not implement: for an Origin listed in LOCAL_S3_CORS_ORIGINS (comma
//! separated), preflights of PUT and GET are answered and responses carry
//! `Access-Control-Allow-Origin`, so a browser can PUT a presigned upload straight to
//! S3 and read the download. Other origins get no CORS headers, as from S3.

use std::path::PathBuf;

use http::{HeaderValue, Method, StatusCode};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::{S3Service, S3ServiceBuilder};
use s3s::{Body, HttpError, HttpResponse};
use tokio::net::TcpListener;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// The bucket's CORS rule around the S3 service.
async fn with_cors(
    service: S3Service,
    origins: std::sync::Arc<Vec<String>>,
    req: http::Request<hyper::body::Incoming>,
) -> Result<HttpResponse, HttpError> {
    let origin = req
        .headers()
        .get(http::header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .filter(|o| origins.iter().any(|allowed| allowed == o))
        .and_then(|o| HeaderValue::from_str(o).ok());
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = match (&origin, preflight) {
        (Some(_), true) => {
            let mut response = HttpResponse::new(Body::empty());
            let headers = response.headers_mut();
            // template.yaml: AllowedMethods [PUT, GET], AllowedHeaders [content-type,
            // content-length] (what the presigned PUT signs).
            headers.insert(
                http::header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("PUT, GET"),
            );
            headers.insert(
                http::header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("content-type, content-length"),
            );
            headers.insert(
                http::header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
            response
        }
        (None, true) => {
            let mut response = HttpResponse::new(Body::empty());
            *response.status_mut() = StatusCode::FORBIDDEN;
            response
        }
        _ => hyper::service::Service::call(&service, req).await?,
    };
    if let Some(origin) = origin {
        let headers = response.headers_mut();
        headers.insert(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            http::header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("ETag"),
        );
        headers.append(http::header::VARY, HeaderValue::from_static("Origin"));
    }
    Ok(response)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = arg(&args, "--port").unwrap_or_else(|| "0".into()).parse()?;
    let root = PathBuf::from(arg(&args, "--root").ok_or("--root <dir> is required")?);
    let access_key =
        std::env::var("LOCAL_S3_ACCESS_KEY").map_err(|_| "LOCAL_S3_ACCESS_KEY is not set")?;
    let secret_key =
        std::env::var("LOCAL_S3_SECRET_KEY").map_err(|_| "LOCAL_S3_SECRET_KEY is not set")?;
    std::fs::create_dir_all(&root)?;

    let fs = s3s_fs::FileSystem::new(&root)
        .map_err(|e| format!("cannot use {}: {e:?}", root.display()))?;
    let mut builder = S3ServiceBuilder::new(fs);
    builder.set_auth(SimpleAuth::from_single(access_key, secret_key));
    let service = builder.build();
    let origins: std::sync::Arc<Vec<String>> = std::sync::Arc::new(
        std::env::var("LOCAL_S3_CORS_ORIGINS")
            .unwrap_or_default()
            .split(',')
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect(),
    );

    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on http://{}", listener.local_addr()?);

    let http = ConnBuilder::new(TokioExecutor::new());
    let mut shutdown = std::pin::pin!(tokio::signal::ctrl_c());
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    loop {
        let (socket, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(_) => continue,
            },
            _ = shutdown.as_mut() => break,
            _ = terminate.recv() => break,
        };
        let (service, origins) = (service.clone(), origins.clone());
        let cors = service_fn(move |req| with_cors(service.clone(), origins.clone(), req));
        let conn = http
            .serve_connection(TokioIo::new(socket), cors)
            .into_owned();
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
    Ok(())
}
