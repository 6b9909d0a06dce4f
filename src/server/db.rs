//! The database: one `AnyPool` for the shop's own queries (the same SQL runs on SQLite and
//! PostgreSQL), and a concrete pool of the same database for the session store.
//!
//! A rule for every write that returns rows (`RETURNING`): read it with `fetch_all`, never
//! `fetch_one` or `fetch_optional`. Those stop SQLite's statement at its first row; the write
//! still commits, but SQLite runs what follows a commit (its automatic checkpoint, which copies
//! the write-ahead log into the database and lets the log start over) only when a statement
//! runs to its end. An add to the cart was such a write: under a stream of adds the log was
//! never checkpointed, grew past 400 MB in 20 seconds, and every read searched all of it
//! (`make bench`, README "Performance"; tests/api_cart.rs).

use crate::{cart::service::AddQueue, catalog::service::CategoryCache};
use sqlx::{
    any::AnyPoolOptions,
    pool::PoolConnection,
    postgres::PgPoolOptions,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    Any, AnyConnection, AnyPool, Executor, PgPool, SqlitePool,
};
use std::{str::FromStr, sync::Arc, time::Duration};
use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub struct Db {
    /// Where reads (and the odd write outside the cart and orders) run: `Db::read`.
    readers: Conns,
    pub backend: Backend,
    /// Where the cart's and the orders' writes run (`write_conn`, `begin_write`).
    writer: Conns,
    /// The catalogue's categories and their counts, shared by every request (`catalog::service`).
    pub categories: Arc<CategoryCache>,
    /// Adds to carts waiting for the writer's turn (`cart::service`).
    pub adds: Arc<AddQueue>,
}

/// A connection for one query or a few (`Db::read`, `Db::write_conn`), used as a connection
/// (`&mut *conn`); a held connection is given back when this is dropped.
pub enum Conn {
    Held(OwnedMutexGuard<AnyConnection>, OwnedSemaphorePermit),
    Pooled(PoolConnection<Any>),
}

impl std::ops::Deref for Conn {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match self {
            Conn::Held(conn, _) => conn,
            Conn::Pooled(conn) => conn,
        }
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            Conn::Held(conn, _) => conn,
            Conn::Pooled(conn) => conn,
        }
    }
}

/// Where a kind of query runs: the readers' connections or the writer's.
///
/// On SQLite, connections opened at start and held for good, not a sqlx pool: a pool pings a
/// connection each time it goes back, a round trip to the connection's thread after every
/// query, and with one writer that ping was part of every write's turn. A query takes a permit
/// (first come first served), then a free connection: with a permit, one is always free. The
/// writer is one connection: SQLite has one writer at a time, so writers wait their turn in the
/// shop instead of in SQLite's busy handler (which sleeps and retries, up to 100 ms a sleep,
/// and made the slowest writes wait hundreds of milliseconds under load), and a writer's turn
/// is its own statements alone. On PostgreSQL, the shared pool: it takes writes side by side.
#[derive(Clone)]
enum Conns {
    Held { conns: Arc<[Arc<tokio::sync::Mutex<AnyConnection>>]>, free: Arc<Semaphore> },
    Pool(AnyPool),
}

/// SQLite's reading connections.
const READERS: u32 = 8;

impl std::fmt::Debug for Conns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Conns::Held { conns, .. } => write!(f, "Conns::Held({})", conns.len()),
            Conns::Pool(_) => f.write_str("Conns::Pool"),
        }
    }
}

impl Conns {
    /// `size` SQLite connections, opened by a pool with the shop's settings and taken out of it.
    async fn held(url: &str, size: u32) -> Result<Conns, sqlx::Error> {
        let pool = sqlite_pool(size).connect(url).await?;
        let mut conns = Vec::new();
        for _ in 0..size {
            conns.push(Arc::new(tokio::sync::Mutex::new(pool.acquire().await?.detach())));
        }
        Ok(Conns::Held { conns: conns.into(), free: Arc::new(Semaphore::new(size as usize)) })
    }

    /// A connection, waiting at most as long as a pool would (then 503, as from a pool).
    async fn get(&self) -> Result<Conn, sqlx::Error> {
        match self {
            Conns::Held { conns, free } => {
                let permit = tokio::time::timeout(ACQUIRE_TIMEOUT, free.clone().acquire_owned())
                    .await
                    .map_err(|_| sqlx::Error::PoolTimedOut)?
                    .map_err(|_| sqlx::Error::PoolClosed)?;
                // Every other holder of a connection holds a permit, so one connection is free.
                let conn = conns
                    .iter()
                    .find_map(|conn| conn.clone().try_lock_owned().ok())
                    .ok_or(sqlx::Error::PoolTimedOut)?;
                Ok(Conn::Held(conn, permit))
            }
            Conns::Pool(pool) => Ok(Conn::Pooled(pool.acquire().await?)),
        }
    }
}

