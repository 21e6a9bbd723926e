//! SQLite reads on the calling thread.
//!
//! sqlx runs every SQLite connection on a thread of its own and hands each query and each row
//! across threads; for the short reads behind most requests (a record, a page, a session) those
//! hand-offs cost more than the query itself (BENCHMARKS.md: context switches were 45% of the
//! server's CPU time on `GET /customers/{id}`). So reads outside transactions on a SQLite file run
//! here, on rusqlite connections used in place and kept in a small pool. The SQL text and the row
//! decoding are the very ones PostgreSQL gets. SQLite's one writer runs its statements the same
//! way, on its own connection ([`run`], [`execute`]; see [`crate::writer`]).
//!
//! Reads must be bounded (a page, a record): they block the async worker that runs them. The
//! purchase history scan runs here too, but on a blocking thread ([`LocalReads::scan`]); other
//! scans (backups, re-sealing batches) go through sqlx; every other read outside a transaction
//! is a `Store::read`.

use std::cell::Cell;
use std::path::PathBuf;
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags};

use crate::Result;
use crate::row::Row;
use crate::sql::{Arg, Sql};

/// Idle read connections to one SQLite file.
#[derive(Debug)]
pub(crate) struct LocalReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl LocalReads {
    pub fn new(path: PathBuf) -> LocalReads {
        LocalReads { path, idle: Mutex::new(Vec::new()) }
    }

    fn open(&self) -> Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags)?;
        // The same settings as the sqlx connections (see `Store::pool`), and no writes through here.
        conn.execute_batch(
            "PRAGMA busy_timeout = 5000; PRAGMA mmap_size = 268435456; PRAGMA cache_size = -16384; PRAGMA query_only = ON;",
        )?;
        Ok(conn)
    }

    /// Closes the idle connections (a connection in use closes when its read ends).
    pub fn close(&self) {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Runs `sql` and turns each row into a `T` with `f`.
    pub fn query<T>(&self, sql: &Sql, mut f: impl FnMut(&dyn Row) -> Result<T>) -> Result<Vec<T>> {
        self.with_connection(|conn| {
            let mut stmt = bind(conn, sql)?;
            let names: Vec<String> = stmt.column_names().into_iter().map(String::from).collect();
            let mut rows = stmt.raw_query();
            let mut out = Vec::new();
            while let Some(row) = rows.next()? {
                out.push(f(&LocalRow { row, names: &names, next: Cell::new(0) })?);
            }
            Ok(out)
        })
    }

    /// Runs `sql` and hands each row to `f` as rusqlite reads it, columns by position, without
    /// copying its text: for scans of millions of rows, which callers run on a blocking thread.
    pub fn scan(&self, sql: &Sql, mut f: impl FnMut(&rusqlite::Row) -> Result<()>) -> Result<()> {
        self.with_connection(|conn| {
            let mut stmt = bind(conn, sql)?;
            let mut rows = stmt.raw_query();
            while let Some(row) = rows.next()? {
                f(row)?;
            }
            Ok(())
        })
    }

    fn with_connection<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let taken = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match taken {
            Some(c) => c,
            None => self.open()?,
        };
        let out = f(&conn);
        // A connection that failed may be broken: only healthy ones go back.
        if out.is_ok() {
            self.idle.lock().unwrap_or_else(|e| e.into_inner()).push(conn);
        }
        out
    }
}

/// Prepares `sql` on `conn` (cached) with its arguments bound.
fn bind<'c>(conn: &'c Connection, sql: &Sql) -> Result<rusqlite::CachedStatement<'c>> {
    let mut stmt = conn.prepare_cached(&sql.text)?;
    // `$n` is a named parameter to SQLite: bind by name, so that one used twice is bound once;
    // anonymous `?` ones bind in order.
    for (i, arg) in sql.args().iter().enumerate() {
        let at = if sql.positional { i + 1 } else { stmt.parameter_index(&format!("${}", i + 1))?.unwrap_or(0) };
        if at == 0 {
            continue;
        }
        match arg {
            Arg::Text(s) => stmt.raw_bind_parameter(at, s)?,
            Arg::Int(n) => stmt.raw_bind_parameter(at, n)?,
            Arg::Real(x) => stmt.raw_bind_parameter(at, x)?,
        }
    }
    Ok(stmt)
}

/// Runs `sql` on `conn` and turns each row into a `T` with `f` (reads here, and the writes of
/// SQLite's one writer, see [`crate::writer`]).
pub(crate) fn run<T>(conn: &Connection, sql: &Sql, f: &mut impl FnMut(&dyn Row) -> Result<T>) -> Result<Vec<T>> {
    let mut stmt = bind(conn, sql)?;
    let names: Vec<String> = stmt.column_names().into_iter().map(String::from).collect();
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(f(&LocalRow { row, names: &names, next: Cell::new(0) })?);
    }
    Ok(out)
}

