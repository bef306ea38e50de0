//! Tessera's storage: one implementation of the core storage traits over sqlx's
//! `Any` driver, for embedded SQLite (the default) and PostgreSQL.
//!
//! The SQL is portable (no advisory locks, no LISTEN/NOTIFY, `$n` placeholders,
//! which SQLite accepts too), so the PostgreSQL side also suits Postgres-compatible
//! distributed SQL such as CockroachDB and YugabyteDB. Transactions are retried on
//! serialization failures (SQLSTATE 40001) and on SQLite's busy errors.

mod actions;
mod connection_clients;
mod credentials;
mod flow;
mod identity_links;
mod idp_tokens;
mod jobs;
mod keys;
mod logs;
mod meta;
mod otp;
mod rbac;
mod refresh;
mod retired;
mod revocations;
mod tenant;
mod tenant_settings;
#[cfg(feature = "testing")]
pub mod testing;
mod tickets;
mod users;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use futures_core::future::BoxFuture;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool, ConnectOptions, Executor};
use tessera_core::store::{Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Why the database could not be opened. Messages never contain a password.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("must start with sqlite:// or postgres:// (got {0:?})")]
    Scheme(String),
    #[error("is not a valid database URL: {0}")]
    BadUrl(String),
    #[error("cannot open {target}: {reason}")]
    Unreachable { target: String, reason: String },
    #[error("cannot write to {target}: {reason}")]
    Unwritable { target: String, reason: String },
    #[error("migrating {target} failed: {reason}")]
    Migration { target: String, reason: String },
}

/// The store. Cheap to clone (a pool handle).
#[derive(Clone, Debug)]
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
}

/// Removes the password from a database URL, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// The file of a `sqlite://PATH` URL (query stripped).
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

pub fn backend_of(url: &str) -> Result<Backend, OpenError> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else {
        Err(OpenError::Scheme(redact_url(url)))
    }
}

impl SqlStore {
    /// Opens (creating if need be) the database and runs the embedded migrations.
    pub async fn open(url: &str) -> Result<Self, OpenError> {
        sqlx::any::install_default_drivers();
        let backend = backend_of(url)?;
        let target = redact_url(url);
        let connect_url = match backend {
            Backend::Sqlite => {
                let path = sqlite_path(url)
                    .ok_or_else(|| OpenError::BadUrl(format!("{target} names no file")))?;
                check_sqlite_dir(&path, &target)?;
                create_private_file(&path).map_err(|e| OpenError::Unwritable {
                    target: target.clone(),
                    reason: e.to_string(),
                })?;
                // rwc: create the file on first start.
                format!("sqlite://{}?mode=rwc", path.display())
            }
            Backend::Postgres => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&connect_url)
            .map_err(|e| OpenError::BadUrl(e.to_string()))?
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(1));
        // One direct connection first: a pool would report an unreachable server
        // only as "timed out", hiding the reason (refused, bad password, ...).
        let probe = <sqlx::AnyConnection as sqlx::Connection>::connect_with(&options)
            .await
            .map_err(|e| classify_open_error(backend, &target, e))?;
        let _ = sqlx::Connection::close(probe).await;
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(5))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL + synchronous=FULL: a committed write survives a power cut.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA busy_timeout = 5000").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| classify_open_error(backend, &target, e))?;
        let store = Self { pool, backend };
        store.migrate(&target).await?;
        Ok(store)
    }

    async fn migrate(&self, target: &str) -> Result<(), OpenError> {
        let mut migrator = match self.backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
        };
        // sqlx locks with pg_advisory_lock, which distributed SQL lacks. The DDL is
        // idempotent (IF NOT EXISTS), so nodes racing on a first start retry instead.
        migrator.set_locking(false);
        let mut last = String::new();
        for attempt in 0..5u64 {
            match migrator.run(&self.pool).await {
                Ok(()) => return Ok(()),
                Err(e) => {
                    last = e.to_string();
                    if is_readonly(&last) {
                        return Err(OpenError::Unwritable {
                            target: target.to_owned(),
                            reason: last,
                        });
                    }
                    tokio::time::sleep(Duration::from_millis(100 * (attempt + 1))).await;
                }
            }
        }
        Err(OpenError::Migration {
            target: target.to_owned(),
            reason: last,
        })
    }

    pub fn kind(&self) -> Backend {
        self.backend
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn conn(&self) -> Result<PoolConnection<Any>, StoreError> {
        self.pool.acquire().await.map_err(map_err)
    }
}

fn check_sqlite_dir(path: &Path, target: &str) -> Result<(), OpenError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    match std::fs::metadata(&dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(OpenError::Unwritable {
            target: target.to_owned(),
            reason: format!("{} is not a directory", dir.display()),
        }),
        Err(e) => Err(OpenError::Unwritable {
            target: target.to_owned(),
            reason: format!("{}: {e}", dir.display()),
        }),
    }
}

/// Creates the database file readable by its owner only (SQLite gives the WAL and
/// shared-memory files the same mode). An existing file is left as it is.
fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

fn is_readonly(msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    m.contains("readonly") || m.contains("read-only") || m.contains("read only")
}

fn classify_open_error(backend: Backend, target: &str, e: sqlx::Error) -> OpenError {
    let reason = e.to_string();
    if backend == Backend::Sqlite && (is_readonly(&reason) || reason.contains("unable to open")) {
        OpenError::Unwritable {
            target: target.to_owned(),
            reason,
        }
    } else {
        OpenError::Unreachable {
            target: target.to_owned(),
            reason,
        }
    }
}

/// SQLSTATE 40001 (serialization failure: CockroachDB and SERIALIZABLE PostgreSQL)
/// and 40P01 (deadlock), SQLite's BUSY and LOCKED: the transaction may be retried.
fn is_retryable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            matches!(
                db.code().as_deref(),
                Some("40001" | "40P01" | "5" | "6" | "517" | "261" | "262")
            )
        }
        _ => false,
    }
}

pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(db.message().to_owned())
        }
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            StoreError::Conflict(db.message().to_owned())
        }
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_) => StoreError::Unavailable(e.to_string()),
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_) => StoreError::Corrupt(e.to_string()),
        _ => StoreError::Backend(e.to_string()),
    }
}

/// Runs `body` in a transaction, retrying serialization failures with backoff.
pub(crate) async fn in_tx<T, F>(pool: &AnyPool, mut body: F) -> Result<T, StoreError>
where
    F: for<'c> FnMut(&'c mut sqlx::AnyConnection) -> BoxFuture<'c, Result<T, sqlx::Error>>,
{
    let mut attempt = 0u32;
    loop {
        let result = async {
            let mut tx = pool.begin().await?;
            let value = body(&mut tx).await?;
            tx.commit().await?;
            Ok::<T, sqlx::Error>(value)
        }
        .await;
        match result {
            Err(e) if is_retryable(&e) && attempt < 8 => {
                attempt += 1;
                let jitter = u64::from(std::process::id() % 7);
                tokio::time::sleep(Duration::from_millis(5 * (1 << attempt.min(6)) + jitter)).await;
            }
            other => return other.map_err(map_err),
        }
    }
}

pub(crate) fn json_text<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        sqlx::query("SELECT 1")
            .execute(&mut *conn)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl SqlStore {
    /// `sqlite` or `postgres`, for logs.
    pub fn kind_name(&self) -> &'static str {
        Store::backend(self)
    }
}