/// A transaction that will write (`Db::begin_write`), used as the connection it runs on
/// (`&mut *tx`). Dropped without `commit`, it is rolled back.
pub enum WriteTx {
    Held(HeldTx),
    Pooled(sqlx::Transaction<'static, Any>),
}

/// A transaction on SQLite's held writer connection: the writer's turn until it ends. Dropped
/// while open (an error, a refusal, a request that went away), it is rolled back by a task of
/// its own, which keeps the turn until the rollback is done, so the next writer always finds
/// the connection outside any transaction.
pub struct HeldTx {
    conn: Option<Conn>,
}

impl HeldTx {
    fn conn(&mut self) -> &mut AnyConnection {
        self.conn.as_mut().expect("an open transaction has its connection")
    }

    /// Runs `COMMIT`. The turn is given up only once it has run; if it fails, or this is
    /// dropped before it has, `Drop` rolls back (a rollback with nothing to roll back is a
    /// harmless error).
    async fn commit(mut self) -> Result<(), sqlx::Error> {
        self.conn().execute("COMMIT").await?;
        self.conn = None;
        Ok(())
    }
}

impl Drop for HeldTx {
    fn drop(&mut self) {
        let (Some(mut conn), Ok(runtime)) = (self.conn.take(), tokio::runtime::Handle::try_current()) else {
            return;
        };
        runtime.spawn(async move {
            if let Err(error) = conn.execute("ROLLBACK").await {
                tracing::debug!(%error, "rolling back a dropped write");
            }
        });
    }
}

impl WriteTx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            WriteTx::Held(tx) => tx.commit().await,
            WriteTx::Pooled(tx) => tx.commit().await,
        }
    }
}

impl std::ops::Deref for WriteTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match self {
            WriteTx::Held(tx) => tx.conn.as_ref().expect("an open transaction has its connection"),
            WriteTx::Pooled(tx) => tx,
        }
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            WriteTx::Held(tx) => tx.conn(),
            WriteTx::Pooled(tx) => tx,
        }
    }
}

/// The same database as a concrete pool, for tower-sessions' sqlx store.
#[derive(Clone, Debug)]
pub enum SessionPool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("could not open the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long `/healthz` waits for the database. Shorter than a connection's wait: while the
/// database refuses connections the pool keeps retrying until `ACQUIRE_TIMEOUT`, and a load
/// balancer's health check gives up after a few seconds (and must hear a 503, not nothing).
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Set on each of the shop's SQLite connections. In WAL mode, `synchronous = NORMAL` syncs the
/// log to disk at checkpoints rather than at every commit: a commit is safe from a crash of the
/// shop (the operating system has it), and the file is never corrupted, but a power cut or a
/// crash of the machine can undo the last commits before a checkpoint. SQLite recommends it for
/// WAL; it makes a write about a disk flush cheaper (`make bench`, README "Performance").
const SQLITE_CONNECTION_PRAGMAS: &str =
    "PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;";
/// `journal_size_limit`, set on each SQLite connection too. SQLite reuses its write-ahead log's
/// file rather than shrink it, so a log that grew (while a long read kept a checkpoint from
/// starting it over, or before the rule above was kept) kept its size for good. With a limit,
/// the first commit after the log is started over cuts the file back to it. The limit is four
/// times the log's usual size (a checkpoint every 1000 pages of 4 KiB), so in the usual run of
/// things it never cuts at all.
pub const WAL_SIZE_LIMIT_BYTES: u64 = 16 * 1024 * 1024;

pub async fn connect(url: &str) -> Result<(Db, SessionPool), DbError> {
    sqlx::any::install_default_drivers();
    if url.starts_with("sqlite:") {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(DbError::Connect)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("journal_size_limit", WAL_SIZE_LIMIT_BYTES.to_string());
        let sessions = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(DbError::Connect)?;
        // The file now exists and is in WAL mode (a property of the file).
        Ok((
            Db {
                readers: Conns::held(url, READERS).await.map_err(DbError::Connect)?,
                backend: Backend::Sqlite,
                writer: Conns::held(url, 1).await.map_err(DbError::Connect)?,
                categories: Default::default(),
                adds: Default::default(),
            },
            SessionPool::Sqlite(sessions),
        ))
    } else {
        let sessions = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await
            .map_err(DbError::Connect)?;
        let pool = AnyPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await
            .map_err(DbError::Connect)?;
        Ok((
            Db {
                writer: Conns::Pool(pool.clone()),
                readers: Conns::Pool(pool),
                backend: Backend::Postgres,
                categories: Default::default(),
                adds: Default::default(),
            },
            SessionPool::Postgres(sessions),
        ))
    }
}

/// Opens the shop's own SQLite connections, `size` of them, with the connection settings
/// above; `Conns::held` takes them out of the pool and holds them, since a
/// pool pings a connection each time it goes back. A local file does not go away under a
/// connection, so neither is one pinged before it is handed out.
fn sqlite_pool(size: u32) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(size)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .test_before_acquire(false)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                conn.execute(SQLITE_CONNECTION_PRAGMAS).await?;
                conn.execute(format!("PRAGMA journal_size_limit = {WAL_SIZE_LIMIT_BYTES}").as_str()).await?;
                Ok(())
            })
        })
}

