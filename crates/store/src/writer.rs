//! SQLite's one writer, with group commit.
//!
//! SQLite lets one transaction write at a time, and every commit pays for its WAL frames (and,
//! with `synchronous = FULL`, an fsync). So this process keeps a single write connection and runs
//! the write transactions of concurrent requests one after another inside one SQLite transaction,
//! a *batch*, each in a savepoint of its own: a request that fails (or is dropped) rolls back to
//! its savepoint alone (`ROLLBACK TO` + `RELEASE`), and the requests that released theirs are
//! committed together by one `COMMIT`. A request's commit returns only once the `COMMIT` holding
//! its savepoint succeeded, and an error if that `COMMIT` failed: a response never acknowledges a
//! write that a crash could still lose.
//!
//! Who commits: the request that releases its savepoint commits the batch itself when no other
//! writer is waiting for the connection (a lone writer is never delayed) or when the batch is full
//! ([`MAX_WRITES`] savepoints, or [`MAX_AGE`] since its `BEGIN`, which bounds every request's
//! wait); otherwise it hands the connection to the next writer in line and waits for the `COMMIT`
//! of the batch it joined. Whoever holds the connection always leaves it either with the batch
//! committed or with a writer waiting that will take it on.
//!
//! The change clock stays in commit order for sync: each savepoint bumps `change_clock` inside the
//! batch, savepoints run one after another and batches commit one after another, so a reader never
//! sees a lower number appear after it read a higher one.
//!
//! Statements run in place, on the thread of the request that holds the connection (see [`Batch`]).
//!
//! PostgreSQL has no such single writer: its transactions stay on the pool (see `WriteTx`).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

/// Savepoints in one batch at most: past it, the request that releases the last one commits.
const MAX_WRITES: usize = 64;
/// How long a batch stays open at most while writers keep arriving.
const MAX_AGE: Duration = Duration::from_millis(4);

/// The outcome of a batch's `COMMIT`, as each request in it learns it.
type Outcome = Result<(), String>;

/// The write connection and the batch open on it.
pub(crate) struct Writer {
    /// The database file, to (re)open the write connection.
    path: PathBuf,
    batch: Arc<Mutex<Batch>>,
    /// Writers waiting for `batch`: a request leaves its savepoint in an open batch only when
    /// one of them will carry it on.
    waiting: AtomicUsize,
    /// Batches committed so far.
    commits: AtomicUsize,
    /// How long a batch stays open at most ([`MAX_AGE`]; tests that need batches of a known
    /// membership wait longer).
    max_age: Duration,
}

/// What is open on the write connection; held by one request (or one committer) at a time.
///
/// Statements run in place on the holder's thread (rusqlite, as [`crate::local`] reads do):
/// sqlx would hand each one, and each of its rows, to the connection's worker thread and back,
/// several times per request (change clock, insert, tags, audit, savepoint, release).
#[derive(Default)]
struct Batch {
    /// The write connection, opened on first use; dropped (and so reopened) when a failed
    /// `COMMIT` or `ROLLBACK` may have left it inside a transaction.
    conn: Option<Connection>,
    /// When the batch's transaction (`BEGIN IMMEDIATE`) began, while one is open.
    began: Option<Instant>,
    /// The requests whose savepoints were released into this batch, waiting for its `COMMIT`.
    released: Vec<oneshot::Sender<Outcome>>,
}

impl Batch {
    fn full(&self, max_age: Duration) -> bool {
        self.released.len() + 1 >= MAX_WRITES || self.began.is_some_and(|b| b.elapsed() >= max_age)
    }

    /// The connection, while a transaction is open on it.
    fn open(&self) -> Option<&Connection> {
        self.conn.as_ref().filter(|_| self.began.is_some())
    }

    fn exec(&mut self, statement: &str) -> Result<(), String> {
        let conn = self.open().ok_or("no write transaction is open")?;
        conn.execute_batch(statement).map_err(|e| e.to_string())
    }
}

/// Opens the write connection with the settings of the sqlx connections (see `Store::pool`).
fn open(path: &std::path::Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; \
         PRAGMA mmap_size = 268435456; PRAGMA cache_size = -16384;",
    )?;
    // Every write statement of the product stays prepared (the default keeps 16).
    conn.set_prepared_statement_cache_capacity(256);
    Ok(conn)
}

