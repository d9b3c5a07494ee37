//! `auth::serve`, what the binary runs: the router on a real socket (the peer address
//! comes from the connection), the start-up check of the database, and a clean stop.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use devstack::auth::{serve, Api, Config};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use uuid::Uuid;

use crate::support::{tests, World, ANON_KEY, PASSWORD};

tests![
    the_server_answers_over_http_and_stops_when_told,
    the_start_up_check_wants_the_auth_tables,
];

fn config(world: &World, database_url: Option<String>) -> Config {
    let mut vars = world.vars();
    if let Some(url) = database_url {
        vars.insert("DATABASE_URL".into(), url);
    }
    Config::from_lookup(|name| vars.get(name).cloned()).unwrap()
}

/// One HTTP/1.1 request on a connection of its own: the status, the headers (lower-case
/// names) and the body.
async fn http(addr: SocketAddr, request: String) -> (u16, Vec<(String, String)>, String) {
    tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        let mut lines = head.lines();
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        (status, headers, body.to_string())
    })
    .await
    .unwrap()
}

async fn the_server_answers_over_http_and_stops_when_told(world: Arc<World>) {
    let app = world.app().await;
    let user = app.user("served").await;
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let api = Arc::new(Api::new(config(&world, None)));
    api.db.check_schema().await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, api, async {
        let _ = stopped.await;
    }));

    let body = json!({ "email": user.email, "password": PASSWORD }).to_string();
    let request = format!(
        "POST /auth/v1/token?grant_type=password HTTP/1.1\r\nHost: {addr}\r\n\
         apikey: {ANON_KEY}\r\nUser-Agent: raw/1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (status, headers, body) = http(addr, request).await;
    assert_eq!(status, 200, "{body}");
    assert!(headers.contains(&("content-type".into(), "application/json".into())));
    let tokens: Value = serde_json::from_str(&body).unwrap();
    let claims = app
        .verify_token(tokens["access_token"].as_str().unwrap())
        .await;
    let session: Uuid = claims["session_id"].as_str().unwrap().parse().unwrap();
    // The address of the connection (no X-Forwarded-For), as GoTrue records it.
    let row = app
        .db
        .query_one(
            "select host(ip), user_agent from auth.sessions where id = $1",
            &[&session],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "127.0.0.1");
    assert_eq!(row.get::<_, Option<String>>(1).as_deref(), Some("raw/1"));

    let request = format!("GET /rest/v1/x HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let (status, _, body) = http(addr, request).await;
    assert_eq!(status, 404);
    assert_eq!(body, r#"{"message":"no Route matched with those values"}"#);

    stop.send(()).unwrap();
    let stopped = tokio::time::timeout(Duration::from_secs(10), server).await;
    stopped.expect("the server stops").unwrap().unwrap();
}

async fn the_start_up_check_wants_the_auth_tables(world: Arc<World>) {
    let empty = world.empty_database();
    let api = Api::new(config(&world, Some(empty)));
    let e = api.db.check_schema().await.unwrap_err();
    assert_eq!(
        e,
        "the database lacks the auth tables: apply supabase/local/bootstrap.sql, \
         then supabase/local/auth-standin.sql"
    );
    let nowhere = "postgresql://postgres@127.0.0.1:1/none".to_string();
    let api = Api::new(config(&world, Some(nowhere)));
    let e = api.db.check_schema().await.unwrap_err();
    assert!(e.starts_with("DATABASE_URL: "), "{e}");
    let api = Api::new(config(&world, None));
    api.db.check_schema().await.unwrap();
}
