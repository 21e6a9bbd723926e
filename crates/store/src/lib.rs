//! The database: one code path for SQLite (embedded, the default) and PostgreSQL.
//!
//! One SQL text with `$n` parameters (anonymous `?` in SQLite's bulk inserts, see `bulk`) in a
//! portable subset serves both engines: PostgreSQL runs it through sqlx's `Any` driver; a SQLite
//! file runs bounded reads ([`local`]) and every write transaction ([`writer`]) in place on
//! rusqlite, and scans through sqlx. The few places where
//! the engines differ (full-text search, JSON paths, transaction start, row locks) are named in
//! [`Backend`]. Every public function takes the acting [`Actor`],
//! checks the permission matrix first and writes its audit row in the same transaction as the
//! change, so callers cannot forget either. Row structs stay private; callers get domain types.
//!
//! Record types (people, companies, and every later one) are kept by one engine,
//! [`records::engine`], from the description the domain gives of each (`RecordSpec`); what a
//! type does beyond the shared life cycle sits beside it as a few hooks (`customers.rs`,
//! `companies.rs`). docs/record-types.md says how to add one.

use rapport_domain::ValidationErrors;
use rapport_domain::permissions::Denied;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Executor, Transaction};
use std::str::FromStr;

mod audit;
mod backup;
mod bulk;
mod companies;
pub mod crypto;
mod custom_fields;
mod customers;
pub mod data;
mod jobs;
mod local;
mod marketing;
mod merge;
mod notifications;
mod purchases;
mod quality;
mod records;
mod roles;
mod row;
mod sales;
mod sealed;
mod secrets;
mod service;
mod sql;
mod teams;
#[cfg(test)]
mod test_db;
mod timeline;
mod users;
mod webhooks;
mod writer;

pub use backup::{BackupError, BackupSummary, RestoreSummary};
pub use jobs::Lease;
pub use marketing::members::AddMembers;
pub use marketing::{ConfirmationView, Preferences, Tracked, UnsubscribeView};
pub use merge::{company_merge_fields, merge_fields};
pub use purchases::{PurchaseHistory, Score};
pub use records::list::SEARCH_CANDIDATES;
pub use sales::WebLeadOutcome;
pub use sales::opportunities::StageTotal;
pub use sales::pipelines::PipelineSet;
pub use sales::win_data::{DealDataset, DealRow};
pub use sealed::ResealSummary;
pub use service::housekeeping::{HOUSEKEEPING_JOB, Housekeeping};
pub use service::mail::{ImapCursor, QueuedMail};
pub use service::sla::{SLA_JOB, SlaRun};
pub use service::surveys::ImportedSurvey;
pub use users::{LoginRefused, Scopes, Session};
pub use webhooks::outbox::{AttemptOutcome, DueDelivery};
// What store calls return are domain types; the common ones are re-exported so that callers
// holding a `Store` need not know which domain module each lives in.
pub use rapport_domain::accounts::{NewUser, RoleInfo, Team, TokenInfo, User};
pub use rapport_domain::analytics::AnalyticsRun;
pub use rapport_domain::audit::AuditEntry;
pub use rapport_domain::query::Page;