impl Writer {
    pub fn new(path: PathBuf) -> Writer {
        Writer { path, batch: Default::default(), waiting: AtomicUsize::new(0), commits: AtomicUsize::new(0), max_age: MAX_AGE }
    }

    /// Opens a request's savepoint, in the open batch or in a new one; waits for the connection
    /// in arrival order.
    pub async fn begin(self: &Arc<Self>) -> crate::Result<Turn> {
        let mut batch = self.wait_turn().await;
        if batch.began.is_none() {
            if batch.conn.is_none() {
                batch.conn = Some(open(&self.path)?);
            }
            batch.conn.as_ref().expect("opened").execute_batch("BEGIN IMMEDIATE")?;
            batch.began = Some(Instant::now());
        }
        if let Err(e) = batch.exec("SAVEPOINT request") {
            // The batch may be broken: commit what it holds (or fail it) rather than leave it.
            let _ = self.settle(batch);
            return Err(db_error(e));
        }
        Ok(Turn { writer: self.clone(), batch: Some(batch) })
    }

    async fn wait_turn(self: &Arc<Self>) -> OwnedMutexGuard<Batch> {
        let mut waiting = Waiting { writer: self.clone(), served: false };
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let batch = self.batch.clone().lock_owned().await;
        waiting.served = true;
        drop(waiting);
        batch
    }

    /// Rolls back the savepoint a request left open.
    fn undo(&self, batch: &mut Batch) -> Result<(), String> {
        if let Err(e) = batch.exec("ROLLBACK TO request; RELEASE request") {
            self.fail(batch, &e);
            return Err(e);
        }
        Ok(())
    }

    /// Leaves the connection with no savepoint open: commits the batch unless a waiting writer
    /// will carry it on.
    fn settle(&self, mut batch: OwnedMutexGuard<Batch>) -> Outcome {
        if batch.began.is_none() || (self.waiting.load(Ordering::SeqCst) > 0 && !batch.full(self.max_age)) {
            return Ok(());
        }
        self.commit(&mut batch)
    }

    /// Releases the holder's savepoint into the batch; returns once the batch's `COMMIT` did.
    async fn finish(&self, mut batch: OwnedMutexGuard<Batch>) -> Outcome {
        if let Err(e) = batch.exec("RELEASE request") {
            self.fail(&mut batch, &e);
            return Err(e);
        }
        if self.waiting.load(Ordering::SeqCst) > 0 && !batch.full(self.max_age) {
            let (done, outcome) = oneshot::channel();
            batch.released.push(done);
            drop(batch);
            return outcome.await.unwrap_or_else(|_| Err("the write batch ended without committing".into()));
        }
        self.commit(&mut batch)
    }

    /// Commits the batch and tells every request in it how that went.
    fn commit(&self, batch: &mut Batch) -> Outcome {
        let out = match batch.open() {
            Some(conn) => conn.execute_batch("COMMIT").map_err(|e| e.to_string()),
            None => Ok(()),
        };
        if let Err(e) = &out {
            // A failed COMMIT (a deferred check, a full disk) leaves the transaction open.
            self.fail(batch, e);
            return out;
        }
        batch.began = None;
        self.commits.fetch_add(1, Ordering::Relaxed);
        for r in std::mem::take(&mut batch.released) {
            let _ = r.send(Ok(()));
        }
        out
    }

    /// Gives up the batch (a savepoint could not be released or undone, or the `COMMIT`
    /// failed, so the transaction is in an unknown state): rolls it back, and every request in
    /// it gets the error.
    fn fail(&self, batch: &mut Batch, error: &str) {
        if let Some(conn) = batch.open()
            && (conn.execute_batch("ROLLBACK").is_err() || !conn.is_autocommit())
        {
            // Still inside a transaction: the next batch gets a fresh connection.
            batch.conn = None;
        }
        batch.began = None;
        for r in batch.released.drain(..) {
            let _ = r.send(Err(format!("the write batch was rolled back: {error}")));
        }
    }

    /// Commits what is open and closes the connection.
    pub async fn close(&self) {
        let mut batch = self.batch.clone().lock_owned().await;
        let _ = self.commit(&mut batch);
        batch.conn = None;
    }
}

/// Counts a writer in line for the connection; one that gives up before its turn (its request
/// was dropped) makes sure the batch it may have been trusted to carry on is committed.
struct Waiting {
    writer: Arc<Writer>,
    served: bool,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.writer.waiting.fetch_sub(1, Ordering::SeqCst);
        if !self.served
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            let writer = self.writer.clone();
            rt.spawn(async move {
                let batch = writer.batch.clone().lock_owned().await;
                let _ = writer.settle(batch);
            });
        }
    }
}