/// Runs the numbered migrations under `migrations/<backend>/`, embedded at build time.
pub async fn migrate(sessions: &SessionPool) -> Result<(), DbError> {
    match sessions {
        SessionPool::Sqlite(pool) => sqlx::migrate!("migrations/sqlite").run(pool).await,
        SessionPool::Postgres(pool) => sqlx::migrate!("migrations/postgres").run(pool).await,
    }
    .map_err(DbError::Migrate)
}

impl Db {
    /// A transaction that will write. SQLite takes the write lock at the start (BEGIN
    /// IMMEDIATE), so two such transactions queue instead of failing when both try to write.
    ///
    /// The BEGIN runs in a task of its own: when a request is dropped (its client went away,
    /// or the deadline passed) while its BEGIN is under way, the task still finishes, and the
    /// transaction it made is rolled back as it is dropped. Awaited in the request, a BEGIN
    /// dropped after the database had done it but before sqlx had made the `Transaction`
    /// left the connection in a transaction no one would end: on SQLite holding the write
    /// lock, so that every later write failed (tests/cancelled_requests.rs).
    pub async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        let writer = self.writer.clone();
        let begin = tokio::spawn(async move {
            match &writer {
                Conns::Held { .. } => {
                    let mut tx = HeldTx { conn: Some(writer.get().await?) };
                    tx.conn().execute("BEGIN IMMEDIATE").await?;
                    Ok(WriteTx::Held(tx))
                }
                Conns::Pool(pool) => Ok(WriteTx::Pooled(pool.begin().await?)),
            }
        });
        begin.await.map_err(|_| sqlx::Error::WorkerCrashed)?
    }

    /// The connection for a write that is a single statement: atomic on its own, it needs no
    /// transaction, only the writer's connection (on SQLite, its turn).
    pub async fn write_conn(&self) -> Result<Conn, sqlx::Error> {
        self.writer.get().await
    }

    /// A connection for reading (and for the few writes outside the cart and orders, which
    /// wait for SQLite's write lock in its busy handler).
    pub async fn read(&self) -> Result<Conn, sqlx::Error> {
        self.readers.get().await
    }

    /// True while the database answers, within `PING_TIMEOUT`.
    pub async fn ping(&self) -> bool {
        let query = async { sqlx::query("SELECT 1").execute(&mut *self.read().await?).await };
        matches!(tokio::time::timeout(PING_TIMEOUT, query).await, Ok(Ok(_)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_size(path: &std::path::Path) -> u64 {
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    }

    async fn write(db: &Db, sql: &str) {
        let mut conn = db.write_conn().await.unwrap();
        sqlx::query(sql).execute(&mut *conn).await.unwrap();
    }

    /// The SQLite the shop is built with keeps no memory statistics and gives each connection
    /// a page cache of its own: both were a process-wide lock (.cargo/config.toml).
    #[tokio::test]
    async fn sqlite_is_built_without_process_wide_locks() {
        let dir = tempfile::tempdir().unwrap();
        let (db, _sessions) =
            connect(&format!("sqlite://{}", dir.path().join("shop.db").display())).await.unwrap();
        let db = &db;
        let used = |option: &'static str| async move {
            sqlx::query_scalar::<_, i64>("SELECT sqlite_compileoption_used($1)")
                .bind(option)
                .fetch_one(&mut *db.read().await.unwrap())
                .await
        };
        assert_eq!(used("DEFAULT_MEMSTATUS=0").await.unwrap(), 1);
        assert_eq!(used("ENABLE_MEMORY_MANAGEMENT").await.unwrap(), 0);
    }

    /// The log grows while a long read keeps its old snapshot (no checkpoint can start the log
    /// over), and is cut back to the limit once the reader lets go, on the next writes.
    #[tokio::test]
    async fn the_write_ahead_log_is_cut_back_once_no_reader_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("shop.db");
        let wal = dir.path().join("shop.db-wal");
        let (db, _sessions) = connect(&format!("sqlite://{}", file.display())).await.unwrap();
        write(&db, "CREATE TABLE filler (data BLOB)").await;

        let mut conn = db.read().await.unwrap();
        let mut reader = sqlx::Connection::begin(&mut *conn).await.unwrap();
        let _: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM filler").fetch_one(&mut *reader).await.unwrap();
        for _ in 0..24 {
            write(&db, "INSERT INTO filler (data) VALUES (randomblob(1048576))").await;
        }
        let grown = file_size(&wal);
        assert!(grown > WAL_SIZE_LIMIT_BYTES + (4 << 20), "the log grew to {grown} bytes only");

        reader.rollback().await.unwrap();
        for _ in 0..3 {
            write(&db, "DELETE FROM filler WHERE rowid = (SELECT MIN(rowid) FROM filler)").await;
        }
        let after = file_size(&wal);
        assert!(after <= WAL_SIZE_LIMIT_BYTES, "the log is still {after} bytes (it had grown to {grown})");
    }
}