/// What went wrong in a store call, in terms a caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The record does not exist, was deleted, or is not visible to the actor.
    #[error("not found")]
    NotFound,
    /// The actor's role does not allow the call.
    #[error(transparent)]
    Denied(#[from] Denied),
    /// The input refers to things that do not exist (unknown company, owner…).
    #[error("{0}")]
    Invalid(#[from] ValidationErrors),
    /// The actor may do this kind of change, but not with this value of `field` (e.g. give a
    /// record to someone outside their teams).
    #[error("{message}")]
    Forbidden {
        /// The field whose value is refused.
        field: String,
        /// Why, and what is allowed instead.
        message: String,
    },
    /// A unique value is already taken.
    #[error("{message}")]
    Conflict {
        /// The field holding the duplicate.
        field: String,
        /// What is duplicated.
        message: String,
    },
    /// The record's state does not allow the change now (a won deal moved without reopening, a
    /// lead converted twice); the refusal names the field and the actions allowed instead.
    #[error("{0}")]
    Refused(#[from] rapport_domain::sales::Refused),
    /// A sealed value could not be opened (missing or wrong key); the message says which.
    #[error("encryption: {0}")]
    Crypto(String),
    /// `If-Match` named an older version than the stored one.
    #[error("the record was changed by someone else: it is now at version {current}")]
    VersionMismatch {
        /// The stored version.
        current: i64,
    },
    /// The record was merged into another (`into`, the survivor): its id answers with it.
    #[error("this record was merged into {plural} {into}")]
    Merged {
        /// The survivor.
        into: i64,
        /// Its record type, as the API's paths name it (`customers`, `companies`).
        plural: &'static str,
    },
    /// A bug or an unavailable database.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// The same, from a read on the calling thread (see [`local`]).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

impl From<rapport_domain::sales::Rejected> for Error {
    fn from(r: rapport_domain::sales::Rejected) -> Error {
        match r {
            rapport_domain::sales::Rejected::Invalid(e) => Error::Invalid(e),
            rapport_domain::sales::Rejected::Refused(r) => Error::Refused(r),
        }
    }
}

/// Result of a store call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The database engine behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

impl Backend {
    /// What ends a claim's row selection so that concurrent claimers skip each other's rows:
    /// `FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's writes run one at a time and need none.
    pub(crate) fn skip_locked(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// Picks the backend from a URL's scheme.
    pub fn from_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    /// What ends a `SELECT` inside a write transaction to lock the rows it read until the
    /// transaction ends: `FOR UPDATE` on PostgreSQL, where concurrent writers would otherwise
    /// each decide from the same snapshot; nothing on SQLite, whose write transactions already
    /// run one at a time (`BEGIN IMMEDIATE`) and which has no such clause.
    pub(crate) fn lock_rows(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }

    /// [`Backend::lock_rows`] for rows that others' foreign keys point at (users): `FOR NO KEY
    /// UPDATE` on PostgreSQL, which serializes writers that lock the row the same way but lets a
    /// ticket naming the user as its assignee be saved meanwhile (its key check takes `FOR KEY
    /// SHARE`, which `FOR UPDATE` would block, and a deadlock could follow).
    pub(crate) fn lock_rows_no_key(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR NO KEY UPDATE",
        }
    }
}

/// Shared handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    keys: Option<std::sync::Arc<crypto::SharedKeyring>>,
    sessions: std::sync::Arc<users::SessionCache>,
    /// Set on a SQLite file: where reads outside transactions run (see [`local`]).
    local: Option<std::sync::Arc<local::LocalReads>>,
    /// Set on SQLite: the one write connection, where write transactions are savepoints of
    /// batches committed together (see [`writer`]).
    writer: Option<std::sync::Arc<writer::Writer>>,
    /// The form-token key once read (see [`secrets`]).
    secret: secrets::SecretCell,
    /// Set on PostgreSQL: where scans open a connection of their own, for `COPY`, which the
    /// pool's `Any` connections cannot run (see `purchases::history`).
    pg: Option<std::sync::Arc<sqlx::postgres::PgConnectOptions>>,
    /// How many times the purchase history was read (see [`Store::history_reads`]).
    history_reads: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Where customers reach this server (`https://crm.example.com`), for the links in mail;
    /// set once at start (see [`Store::set_public_url`]).
    public_url: std::sync::Arc<std::sync::OnceLock<String>>,
    /// Seconds of the mail queue's first retry delay (doubling after), set once at start (see
    /// [`Store::set_mail_retry_secs`]); 60 when unset.
    mail_retry_secs: std::sync::Arc<std::sync::OnceLock<i64>>,
    /// Soft bounces that suppress an address (see `marketing::bounces`); 3 when unset.
    soft_bounces: std::sync::Arc<std::sync::OnceLock<i64>>,
}

/// A write transaction: its own on PostgreSQL; on a SQLite file a savepoint on the one write
/// connection, committed with the batch it joined (see [`writer`]), whose statements run in
/// place. Statements go through [`WriteTx::execute`] and the `fetch_*` methods, rows through the
/// shared [`row::Row`]; [`WriteTx::commit`] returns once the change is durable.
pub(crate) struct WriteTx {
    inner: Inner,
    backend: Backend,
    /// This transaction's change sequence, once asked for (see [`WriteTx::change_seq`]).
    seq: Option<i64>,
}

enum Inner {
    /// PostgreSQL, an in-memory SQLite database, or a bulk restore (see [`Store::bulk_tx`]).
    Pool(Transaction<'static, Any>),
    Batch(writer::Turn),
}

impl WriteTx {
    /// The change sequence every record row this transaction writes is stamped with, so that
    /// sync clients read changes in commit order. SQLite's write transactions run one after
    /// another on one connection and commit in that order, so a counter bumped once per
    /// transaction grows in commit order. On PostgreSQL it is the transaction's id, and sync
    /// readers stop short of the oldest transaction still writing in this database (see
    /// `records::list::sync_horizon`), so one that started first and commits last is served after
    /// it commits, never skipped. Either way the number is bound into the write itself: no second
    /// pass over the rows.
    pub async fn change_seq(&mut self) -> Result<i64> {
        if let Some(s) = self.seq {
            return Ok(s);
        }
        let q = match self.backend {
            Backend::Sqlite => "UPDATE change_clock SET seq = seq + 1 RETURNING seq",
            Backend::Postgres => "SELECT pg_current_xact_id()::text::bigint AS seq",
        };
        let seq: i64 = self.fetch_one(&sql::sql(q, []), |r| r.get("seq")).await?;
        self.seq = Some(seq);
        Ok(seq)
    }

    /// Runs a statement in this transaction; the number of rows it changed.
    pub async fn execute(&mut self, q: &sql::Sql) -> Result<u64> {
        match &mut self.inner {
            Inner::Pool(tx) => Ok(q.execute(&mut **tx).await?),
            Inner::Batch(turn) => local::execute(turn.conn(), q),
        }
    }

    /// The rows of a statement run in this transaction (a read, or a write's `RETURNING`), each
    /// turned into a `T` by `f`.
    pub async fn fetch_all<T>(&mut self, q: &sql::Sql, mut f: impl FnMut(&dyn row::Row) -> Result<T> + Send) -> Result<Vec<T>> {
        match &mut self.inner {
            Inner::Pool(tx) => q.fetch_all(&mut **tx).await?.iter().map(|r| f(r)).collect(),
            Inner::Batch(turn) => local::run(turn.conn(), q, &mut f),
        }
    }

    /// The first row of [`WriteTx::fetch_all`], if any.
    pub async fn fetch_optional<T>(&mut self, q: &sql::Sql, f: impl FnMut(&dyn row::Row) -> Result<T> + Send) -> Result<Option<T>> {
        Ok(self.fetch_all(q, f).await?.into_iter().next())
    }

    /// The first row of [`WriteTx::fetch_all`]; no row is an error.
    pub async fn fetch_one<T>(&mut self, q: &sql::Sql, f: impl FnMut(&dyn row::Row) -> Result<T> + Send) -> Result<T> {
        self.fetch_optional(q, f).await?.ok_or(Error::Db(sqlx::Error::RowNotFound))
    }

    /// The sqlx transaction of a [`Store::bulk_tx`], for statements that bind what [`sql::Sql`]
    /// does not (a restore's blobs and booleans).
    pub fn sqlx(&mut self) -> Result<&mut Transaction<'static, Any>> {
        match &mut self.inner {
            Inner::Pool(tx) => Ok(tx),
            Inner::Batch(_) => Err(Error::Db(sqlx::Error::Protocol("a batched write has no sqlx transaction".into()))),
        }
    }

    /// Commits; on SQLite returns once the batch holding this transaction is committed.
    pub async fn commit(self) -> Result<()> {
        match self.inner {
            Inner::Pool(tx) => Ok(tx.commit().await?),
            Inner::Batch(turn) => turn.commit().await,
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: never print it.
        f.debug_struct("Store").field("backend", &self.backend).finish()
    }
}

/// Turns a bare file path into a SQLite URL that creates the file if missing.
pub fn database_url(raw: &str) -> String {
    if Backend::from_url(raw).is_some() || raw.contains("://") { raw.to_string() } else { format!("sqlite://{raw}?mode=rwc") }
}

/// The file behind a SQLite URL; `None` for in-memory databases, which exist once per
/// connection and so cannot be read from a second one.
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let opts = sqlx::sqlite::SqliteConnectOptions::from_str(url).ok()?;
    let path = opts.get_filename();
    let name = path.to_string_lossy();
    if name.is_empty() || name.contains(":memory:") || name.starts_with("file:sqlx-in-memory") || url.contains("mode=memory") {
        None
    } else {
        Some(path.to_path_buf())
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl Store {
    /// Connects to `url` (`sqlite://path?mode=rwc`, a plain file path, or `postgres://…`).
    pub async fn connect(url: &str) -> Result<Store, String> {
        sqlx::any::install_default_drivers();
        let url = database_url(url);
        let backend = Backend::from_url(&url)
            .ok_or_else(|| format!("unsupported database URL '{url}': use a file path, sqlite://… or postgres://…"))?;
        let opts = AnyConnectOptions::from_str(&url).map_err(|e| format!("bad database URL: {e}"))?;
        let cores = std::thread::available_parallelism().map(|n| n.get() as u32).unwrap_or(2);
        // One pool for reads and writes: a separate single-connection writer pool halved create
        // throughput in the load benchmark (each transaction's round trips stopped overlapping).
        let pool = Self::pool(backend, opts.clone(), (cores * 4).max(8)).await?;
        let file = if backend == Backend::Sqlite { sqlite_file(&url) } else { None };
        let local = file.clone().map(|path| std::sync::Arc::new(local::LocalReads::new(path)));
        let pg = match backend {
            Backend::Postgres => {
                Some(std::sync::Arc::new(sqlx::postgres::PgConnectOptions::try_from(&opts).map_err(|e| format!("bad database URL: {e}"))?))
            }
            Backend::Sqlite => None,
        };
        // An in-memory database is reached through the pool alone: its transactions are the
        // pool's, like PostgreSQL's.
        let writer = file.clone().map(|path| std::sync::Arc::new(writer::Writer::new(path)));
        Ok(Store {
            pool,
            backend,
            keys: None,
            sessions: Default::default(),
            local,
            writer,
            secret: Default::default(),
            pg,
            history_reads: Default::default(),
            public_url: Default::default(),
            mail_retry_secs: Default::default(),
            soft_bounces: Default::default(),
        })
    }

    /// Sets where customers reach this server, so that mail can carry links (the survey link
    /// of a resolution notice). Once per process; a second call changes nothing.
    pub fn set_public_url(&self, url: &str) {
        let _ = self.public_url.set(url.trim_end_matches('/').to_string());
    }

    pub(crate) fn public_url(&self) -> Option<&str> {
        self.public_url.get().map(String::as_str)
    }

    /// Sets the first retry delay of a temporarily failed mail (it doubles after each
    /// attempt); once per process. Tests and quick providers use seconds instead of a minute.
    pub fn set_mail_retry_secs(&self, secs: i64) {
        let _ = self.mail_retry_secs.set(secs.max(1));
    }

    /// A pool of `size` connections.
    async fn pool(backend: Backend, opts: AnyConnectOptions, size: u32) -> Result<AnyPool, String> {
        AnyPoolOptions::new()
            .max_connections(size)
            .min_connections(1)
            // A broken connection fails its query anyway; pinging before every use doubled the
            // round trips of short reads.
            .test_before_acquire(false)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers proceed while one writer commits; the busy timeout
                        // makes a second process wait for the lock instead of failing; memory
                        // mapping and a 16 MiB page cache keep searches off the read syscalls.
                        // `synchronous = NORMAL` in WAL: a COMMIT has written its WAL frames to
                        // the file when it returns, so an acknowledged write survives the process
                        // being killed (crates/cli/tests/durability.rs); a power cut before the
                        // next checkpoint can lose the last commits. `FULL` closes that gap with an
                        // fsync per COMMIT: 3-14 ms on the benchmark machine, for which the write
                        // connection waits; even shared by a batch of writes, it held creates
                        // at 465 req/s in the load benchmark (issue 10).
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; \
                             PRAGMA mmap_size = 268435456; PRAGMA cache_size = -16384;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(opts)
            .await
            .map_err(|e| format!("cannot open database: {e}"))
    }

    /// Seals sensitive columns under `keys` from now on (see [`crypto`]).
    pub fn with_keys(mut self, keys: Option<crypto::SharedKeyring>) -> Store {
        self.keys = keys.map(std::sync::Arc::new);
        self
    }

    /// Applies pending migrations of this backend.
    pub async fn migrate(&self) -> Result<(), String> {
        let m = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        let applied = || async {
            let q = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM _sqlx_migrations");
            q.fetch_one(&self.pool).await.unwrap_or(0)
        };
        let before = applied().await;
        m.run(&self.pool).await.map_err(|e| format!("migration failed: {e}"))?;
        if self.backend == Backend::Sqlite && applied().await > before {
            self.analyze_new_indexes().await.map_err(|e| format!("migration failed while analyzing new indexes: {e}"))?;
        }
        // Some migrations leave rows whose derived columns only Rust can compute (sealed values,
        // keyed search tokens): they are marked, and rewritten here.
        self.rewrite_pending().await.map_err(|e| format!("migration failed while rewriting records: {e}"))?;
        self.backfill_service_times().await.map_err(|e| format!("migration failed while timing tickets: {e}"))?;
        Ok(())
    }

    /// Gives the indexes that migrations added to tables SQLite has statistics for theirs, by
    /// analyzing those tables again. SQLite takes an index without statistics for a very
    /// selective one: after 0055, an analyzed database counted an agent's 66,000 tickets by
    /// status through the new subject index, reading every row (96 ms), instead of through the
    /// covering (owner_id, status) index (7 ms). A database never analyzed (a new one, a test's)
    /// is left so. Costs seconds per large table, once per upgrade; a table whose empty partial
    /// index has no statistics (as an `ANALYZE` by an older `sqlite3` shell leaves it) is
    /// analyzed again at each upgrade.
    async fn analyze_new_indexes(&self) -> Result<()> {
        let q = "SELECT DISTINCT m.tbl_name AS t FROM sqlite_master m WHERE m.type = 'index' \
                 AND m.tbl_name IN (SELECT tbl FROM sqlite_stat1) \
                 AND m.name NOT IN (SELECT idx FROM sqlite_stat1 WHERE idx IS NOT NULL)";
        let has_stats =
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM sqlite_master WHERE name = 'sqlite_stat1'").fetch_one(&self.pool).await?;
        if has_stats == 0 {
            return Ok(());
        }
        for table in sqlx::query_scalar::<_, String>(q).fetch_all(&self.pool).await? {
            // A name SQLite itself reports, quoted as an identifier.
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("ANALYZE \"{}\"", table.replace('"', "\"\"")))).execute(&self.pool).await?;
        }
        Ok(())
    }

    /// The engine in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Refreshes the query planner's statistics (after bulk loads: demo data, restores). On
    /// PostgreSQL the tables are vacuumed too: a freshly loaded table has no visibility map
    /// until autovacuum gets to it (or ever, where it is off), so until then every index-only
    /// scan reads the table as well and the planner prefers scanning it whole; counting an
    /// agent's 66,000 of 200,000 tickets took 500 ms so, and 9 ms after the vacuum.
    pub async fn analyze(&self) -> Result<()> {
        let q = match self.backend {
            Backend::Sqlite => "PRAGMA optimize = 0x10002",
            Backend::Postgres => "VACUUM (ANALYZE)",
        };
        sqlx::raw_sql(q).execute(&self.pool).await?;
        Ok(())
    }

    /// Checks the database answers (for `/healthz`).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection (tests drop their databases afterwards).
    pub async fn close(&self) {
        if let Some(w) = &self.writer {
            w.close().await;
        }
        self.pool.close().await;
        if let Some(l) = &self.local {
            l.close();
        }
    }

    /// The rows of a bounded read outside any transaction, each turned into a `T` by `f`. On a
    /// SQLite file it runs on this thread (see [`local`]); otherwise through the pool.
    pub(crate) async fn read<T>(&self, sql: &sql::Sql, mut f: impl FnMut(&dyn row::Row) -> Result<T> + Send) -> Result<Vec<T>> {
        #[cfg(test)]
        sql::note_read(sql);
        match &self.local {
            Some(l) => l.query(sql, f),
            None => sql.fetch_all(&self.pool).await?.iter().map(|r| f(r)).collect(),
        }
    }

    /// A bounded read made while `tx` is open: on PostgreSQL it runs in that transaction, since a
    /// read through the pool while holding one of its connections waits forever once every
    /// connection is held so (many concurrent writes); on a SQLite file it is a [`Store::read`]
    /// (reads there need no pool connection, and the write connection is kept for writes).
    pub(crate) async fn read_in<T>(
        &self,
        tx: Option<&mut WriteTx>,
        sql: &sql::Sql,
        f: impl FnMut(&dyn row::Row) -> Result<T> + Send,
    ) -> Result<Vec<T>> {
        match tx {
            Some(tx) if self.local.is_none() => tx.fetch_all(sql, f).await,
            _ => self.read(sql, f).await,
        }
    }

    /// The first row of a bounded read, if any (see [`Store::read`]).
    pub(crate) async fn read_optional<T>(&self, sql: &sql::Sql, f: impl FnMut(&dyn row::Row) -> Result<T> + Send) -> Result<Option<T>> {
        Ok(self.read(sql, f).await?.into_iter().next())
    }

    /// Starts a write transaction. On SQLite it is a savepoint on the one write connection,
    /// whose batch holds the write lock from its start (`BEGIN IMMEDIATE`), so a transaction that
    /// reads before it writes cannot fail half-way with "database is locked" when another
    /// process writes first.
    async fn write_tx(&self) -> Result<WriteTx> {
        match &self.writer {
            Some(w) => Ok(WriteTx { inner: Inner::Batch(w.begin().await?), backend: self.backend, seq: None }),
            None => self.bulk_tx().await,
        }
    }

    /// A write transaction of its own on the pool, on either engine, for a restore: it runs
    /// statements [`WriteTx::sqlx`] gives, and holds SQLite's write lock from its start, so
    /// the writer's batches wait for it.
    async fn bulk_tx(&self) -> Result<WriteTx> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(WriteTx { inner: Inner::Pool(tx), backend: self.backend, seq: None })
    }
}

/// Maps a unique-index violation to [`Error::Conflict`] by index name (PostgreSQL reports the
/// index, SQLite the `table.column`), leaving other errors as they are.
fn unique_violation(e: impl Into<Error>, indexes: &[(&str, &str, &str, &str)]) -> Error {
    let e = e.into();
    let text = match &e {
        Error::Db(sqlx::Error::Database(db)) if db.is_unique_violation() => format!("{} {}", db.constraint().unwrap_or(""), db.message()),
        Error::Sqlite(rusqlite::Error::SqliteFailure(f, Some(message)))
            if matches!(f.extended_code, rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY) =>
        {
            message.clone()
        }
        _ => return e,
    };
    for (pg_index, sqlite_column, field, message) in indexes {
        if text.contains(pg_index) || text.contains(sqlite_column) {
            return Error::Conflict { field: field.to_string(), message: message.to_string() };
        }
    }
    e
}

#[cfg(test)]
mod analyze_tests {
    //! Indexes added to an analyzed table get statistics; tables never analyzed stay so.
    use sqlx::Row;

    #[tokio::test]
    async fn an_index_added_to_an_analyzed_table_gets_statistics() {
        crate::test_db::on_sqlite("stats", |store| async move {
            store.migrate().await.unwrap();
            let stats = |tbl: &'static str| {
                let pool = store.pool.clone();
                async move {
                    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT idx FROM sqlite_stat1 WHERE tbl = '{tbl}' ORDER BY idx")))
                        .fetch_all(&pool)
                        .await
                        .unwrap();
                    rows.iter().map(|r| r.try_get::<String, _>("idx").unwrap()).collect::<Vec<_>>()
                }
            };
            assert_eq!(stats("tickets").await, Vec::<String>::new(), "a new database's tickets are not analyzed by migrating");
            for q in [
                "CREATE TABLE analyzed (a INTEGER, b INTEGER)",
                "CREATE TABLE never (a INTEGER)",
                "CREATE INDEX never_a ON never (a)",
                "CREATE INDEX analyzed_a ON analyzed (a)",
                "INSERT INTO analyzed (a, b) SELECT value, value % 7 FROM json_each('[1,2,3,4,5,6,7,8,9,10]')",
                "INSERT INTO never (a) VALUES (1), (2)",
                "ANALYZE analyzed",
                "CREATE INDEX analyzed_b ON analyzed (b)",
            ] {
                sqlx::raw_sql(sqlx::AssertSqlSafe(q)).execute(&store.pool).await.unwrap();
            }
            assert_eq!(stats("analyzed").await, ["analyzed_a"]);
            store.analyze_new_indexes().await.unwrap();
            assert_eq!(stats("analyzed").await, ["analyzed_a", "analyzed_b"]);
            assert_eq!(stats("never").await, Vec::<String>::new());
        })
        .await;
    }

    #[tokio::test]
    async fn analyzing_postgres_after_a_bulk_load_leaves_its_pages_all_visible() {
        crate::test_db::on_postgres("vacuum", |store| async move {
            store.migrate().await.unwrap();
            for q in ["CREATE TABLE loaded (a INTEGER)", "INSERT INTO loaded (a) SELECT generate_series(1, 5000)"] {
                sqlx::raw_sql(sqlx::AssertSqlSafe(q)).execute(&store.pool).await.unwrap();
            }
            let visible = || async {
                let q = "SELECT CAST(relallvisible AS BIGINT) FROM pg_class WHERE relname = 'loaded'";
                sqlx::query_scalar::<_, i64>(q).fetch_one(&store.pool).await.unwrap()
            };
            assert_eq!(visible().await, 0, "no visibility map before");
            store.analyze().await.unwrap();
            assert!(visible().await > 0, "index-only scans need not read the table");
        })
        .await;
    }
}
