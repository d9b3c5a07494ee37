//! auth-standin: a STAND-IN for Supabase Auth (GoTrue) for local development and tests;
//! the service itself, its endpoints and what it simplifies are described in
//! tools/devstack/src/auth/mod.rs.
//!
//! Usage: auth-standin --port <port> (0 = any free port). Prints
//! `listening on http://127.0.0.1:<port>` once ready; stops on SIGTERM/SIGINT.
//! Env: DATABASE_URL, SUPABASE_ANON_KEY, SUPABASE_SERVICE_ROLE_KEY, AUTH_ISSUER,
//! AUTH_SIGNING_KEY, AUTH_SIGNING_KID and optional AUTH_* settings (described in
//! tools/devstack/src/auth/config.rs). The database needs supabase/local/bootstrap.sql
//! and supabase/local/auth-standin.sql.

use std::sync::Arc;

use devstack::auth::{self, Api, Config};
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};

async fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = match args.iter().position(|a| a == "--port") {
        None => 0,
        Some(i) => args
            .get(i + 1)
            .and_then(|p| p.parse().ok())
            .ok_or("--port wants a port number (0 = any free port)")?,
    };
    let api = Arc::new(Api::new(Config::from_env()?));
    api.db.check_schema().await?;

    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("--port {port}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let mut terminate = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let stop = async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    };
    println!("listening on http://{addr}");
    std::io::Write::flush(&mut std::io::stdout()).map_err(|e| e.to_string())?;
    auth::serve(listener, api, stop)
        .await
        .map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("auth-standin: {e}");
        std::process::exit(1);
    }
}
