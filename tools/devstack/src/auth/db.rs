//! The database: a few reused connections (as the superuser of DATABASE_URL), and
//! GoTrue's own role for its writes.

use std::sync::Mutex;

use tokio_postgres::{Client, NoTls, Transaction};

use super::error::{pg_message, ApiError};

/// A few idle connections, reused; more are opened on demand.
pub struct Db {
    url: String,
    idle: Mutex<Vec<Client>>,
}

/// A connection taken from the pool; it goes back when dropped.
pub struct Conn<'a> {
    db: &'a Db,
    client: Option<Client>,
}

impl Db {
    pub fn new(url: &str) -> Db {
        Db {
            url: url.to_string(),
            idle: Mutex::new(Vec::new()),
        }
    }

    pub async fn get(&self) -> Result<Conn<'_>, ApiError> {
        let pooled = {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            idle.retain(|c| !c.is_closed());
            idle.pop()
        };
        let client = match pooled {
            Some(client) => client,
            None => connect(&self.url).await?,
        };
        Ok(Conn {
            db: self,
            client: Some(client),
        })
    }

    /// At start: the database answers and has the tables the stand-in writes.
    pub async fn check_schema(&self) -> Result<(), String> {
        let db_error = |e: tokio_postgres::Error| format!("DATABASE_URL: {}", pg_message(&e));
        let client = connect(&self.url).await.map_err(db_error)?;
        let sql = "select to_regclass('auth.users') is not null
                     and to_regclass('auth.refresh_tokens') is not null
                     and to_regclass('auth.identities') is not null
                     and to_regclass('auth.flow_state') is not null
                     and to_regclass('auth.one_time_tokens') is not null
                     and to_regclass('auth.mfa_amr_claims') is not null
                     and to_regclass('auth_standin.mailbox') is not null
                     and to_regprocedure('extensions.crypt(text, text)') is not null";
        let complete: bool = client.query_one(sql, &[]).await.map_err(db_error)?.get(0);
        if !complete {
            return Err(
                "the database lacks the auth tables: apply supabase/local/bootstrap.sql, \
                 then supabase/local/auth-standin.sql"
                    .into(),
            );
        }
        Ok(())
    }
}

async fn connect(url: &str) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("auth-standin: database connection: {e}");
        }
    });
    Ok(client)
}

impl Conn<'_> {
    pub async fn begin(&mut self) -> Result<Transaction<'_>, ApiError> {
        let client = self
            .client
            .as_mut()
            .expect("connection is present until drop");
        Ok(client.transaction().await?)
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        if let Some(client) = self.client.take().filter(|c| !c.is_closed()) {
            let mut idle = self.db.idle.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < 8 {
                idle.push(client);
            }
        }
    }
}

/// GoTrue connects as supabase_auth_admin: its writes (and the triggers they fire) and
/// the access token hook run with that role's rights. Until the transaction ends.
pub async fn as_auth_admin(tx: &Transaction<'_>) -> Result<(), ApiError> {
    Ok(tx
        .batch_execute("set local role supabase_auth_admin")
        .await?)
}
