//! Local S3 server for development and tests: s3s-fs (a real S3 protocol
//! implementation on the file system) with SigV4 authentication switched on, so
//! presigned URLs, signed headers and expiry are checked as AWS would.
//!
//! Usage: local-s3 --port <port> --root <dir> (keys from LOCAL_S3_ACCESS_KEY and
//! LOCAL_S3_SECRET_KEY). Prints `listening on http://127.0.0.1:<port>` once ready.
//! Written by hand (about 60 lines) because the s3s-fs binary needs a 6-minute
//! `cargo install`; as a workspace member it shares the build with everything else.

use std::path::PathBuf;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::net::TcpListener;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
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
        let conn = http
            .serve_connection(TokioIo::new(socket), service.clone())
            .into_owned();
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
    Ok(())
}