/// Runs `sql` on `conn` to its end, rows it returns (`RETURNING`) unread: the rows it changed.
pub(crate) fn execute(conn: &Connection, sql: &Sql) -> Result<u64> {
    let mut stmt = bind(conn, sql)?;
    let readonly = stmt.readonly();
    let mut rows = stmt.raw_query();
    while rows.next()?.is_some() {}
    Ok(if readonly { 0 } else { conn.changes() })
}

/// A row with its column names looked up by us: decoders read columns mostly in SELECT order,
/// so the column after the last one read is tried first (rusqlite's own lookup compares every
/// name case-insensitively, which was a tenth of a point read's CPU time).
struct LocalRow<'a> {
    row: &'a rusqlite::Row<'a>,
    names: &'a [String],
    next: Cell<usize>,
}

impl LocalRow<'_> {
    fn index(&self, col: &str) -> Result<usize> {
        let guess = self.next.get();
        let i = if self.names.get(guess).is_some_and(|n| n == col) {
            guess
        } else {
            self.names.iter().position(|n| n == col).ok_or_else(|| rusqlite::Error::InvalidColumnName(col.to_string()))?
        };
        self.next.set(i + 1);
        Ok(i)
    }
}

impl Row for LocalRow<'_> {
    fn int(&self, col: &str) -> Result<Option<i64>> {
        Ok(self.row.get(self.index(col)?)?)
    }
    fn real(&self, col: &str) -> Result<Option<f64>> {
        Ok(self.row.get(self.index(col)?)?)
    }
    fn text(&self, col: &str) -> Result<Option<String>> {
        Ok(self.row.get(self.index(col)?)?)
    }
}

#[cfg(test)]
mod tests {
    use crate::sql::sql;
    use crate::{Store, sqlite_file};

    #[tokio::test]
    async fn reads_see_each_committed_write_at_once_and_bind_every_type() {
        let dir = std::env::temp_dir().join(format!("rapport-local-{}-{}", std::process::id(), rand::random::<u32>()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = Store::connect(dir.join("t.db").to_str().unwrap()).await.unwrap();
        assert!(store.local.is_some(), "a SQLite file is read on the calling thread");
        sql("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL)", []).execute(&store.pool).await.unwrap();
        for i in 1..=3_i64 {
            let row = [i.into(), format!("n{i}").into(), (i as f64 / 2.0).into()];
            sql("INSERT INTO t (id, name, score) VALUES (?, ?, ?)", row).execute(&store.pool).await.unwrap();
            let q =
                sql("SELECT id, name, score FROM t WHERE id <= ? AND name IS NOT ? ORDER BY id", [i.into(), Option::<String>::None.into()]);
            let rows = store.read(&q, |r| Ok((r.get::<i64>("id")?, r.get::<String>("name")?, r.get::<f64>("score")?))).await.unwrap();
            assert_eq!(rows.len() as i64, i, "the row written through sqlx just before is visible");
            assert_eq!(rows.last().unwrap(), &(i, format!("n{i}"), i as f64 / 2.0));
        }
        // Columns read out of SELECT order still find their values.
        let q = sql("SELECT id, name, score FROM t WHERE id = ?", [2.into()]);
        let backwards =
            store.read_optional(&q, |r| Ok((r.get::<f64>("score")?, r.get::<String>("name")?, r.get::<i64>("id")?))).await.unwrap();
        assert_eq!(backwards, Some((1.0, "n2".to_string(), 2)));
        // NULL in a non-optional read and an unknown column are errors, never defaults.
        let q = sql("SELECT NULL AS name", []);
        assert!(store.read(&q, |r| r.get::<String>("name")).await.is_err());
        assert!(store.read(&q, |r| r.get::<Option<String>>("nope")).await.is_err());
        assert_eq!(store.read(&q, |r| r.get::<Option<String>>("name")).await.unwrap(), vec![None]);
        // The read connections cannot write.
        let write = sql("INSERT INTO t (id, name) VALUES (9, 'x') RETURNING id", []);
        assert!(store.read(&write, |r| r.get::<i64>("id")).await.is_err());
        assert!(store.read_optional(&sql("SELECT id FROM t WHERE id = 9", []), |_| Ok(())).await.unwrap().is_none());
        store.close().await;
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn only_files_are_read_in_place() {
        assert_eq!(sqlite_file("sqlite://data/crm.db?mode=rwc"), Some("data/crm.db".into()));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("sqlite://crm.db?mode=memory"), None);
    }
}