/// One request's savepoint on the write connection, and its turn to use it.
pub(crate) struct Turn {
    writer: Arc<Writer>,
    /// Taken when the turn ends.
    batch: Option<OwnedMutexGuard<Batch>>,
}

impl Turn {
    /// The write connection, inside this request's savepoint.
    pub fn conn(&self) -> &Connection {
        self.batch.as_ref().and_then(|b| b.open()).expect("a turn holds an open batch")
    }

    /// Releases the savepoint and waits for the `COMMIT` that holds it. The ending runs as a task
    /// of its own, so that a request dropped meanwhile (its client gone) cannot leave the batch
    /// half-committed or its companions without an answer.
    pub async fn commit(mut self) -> crate::Result<()> {
        let batch = self.batch.take().expect("a turn is ended once");
        let writer = self.writer.clone();
        let out = tokio::spawn(async move { writer.finish(batch).await }).await.unwrap_or_else(|e| Err(e.to_string()));
        out.map_err(db_error)
    }
}

impl Drop for Turn {
    /// A turn dropped without commit (an error, a dropped request) rolls back its savepoint
    /// alone, at once: the statements need no runtime.
    fn drop(&mut self) {
        let Some(mut batch) = self.batch.take() else { return };
        if self.writer.undo(&mut batch).is_ok() {
            let _ = self.writer.settle(batch);
        }
    }
}

fn db_error(message: String) -> crate::Error {
    crate::Error::Db(sqlx::Error::Io(std::io::Error::other(message)))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use crate::sql::sql;

    const PATIENT: Duration = Duration::from_secs(600);
    use crate::{Error, Store};

    /// A migrated store on a fresh file, with a table `t` of unique values; its batches stay open
    /// up to `max_age` (long: a batch takes every writer queued in it, however slow the machine).
    async fn store(max_age: Duration) -> (Store, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("rapport-writer-{}-{:x}", std::process::id(), rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut store = Store::connect(dir.join("w.db").to_str().unwrap()).await.unwrap();
        std::sync::Arc::get_mut(store.writer.as_mut().unwrap()).unwrap().max_age = max_age;
        store.migrate().await.unwrap();
        let mut tx = store.write_tx().await.unwrap();
        for q in [
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE, seq INTEGER)",
            "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES t (id) DEFERRABLE INITIALLY DEFERRED)",
            "INSERT INTO t (v) VALUES ('taken')",
        ] {
            tx.execute(&sql(q, [])).await.unwrap();
        }
        tx.commit().await.unwrap();
        (store, dir)
    }

    async fn values(store: &Store) -> Vec<String> {
        store.read(&sql("SELECT v FROM t ORDER BY v", []), |r| r.get::<String>("v")).await.unwrap()
    }

    /// Waits (without sleeping) until `n` writers queue for the connection.
    async fn until_waiting(store: &Store, n: usize) {
        while store.writer.as_ref().unwrap().waiting.load(Ordering::SeqCst) < n {
            tokio::task::yield_now().await;
        }
    }

    fn commits(store: &Store) -> usize {
        store.writer.as_ref().unwrap().commits.load(Ordering::SeqCst)
    }

    /// Inserts `v` with the transaction's change sequence and commits.
    async fn insert(store: Store, v: String) -> Result<i64, Error> {
        let mut tx = store.write_tx().await?;
        let seq = tx.change_seq().await?;
        tx.execute(&sql("INSERT INTO t (v, seq) VALUES (?, ?)", [v.into(), seq.into()])).await?;
        tx.commit().await?;
        Ok(seq)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queued_writes_share_commits_and_a_failing_one_rolls_back_alone() {
        let (store, dir) = store(PATIENT).await;
        let before = commits(&store);
        // The first writer holds the connection until 49 more queue behind it.
        let mut first = store.write_tx().await.unwrap();
        let mut writes = tokio::task::JoinSet::new();
        for i in 1..50 {
            let v = if i % 5 == 4 { "taken".to_string() } else { format!("v{i:02}") };
            writes.spawn(insert(store.clone(), v));
        }
        until_waiting(&store, 49).await;
        first.execute(&sql("INSERT INTO t (v) VALUES ('v00')", [])).await.unwrap();
        first.commit().await.unwrap();
        let outcomes = writes.join_all().await;
        let failed = outcomes.iter().filter(|o| matches!(o, Err(Error::Sqlite(rusqlite::Error::SqliteFailure(..))))).count();
        assert_eq!(failed, 10, "the duplicates fail: {outcomes:?}");
        let mut seqs: Vec<i64> = outcomes.into_iter().filter_map(|o| o.ok()).collect();
        assert_eq!(seqs.len(), 39);
        let mut expected = vec!["taken".to_string()];
        expected.extend((0..50).filter(|i| i % 5 != 4).map(|i| format!("v{i:02}")));
        assert_eq!(values(&store).await, expected, "exactly the good writes are stored");
        seqs.sort();
        seqs.dedup();
        assert_eq!(seqs.len(), 39, "one change sequence per committed write");
        let stored: Vec<i64> =
            store.read(&sql("SELECT seq FROM t WHERE seq IS NOT NULL ORDER BY seq", []), |r| r.get("seq")).await.unwrap();
        assert_eq!(stored, seqs, "a failed write's sequence number is rolled back with it");
        assert_eq!(commits(&store) - before, 1, "the 40 writes queued together were committed by one COMMIT");
        // A lone writer commits at once: its write is visible to readers as soon as it returns.
        insert(store.clone(), "alone".into()).await.unwrap();
        assert!(values(&store).await.contains(&"alone".to_string()));
        store.close().await;
        std::fs::remove_dir_all(dir).ok();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_commit_fails_every_write_in_its_batch_and_the_next_batch_works() {
        let (store, dir) = store(PATIENT).await;
        // A reference to a missing row passes its savepoint (the check is deferred) and fails
        // the batch's COMMIT, with two writes queued behind it in the same batch.
        let mut first = store.write_tx().await.unwrap();
        let mut writes = tokio::task::JoinSet::new();
        for v in ["b", "c"] {
            writes.spawn(insert(store.clone(), v.into()));
        }
        until_waiting(&store, 2).await;
        first.execute(&sql("INSERT INTO child (parent_id) VALUES (424242)", [])).await.unwrap();
        let first = first.commit().await;
        assert!(first.is_err(), "the write that broke the commit is told");
        for o in writes.join_all().await {
            assert!(o.is_err(), "a write in a failed batch is never acknowledged: {o:?}");
        }
        assert_eq!(values(&store).await, ["taken"], "nothing of the batch is stored");
        assert!(store.read(&sql("SELECT id FROM child", []), |r| r.get::<i64>("id")).await.unwrap().is_empty());
        insert(store.clone(), "after".into()).await.unwrap();
        assert_eq!(values(&store).await, ["after", "taken"]);
        store.close().await;
        std::fs::remove_dir_all(dir).ok();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dropped_write_rolls_back_alone() {
        let (store, dir) = store(PATIENT).await;
        let mut first = store.write_tx().await.unwrap();
        let queued = tokio::spawn(insert(store.clone(), "kept".into()));
        until_waiting(&store, 1).await;
        first.execute(&sql("INSERT INTO t (v) VALUES ('dropped')", [])).await.unwrap();
        drop(first);
        queued.await.unwrap().unwrap();
        assert_eq!(values(&store).await, ["kept", "taken"]);
        // And with no one behind it: the connection is left clean for the next writer.
        let mut lone = store.write_tx().await.unwrap();
        lone.execute(&sql("INSERT INTO t (v) VALUES ('dropped too')", [])).await.unwrap();
        drop(lone);
        insert(store.clone(), "next".into()).await.unwrap();
        assert_eq!(values(&store).await, ["kept", "next", "taken"]);
        store.close().await;
        std::fs::remove_dir_all(dir).ok();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_past_its_age_commits_at_once() {
        let (store, dir) = store(Duration::ZERO).await;
        let before = commits(&store);
        let first = store.write_tx().await.unwrap();
        let mut writes = tokio::task::JoinSet::new();
        for i in 0..5 {
            writes.spawn(insert(store.clone(), format!("v{i}")));
        }
        until_waiting(&store, 5).await;
        first.commit().await.unwrap();
        assert!(writes.join_all().await.iter().all(|o| o.is_ok()));
        assert_eq!(commits(&store) - before, 6, "each write committed as it ended, writers queued or not");
        store.close().await;
        std::fs::remove_dir_all(dir).ok();
    }
}
