//! Backup and restore: a consistent, portable snapshot of every data table, taken while the
//! server keeps serving writes, and its replay into an empty database of either engine.
//!
//! # Consistency
//!
//! [`Store::backup`] reads the schema, the applied migrations and every table inside ONE read
//! transaction, so the file holds the database exactly as it was at one instant:
//!
//! - SQLite: a deferred `BEGIN` whose first read pins a WAL snapshot; writers keep committing
//!   to the WAL while the backup reads (this is what the online backup API would give, but
//!   through the same portable format as PostgreSQL instead of a byte copy).
//! - PostgreSQL: `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`, the transaction-consistent
//!   export `pg_dump` uses.
//!
//! Rows are fetched in keyset batches along each table's primary key (row-value comparison
//! `(a, b) > ($1, $2)`; `LIMIT`/`OFFSET` over all columns for a table without one) and
//! streamed to `FILE.partial`, which is synced and renamed to `FILE` only when complete, so a
//! failed backup never leaves a file that looks whole.
//!
//! # Format (version 1): JSON lines
//!
//! ```text
//! {"format":"rapport-backup","version":1,"created_at":"…","backend":"sqlite","migrations":[1,2],"tables":["users",…]}
//! {"table":"users","columns":["id","email",…]}
//! [1,"admin@rapport.test",…]                  one JSON array per row
//! {"table":"companies","columns":[…]}
//! …
//! {"end":{"users":3,"companies":300,…}}       row count per table: a truncated file is refused
//! ```
//!
//! A cell is `null`, an integer, a finite float, a string or a boolean; the rare values JSON
//! cannot hold are tagged objects: `{"float":"NaN"|"inf"|"-inf"}` and `{"base64":"…"}` for a
//! blob. Floats round-trip exactly (serde_json's `float_roundtrip`). The format names columns,
//! not positions, and does not depend on the engine, so a SQLite backup restores into
//! PostgreSQL (the path a growing team takes) and back.
//!
//! # What is a data table
//!
//! Tables are discovered from the live schema, never listed here, so tables added by later
//! migrations are backed up without touching this file: every ordinary table except
//! `_sqlx_migrations` and SQLite's internal (`sqlite_*`), virtual (FTS5) and shadow tables.
//! Generated columns (PostgreSQL's `search_tsv`) are skipped; the target computes them, as the
//! SQLite FTS triggers rebuild the full-text index while rows are inserted. Tables are written
//! parents first, in the order of the foreign-key graph (ties by name), so replaying the file in
//! order never references a missing row; rows of one table go in primary-key order, which keeps
//! self-references (a parent row created before its children) valid too.
//!
//! # Restore
//!
//! [`Store::restore`] migrates the target, then in ONE write transaction (all or nothing):
//! refuses a backup with migrations this binary does not know; refuses a target that holds
//! data (any row in any data table other than [`SEEDED_TABLES`]) unless `force`, which first
//! deletes every data table's rows (children first); empties the tables the backup holds; inserts
//! the rows with their ids in multi-row `INSERT`s, each value converted to the target column's
//! type; checks every table's row count against the end line; on PostgreSQL moves each identity
//! sequence past the largest id; and writes a `restore` audit row. A backup older than the
//! binary restores as long as its columns still exist (newer columns take their defaults).
//! Problems in the file are reported with the file name and line number.
//!
//! Values are copied as stored: encrypted fields stay ciphertext (with their blind indexes), so
//! a backup reveals no more than the database file does, and the restored database needs the
//! same key. Keep backups as safe as the database anyway: they hold password hashes and tokens'
//! hashes too.
//!
//! Both operations are operator actions from the CLI (`rapport backup|restore FILE`), run as
//! [`Actor::system`]; each writes an audit row (`backup` after the file is complete, in its own
//! transaction, so it is not part of the snapshot; `restore` inside the restore transaction).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rapport_domain::now_rfc3339;
use rapport_domain::permissions::Actor;
use serde_json::{Map, Value, json};
use sqlx::any::{AnyArguments, AnyRow, AnyTypeInfoKind};
use sqlx::query::Query;
use sqlx::{Any, AssertSqlSafe, Row, Transaction, ValueRef};

use crate::{Backend, Error, Store};

mod load;
use load::Loader;

/// Name in the header's `format` field.
pub const FORMAT: &str = "rapport-backup";
/// Version of the file format this binary writes and the newest it reads.
pub const FORMAT_VERSION: i64 = 1;
/// Tables that migrations or the server itself fill, not users: ignored when deciding whether
/// a restore target is empty (their rows are replaced by the backup's). `change_clock` holds the
/// change counter; `server_secrets` gets its key the first time the UI renders a form.
/// `pipelines` and `pipeline_stages` hold the default pipeline the 0010 migration seeds.
pub const SEEDED_TABLES: &[&str] = &["change_clock", "server_secrets", "pipelines", "pipeline_stages"];

/// Rows fetched per keyset batch.
const BATCH: i64 = 1000;
/// Bound parameters per multi-row `INSERT` (SQLite allows 32766, PostgreSQL 65535).
const PARAMS_PER_INSERT: usize = 8000;

/// What went wrong in a backup or a restore.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The file cannot be created, read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The backup file.
        path: PathBuf,
        /// The system error.
        source: std::io::Error,
    },
    /// The file is not a valid backup (corrupt, truncated, another format) or does not fit the
    /// target's schema; `line` is 1-based.
    #[error("{}, line {line}: {message}", path.display())]
    Format {
        /// The backup file.
        path: PathBuf,
        /// The offending line.
        line: u64,
        /// What is wrong with it.
        message: String,
    },
    /// The target already holds data and `force` was not given.
    #[error(
        "the target database is not empty (rows in: {}); restore into a new, empty database, or pass --force to erase its data first",
        tables.join(", ")
    )]
    NotEmpty {
        /// The tables holding rows.
        tables: Vec<String>,
    },
    /// The backup was written by a newer Rapport whose schema this binary does not know.
    #[error(
        "the backup comes from a newer version of Rapport: its database migrations {unknown:?} are unknown to this binary (which knows up to {known}); restore it with that version or a newer one"
    )]
    NewerSchema {
        /// Migration versions in the backup that the target lacks.
        unknown: Vec<i64>,
        /// The newest migration of the target.
        known: i64,
    },
    /// A column whose type the portable format cannot hold.
    #[error("column {table}.{column} has type {ty}, which the portable backup format cannot hold")]
    Unsupported {
        /// Table.
        table: String,
        /// Column.
        column: String,
        /// Its SQL type.
        ty: String,
    },
    /// Migrating the target failed.
    #[error("{0}")]
    Migrate(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] Error),
}

impl From<sqlx::Error> for BackupError {
    fn from(e: sqlx::Error) -> Self {
        BackupError::Store(Error::Db(e))
    }
}

/// What [`Store::backup`] wrote.
#[derive(Debug, Clone)]
pub struct BackupSummary {
    /// The backup file.
    pub path: PathBuf,
    /// The engine it was read from.
    pub backend: Backend,
    /// Migrations applied to the source.
    pub migrations: Vec<i64>,
    /// Rows per table, in file order.
    pub tables: Vec<(String, u64)>,
    /// Size of the file.
    pub bytes: u64,
}

impl BackupSummary {
    /// Rows in all tables.
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

/// What [`Store::restore`] loaded.
#[derive(Debug, Clone)]
pub struct RestoreSummary {
    /// The backup file.
    pub path: PathBuf,
    /// Engine the backup was taken from (`sqlite`, `postgres`).
    pub source_backend: String,
    /// When the backup was taken (RFC 3339).
    pub created_at: String,
    /// Rows per table, in file order.
    pub tables: Vec<(String, u64)>,
    /// Whether existing data was erased first (`force`).
    pub wiped: bool,
}

impl RestoreSummary {
    /// Rows in all tables.
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

/// How a column's values are bound on insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Real,
    Text,
    Bool,
    Blob,
    /// SQLite column without a usable declared type: bind as the JSON value comes.
    Dynamic,
}

#[derive(Debug, Clone)]
struct Column {
    name: String,
    kind: Kind,
    /// PostgreSQL: backed by a sequence (identity or serial) that restore must move.
    sequence: bool,
    /// PostgreSQL: `GENERATED ALWAYS AS IDENTITY`, which needs `OVERRIDING SYSTEM VALUE`.
    always_identity: bool,
}

#[derive(Debug, Clone)]
struct Table {
    name: String,
    columns: Vec<Column>,
    /// Primary-key column names in key order (empty: none).
    pk: Vec<String>,
}

fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io { path: path.to_path_buf(), source }
}

fn sqlite_kind(decl: &str) -> Kind {
    // SQLite's affinity rules (https://sqlite.org/datatype3.html#determination_of_column_affinity).
    let d = decl.to_ascii_uppercase();
    if d.contains("INT") {
        Kind::Int
    } else if d.contains("CHAR") || d.contains("CLOB") || d.contains("TEXT") {
        Kind::Text
    } else if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") {
        Kind::Real
    } else if d.contains("BOOL") {
        Kind::Bool
    } else if d.contains("BLOB") {
        Kind::Blob
    } else {
        Kind::Dynamic
    }
}

fn postgres_kind(ty: &str) -> Option<Kind> {
    Some(match ty {
        "bigint" | "integer" | "smallint" => Kind::Int,
        "real" | "double precision" => Kind::Real,
        "text" | "name" => Kind::Text,
        "boolean" => Kind::Bool,
        "bytea" => Kind::Blob,
        t if t.starts_with("character") => Kind::Text,
        _ => return None,
    })
}

/// Orders tables parents first along their foreign keys (ties and cycles broken by name).
fn parents_first(mut tables: Vec<Table>, edges: &[(String, String)]) -> Vec<Table> {
    tables.sort_by(|a, b| a.name.cmp(&b.name));
    let names: BTreeSet<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    let mut parents: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (child, parent) in edges {
        if child != parent && names.contains(parent.as_str()) {
            parents.entry(child.clone()).or_default().insert(parent.clone());
        }
    }
    let mut placed: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::with_capacity(tables.len());
    while !tables.is_empty() {
        let ready = tables.iter().position(|t| parents.get(&t.name).is_none_or(|ps| ps.iter().all(|p| placed.contains(p))));
        // A cycle: take the first by name (SQLite defers the check; PostgreSQL reports it).
        let t = tables.remove(ready.unwrap_or(0));
        placed.insert(t.name.clone());
        out.push(t);
    }
    out
}

/// Reads the data tables of the connection's database, parents first.
async fn schema(tx: &mut Transaction<'static, Any>, backend: Backend) -> Result<Vec<Table>, BackupError> {
    let mut tables = vec![];
    let mut edges = vec![];
    match backend {
        Backend::Sqlite => {
            let names: Vec<String> = sqlx::query(
                "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' \
                 AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> '_sqlx_migrations' ORDER BY name",
            )
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|r| r.try_get("name"))
            .collect::<sqlx::Result<_>>()?;
            for name in names {
                // table_xinfo's `hidden` is 0 for ordinary columns, 2/3 for generated ones.
                let rows = sqlx::query("SELECT name, type, pk FROM pragma_table_xinfo($1) WHERE hidden = 0 ORDER BY cid")
                    .bind(&name)
                    .fetch_all(&mut **tx)
                    .await?;
                let mut columns = vec![];
                let mut pk: Vec<(i64, String)> = vec![];
                for r in rows {
                    let col: String = r.try_get("name")?;
                    let ty: String = r.try_get("type")?;
                    let k: i64 = r.try_get("pk")?;
                    if k > 0 {
                        pk.push((k, col.clone()));
                    }
                    columns.push(Column { name: col, kind: sqlite_kind(&ty), sequence: false, always_identity: false });
                }
                pk.sort();
                for r in sqlx::query("SELECT \"table\" AS parent FROM pragma_foreign_key_list($1)").bind(&name).fetch_all(&mut **tx).await?
                {
                    edges.push((name.clone(), r.try_get::<String, _>("parent")?));
                }
                tables.push(Table { name, columns, pk: pk.into_iter().map(|(_, c)| c).collect() });
            }
        }
        Backend::Postgres => {
            let rows = sqlx::query(
                "SELECT c.relname::text AS tbl, a.attname::text AS col, \
                        format_type(a.atttypid, a.atttypmod)::text AS ty, \
                        a.attidentity::text AS identity, \
                        CASE WHEN pg_get_serial_sequence(quote_ident(c.relname), a.attname::text) IS NULL THEN 0 ELSE 1 END::bigint AS seq \
                 FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 JOIN pg_attribute a ON a.attrelid = c.oid \
                 WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition \
                   AND c.relname <> '_sqlx_migrations' \
                   AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' \
                 ORDER BY c.relname, a.attnum",
            )
            .fetch_all(&mut **tx)
            .await?;
            let mut by_name: BTreeMap<String, Table> = BTreeMap::new();
            for r in rows {
                let tbl: String = r.try_get("tbl")?;
                let col: String = r.try_get("col")?;
                let ty: String = r.try_get("ty")?;
                let identity: String = r.try_get("identity")?;
                let seq: i64 = r.try_get("seq")?;
                let kind = postgres_kind(&ty).ok_or_else(|| BackupError::Unsupported {
                    table: tbl.clone(),
                    column: col.clone(),
                    ty: ty.clone(),
                })?;
                by_name.entry(tbl.clone()).or_insert_with(|| Table { name: tbl, columns: vec![], pk: vec![] }).columns.push(Column {
                    name: col,
                    kind,
                    sequence: seq == 1 || !identity.is_empty(),
                    always_identity: identity == "a",
                });
            }
            for r in sqlx::query(
                "SELECT c.relname::text AS tbl, a.attname::text AS col \
                 FROM pg_constraint con \
                 JOIN pg_class c ON c.oid = con.conrelid \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord) \
                 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum \
                 WHERE con.contype = 'p' AND n.nspname = current_schema() \
                 ORDER BY c.relname, k.ord",
            )
            .fetch_all(&mut **tx)
            .await?
            {
                let tbl: String = r.try_get("tbl")?;
                if let Some(t) = by_name.get_mut(&tbl) {
                    t.pk.push(r.try_get("col")?);
                }
            }
            for r in sqlx::query(
                "SELECT c.relname::text AS child, p.relname::text AS parent \
                 FROM pg_constraint con \
                 JOIN pg_class c ON c.oid = con.conrelid \
                 JOIN pg_class p ON p.oid = con.confrelid \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE con.contype = 'f' AND n.nspname = current_schema()",
            )
            .fetch_all(&mut **tx)
            .await?
            {
                edges.push((r.try_get("child")?, r.try_get("parent")?));
            }
            tables = by_name.into_values().collect();
        }
    }
    Ok(parents_first(tables, &edges))
}

async fn applied_migrations(tx: &mut Transaction<'static, Any>) -> Result<Vec<i64>, BackupError> {
    Ok(sqlx::query("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| r.try_get::<i64, _>("version"))
        .collect::<sqlx::Result<_>>()?)
}

/// One cell of a fetched row as portable JSON.
fn cell(row: &AnyRow, i: usize) -> sqlx::Result<Value> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let kind = raw.type_info().kind();
    Ok(match kind {
        AnyTypeInfoKind::Null => Value::Null,
        AnyTypeInfoKind::Bool => Value::Bool(row.try_get(i)?),
        AnyTypeInfoKind::SmallInt | AnyTypeInfoKind::Integer | AnyTypeInfoKind::BigInt => Value::from(row.try_get::<i64, _>(i)?),
        AnyTypeInfoKind::Real => float(row.try_get::<f32, _>(i)? as f64),
        AnyTypeInfoKind::Double => float(row.try_get::<f64, _>(i)?),
        AnyTypeInfoKind::Text => Value::String(row.try_get(i)?),
        AnyTypeInfoKind::Blob => json!({"base64": BASE64.encode(row.try_get::<Vec<u8>, _>(i)?)}),
    })
}

fn float(f: f64) -> Value {
    match serde_json::Number::from_f64(f) {
        Some(n) => Value::Number(n),
        None if f.is_nan() => json!({"float": "NaN"}),
        None if f > 0.0 => json!({"float": "inf"}),
        None => json!({"float": "-inf"}),
    }
}

/// Binds a keyset value (a primary-key cell of the last row).
fn bind_key<'q>(q: Query<'q, Any, AnyArguments>, v: &Value) -> Query<'q, Any, AnyArguments> {
    match v {
        Value::Number(n) if n.is_i64() => q.bind(n.as_i64()),
        Value::Number(n) => q.bind(n.as_f64()),
        Value::Bool(b) => q.bind(*b),
        Value::String(s) => q.bind(s.clone()),
        _ => q.bind(None::<String>),
    }
}

/// The first line (fields in this order, so `head -1 FILE` reads well).
#[derive(serde::Serialize)]
struct Header<'a> {
    format: &'a str,
    version: i64,
    created_at: String,
    backend: &'a str,
    migrations: &'a [i64],
    tables: Vec<&'a str>,
}

/// The line opening a table's rows.
#[derive(serde::Serialize)]
struct TableLine<'a> {
    table: &'a str,
    columns: &'a [&'a str],
}

struct Writer {
    out: BufWriter<File>,
    tmp: PathBuf,
}

impl Writer {
    fn line(&mut self, v: &impl serde::Serialize) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.out, v)?;
        self.out.write_all(b"\n")
    }
}

impl Store {
    /// Writes a consistent snapshot of every data table to `path` (see the module doc for the
    /// format); the server may keep writing meanwhile.
    pub async fn backup(&self, path: &Path) -> Result<BackupSummary, BackupError> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".partial");
        let tmp = PathBuf::from(tmp);
        let file = File::create(&tmp).map_err(io(&tmp))?;
        let mut w = Writer { out: BufWriter::with_capacity(1 << 20, file), tmp };
        let result = self.backup_to(&mut w, path).await;
        if result.is_err() {
            let _ = std::fs::remove_file(&w.tmp);
        }
        result
    }

    async fn backup_to(&self, w: &mut Writer, path: &Path) -> Result<BackupSummary, BackupError> {
        let mut tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN").await?,
            Backend::Postgres => self.pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await?,
        };
        // SQLite: the first read pins the snapshot that every later read of `tx` sees.
        let tables = schema(&mut tx, self.backend).await?;
        let migrations = applied_migrations(&mut tx).await?;
        let tmp = w.tmp.clone();
        let backend = match self.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        };
        w.line(&Header {
            format: FORMAT,
            version: FORMAT_VERSION,
            created_at: now_rfc3339(),
            backend,
            migrations: &migrations,
            tables: tables.iter().map(|t| t.name.as_str()).collect(),
        })
        .map_err(io(&tmp))?;
        let mut counts: Vec<(String, u64)> = vec![];
        for t in &tables {
            let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
            w.line(&TableLine { table: &t.name, columns: &names }).map_err(io(&tmp))?;
            let cols = names.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", ");
            let pk_pos: Vec<usize> = t.pk.iter().filter_map(|k| names.iter().position(|n| n == k)).collect();
            let keyset = !t.pk.is_empty() && pk_pos.len() == t.pk.len();
            let order = if keyset { t.pk.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", ") } else { cols.clone() };
            let mut n: u64 = 0;
            let mut last: Option<Vec<Value>> = None;
            loop {
                let text = match (&last, keyset) {
                    (Some(_), true) => {
                        let params = (1..=t.pk.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
                        format!("SELECT {cols} FROM {} WHERE ({order}) > ({params}) ORDER BY {order} LIMIT {BATCH}", ident(&t.name))
                    }
                    (None, true) => format!("SELECT {cols} FROM {} ORDER BY {order} LIMIT {BATCH}", ident(&t.name)),
                    (_, false) => format!("SELECT {cols} FROM {} ORDER BY {order} LIMIT {BATCH} OFFSET {n}", ident(&t.name)),
                };
                let mut q = sqlx::query(AssertSqlSafe(text));
                if let (Some(key), true) = (&last, keyset) {
                    for v in key {
                        q = bind_key(q, v);
                    }
                }
                let rows = q.fetch_all(&mut *tx).await?;
                for r in &rows {
                    let vals = (0..names.len()).map(|i| cell(r, i)).collect::<sqlx::Result<Vec<_>>>()?;
                    w.line(&vals).map_err(io(&tmp))?;
                    if keyset {
                        last = Some(pk_pos.iter().map(|&i| vals[i].clone()).collect());
                    }
                }
                n += rows.len() as u64;
                if (rows.len() as i64) < BATCH {
                    break;
                }
            }
            counts.push((t.name.clone(), n));
        }
        let end: Map<String, Value> = counts.iter().map(|(t, n)| (t.clone(), Value::from(*n))).collect();
        w.line(&json!({ "end": end })).map_err(io(&tmp))?;
        tx.commit().await?;
        w.out.flush().map_err(io(&tmp))?;
        w.out.get_ref().sync_all().map_err(io(&tmp))?;
        let bytes = w.out.get_ref().metadata().map_err(io(&tmp))?.len();
        std::fs::rename(&tmp, path).map_err(io(path))?;

        let mut tx = self.write_tx().await?;
        self.audit(
            &mut tx,
            &Actor::system(),
            "backup",
            "database",
            None,
            json!({"file": path.display().to_string(), "rows": end, "migrations": migrations}),
        )
        .await?;
        tx.commit().await?;
        Ok(BackupSummary { path: path.to_path_buf(), backend: self.backend, migrations, tables: counts, bytes })
    }

    /// Rebuilds this database from the backup at `path` (see the module doc). The database
    /// must be empty unless `force`, which erases its data first. All or nothing.
    pub async fn restore(&self, path: &Path, force: bool) -> Result<RestoreSummary, BackupError> {
        self.migrate().await.map_err(BackupError::Migrate)?;
        let file = File::open(path).map_err(io(path))?;
        let mut lines = Lines { inner: BufReader::with_capacity(1 << 20, file), path: path.to_path_buf(), number: 0, buf: String::new() };
        let header = match lines.next_json()? {
            Some(Value::Object(h)) => h,
            _ => return Err(lines.error("not a Rapport backup (the first line is not its header)")),
        };
        if header.get("format").and_then(Value::as_str) != Some(FORMAT) {
            return Err(lines.error(format!("not a Rapport backup (expected \"format\": \"{FORMAT}\")")));
        }
        let version = header.get("version").and_then(Value::as_i64).unwrap_or(0);
        if version < 1 || version > FORMAT_VERSION {
            return Err(lines.error(format!(
                "backup format version {version} is not supported (this binary reads up to {FORMAT_VERSION}); use a newer Rapport"
            )));
        }
        let str_list =
            |key: &str| -> Option<Vec<String>> { header.get(key)?.as_array()?.iter().map(|v| v.as_str().map(str::to_string)).collect() };
        let Some(backup_tables) = str_list("tables") else {
            return Err(lines.error("the header has no \"tables\" list"));
        };
        let Some(backup_migrations) =
            header.get("migrations").and_then(Value::as_array).and_then(|a| a.iter().map(Value::as_i64).collect::<Option<Vec<_>>>())
        else {
            return Err(lines.error("the header has no \"migrations\" list"));
        };
        let source_backend = header.get("backend").and_then(Value::as_str).unwrap_or("unknown").to_string();
        let created_at = header.get("created_at").and_then(Value::as_str).unwrap_or("").to_string();

        let mut tx = self.bulk_tx().await?;
        let known = applied_migrations(tx.sqlx()?).await?;
        let unknown: Vec<i64> = backup_migrations.iter().filter(|v| !known.contains(v)).copied().collect();
        if !unknown.is_empty() {
            return Err(BackupError::NewerSchema { unknown, known: known.last().copied().unwrap_or(0) });
        }
        let tables = schema(tx.sqlx()?, self.backend).await?;
        let by_name: HashMap<&str, &Table> = tables.iter().map(|t| (t.name.as_str(), t)).collect();
        for (i, name) in backup_tables.iter().enumerate() {
            if !by_name.contains_key(name.as_str()) {
                return Err(lines.error(format!("table {name} (number {} in the header) does not exist in this database", i + 1)));
            }
        }

        if !force {
            let mut full = vec![];
            for t in &tables {
                if SEEDED_TABLES.contains(&t.name.as_str()) {
                    continue;
                }
                let q = format!("SELECT 1 AS one FROM {} LIMIT 1", ident(&t.name));
                if sqlx::query(AssertSqlSafe(q)).fetch_optional(&mut **tx.sqlx()?).await?.is_some() {
                    full.push(t.name.clone());
                }
            }
            if !full.is_empty() {
                return Err(BackupError::NotEmpty { tables: full });
            }
        }
        if self.backend == Backend::Sqlite {
            // Checked at commit instead of per statement (resets itself when `tx` ends).
            sqlx::query("PRAGMA defer_foreign_keys = ON").execute(&mut **tx.sqlx()?).await?;
        }
        // Children first. Without `force` only the backup's own tables are emptied, which are
        // empty already or hold the rows migrations seeded.
        for t in tables.iter().rev() {
            if force || backup_tables.contains(&t.name) {
                sqlx::query(AssertSqlSafe(format!("DELETE FROM {}", ident(&t.name)))).execute(&mut **tx.sqlx()?).await?;
            }
        }
        // On PostgreSQL each order's trigger recounts its person's statistics, a few ms an order
        // inside one long transaction: 185 s of a 206 s restore of 20,000 people. They are
        // recounted once at the end instead (the switch is part of this transaction).
        if self.backend == Backend::Postgres {
            sqlx::query("ALTER TABLE orders DISABLE TRIGGER orders_stats").execute(&mut **tx.sqlx()?).await?;
        }

        let mut counts: Vec<(String, u64)> = vec![];
        let mut expected_next = 0usize;
        let mut current: Option<Loader> = None;
        let end = loop {
            let Some(v) = lines.next_json()? else {
                return Err(
                    lines.error(format!("the file ends without its end line after {} lines: the backup is truncated", lines.number))
                );
            };
            match v {
                Value::Array(row) => {
                    let Some(l) = current.as_mut() else {
                        return Err(lines.error("a row before any table line"));
                    };
                    if row.len() != l.columns.len() {
                        return Err(lines.error(format!(
                            "a row of {} has {} values, its table line names {} columns",
                            l.table.name,
                            row.len(),
                            l.columns.len()
                        )));
                    }
                    l.push(row, &lines)?;
                    if l.full() {
                        l.flush(tx.sqlx()?, self.backend, &lines).await?;
                    }
                }
                Value::Object(o) if o.contains_key("table") => {
                    if let Some(mut l) = current.take() {
                        l.flush(tx.sqlx()?, self.backend, &lines).await?;
                        counts.push((l.table.name.clone(), l.rows));
                    }
                    let name = o.get("table").and_then(Value::as_str).unwrap_or("");
                    if backup_tables.get(expected_next).map(String::as_str) != Some(name) {
                        return Err(lines.error(format!(
                            "table {name} is not the next table the header lists ({})",
                            backup_tables.get(expected_next).map(String::as_str).unwrap_or("none left")
                        )));
                    }
                    expected_next += 1;
                    let table = by_name[name];
                    let Some(names) = o.get("columns").and_then(Value::as_array) else {
                        return Err(lines.error(format!("table {name} has no \"columns\" list")));
                    };
                    let mut columns = vec![];
                    for c in names {
                        let c = c.as_str().unwrap_or("");
                        let Some(col) = table.columns.iter().find(|k| k.name == c) else {
                            return Err(lines.error(format!("column {name}.{c} does not exist in this database")));
                        };
                        columns.push(col.clone());
                    }
                    current = Some(Loader { table: table.clone(), columns, pending: vec![], rows: 0 });
                }
                Value::Object(o) if o.contains_key("end") => {
                    if let Some(mut l) = current.take() {
                        l.flush(tx.sqlx()?, self.backend, &lines).await?;
                        counts.push((l.table.name.clone(), l.rows));
                    }
                    break o;
                }
                _ => return Err(lines.error("expected a row (JSON array), a table line or the end line")),
            }
        };
        let end_line = lines.number;
        let declared = end.get("end").and_then(Value::as_object).cloned().unwrap_or_default();
        if expected_next != backup_tables.len() {
            return Err(lines.error(format!("the end line comes before table {}, which the header lists", backup_tables[expected_next])));
        }
        for (name, n) in &counts {
            let want = declared.get(name).and_then(Value::as_u64);
            if want != Some(*n) {
                return Err(lines.error(format!(
                    "table {name} has {n} rows in the file but the end line says {}: the backup is damaged",
                    want.map(|w| w.to_string()).unwrap_or_else(|| "nothing".into())
                )));
            }
        }
        if lines.next_json()?.is_some() {
            return Err(lines.error(format!("data after the end line (line {end_line})")));
        }

        if self.backend == Backend::Postgres {
            for t in &tables {
                for c in t.columns.iter().filter(|c| c.sequence) {
                    let q = format!(
                        "SELECT setval(pg_get_serial_sequence($1, $2), COALESCE((SELECT MAX({col}) FROM {tbl}), 0) + 1, false)",
                        col = ident(&c.name),
                        tbl = ident(&t.name),
                    );
                    sqlx::query(AssertSqlSafe(q)).bind(ident(&t.name)).bind(c.name.clone()).execute(&mut **tx.sqlx()?).await?;
                }
            }
        }
        // Sync order goes on after the restored rows: SQLite's counter continues past their
        // numbers; on PostgreSQL, whose numbers are transaction ids, rows numbered at or past this
        // transaction (restored from another database) restart at 0. Sync clients start again
        // from `updated_since` after a restore. Every record table the machinery keeps counts.
        let tables: Vec<&str> = crate::records::engine::SPECS.iter().map(|t| t.plural).collect();
        let resume = match self.backend {
            Backend::Sqlite => {
                let seqs: Vec<String> = tables.iter().map(|t| format!("SELECT MAX(change_seq) AS n FROM {t}")).collect();
                let top = format!("(SELECT MAX(n) FROM ({} UNION ALL SELECT MAX(seq) FROM change_clock) s)", seqs.join(" UNION ALL "));
                vec![format!("UPDATE change_clock SET seq = {top} WHERE seq < {top}")]
            }
            Backend::Postgres => tables
                .iter()
                .map(|t| format!("UPDATE {t} SET change_seq = 0 WHERE change_seq >= pg_current_xact_id()::text::bigint"))
                .collect(),
        };
        for q in resume {
            sqlx::query(AssertSqlSafe(q)).execute(&mut **tx.sqlx()?).await?;
        }
        if self.backend == Backend::Postgres {
            sqlx::query("ALTER TABLE orders ENABLE TRIGGER orders_stats").execute(&mut **tx.sqlx()?).await?;
        }
        // Summaries follow the restored rows, whether or not the backup held them.
        crate::sales::order_stats::rebuild(&mut tx).await.map_err(BackupError::Store)?;
        crate::sales::monthly_sales::rebuild(&mut tx).await.map_err(BackupError::Store)?;
        crate::service::daily::rebuild(&mut tx).await.map_err(BackupError::Store)?;
        let rows: Map<String, Value> = counts.iter().map(|(t, n)| (t.clone(), Value::from(*n))).collect();
        self.audit(
            &mut tx,
            &Actor::system(),
            "restore",
            "database",
            None,
            json!({
                "file": path.display().to_string(),
                "backup_created_at": created_at,
                "backup_backend": source_backend,
                "forced": force,
                "rows": rows,
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(RestoreSummary { path: path.to_path_buf(), source_backend, created_at, tables: counts, wiped: force })
    }
}

/// The backup file, one JSON value per line, counting lines for error messages.
struct Lines {
    inner: BufReader<File>,
    path: PathBuf,
    number: u64,
    buf: String,
}

impl Lines {
    fn error(&self, message: impl Into<String>) -> BackupError {
        BackupError::Format { path: self.path.clone(), line: self.number.max(1), message: message.into() }
    }

    /// The next line's value, or `None` at the end of the file.
    fn next_json(&mut self) -> Result<Option<Value>, BackupError> {
        self.buf.clear();
        let n = self.inner.read_line(&mut self.buf).map_err(|e| BackupError::Format {
            path: self.path.clone(),
            line: self.number + 1,
            message: format!("cannot read: {e}"),
        })?;
        if n == 0 {
            return Ok(None);
        }
        self.number += 1;
        if !self.buf.ends_with('\n') {
            return Err(self.error("the line is cut off (no line end): the backup is truncated"));
        }
        serde_json::from_str(&self.buf).map(Some).map_err(|e| self.error(format!("not valid JSON ({e}): the backup is corrupt")))
    }
}

#[cfg(test)]
mod tests {
    use super::load::{Bound, convert};
    use super::*;

    fn table(name: &str) -> Table {
        Table { name: name.into(), columns: vec![], pk: vec![] }
    }

    #[test]
    fn both_engines_know_the_same_migrations() {
        // A backup names its migrations, and a restore refuses one it does not know: a
        // migration that only one engine needs still gets its number on the other.
        let versions = |m: &sqlx::migrate::Migrator| m.iter().map(|m| m.version).collect::<Vec<_>>();
        assert_eq!(versions(&crate::SQLITE_MIGRATIONS), versions(&crate::POSTGRES_MIGRATIONS));
    }

    #[test]
    fn tables_come_parents_first() {
        let edges = [
            ("customers", "companies"),
            ("customers", "users"),
            ("companies", "users"),
            ("customer_tags", "customers"),
            ("users", "users"),
            ("teams", "elsewhere"),
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()));
        let order: Vec<String> = parents_first(["customer_tags", "customers", "companies", "users", "teams"].map(table).into(), &edges)
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(order, ["teams", "users", "companies", "customers", "customer_tags"]);
        // A cycle still yields every table once.
        let cycle = [("a", "b"), ("b", "a")].map(|(a, b)| (a.to_string(), b.to_string()));
        assert_eq!(parents_first(["b", "a"].map(table).into(), &cycle).len(), 2);
    }

    #[test]
    fn floats_json_cannot_hold_are_tagged_and_come_back() {
        for f in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.1 + 0.2, -0.0, 1e300] {
            let v = float(f);
            let text = v.to_string();
            let back: Value = serde_json::from_str(&text).unwrap();
            let Ok(Bound::Real(Some(g))) = convert(Kind::Real, back) else {
                panic!("{text} did not convert");
            };
            assert!(g.to_bits() == f.to_bits() || (f.is_nan() && g.is_nan()), "{f} came back as {g}");
        }
    }

    #[test]
    fn values_take_their_target_column_type() {
        assert!(matches!(convert(Kind::Int, Value::Null), Ok(Bound::Int(None))));
        assert!(matches!(convert(Kind::Text, Value::Null), Ok(Bound::Text(None))));
        assert!(matches!(convert(Kind::Real, json!(3)), Ok(Bound::Real(Some(3.0)))));
        assert!(matches!(convert(Kind::Int, json!(4.0)), Ok(Bound::Int(Some(4)))));
        assert!(matches!(convert(Kind::Bool, json!(1)), Ok(Bound::Bool(Some(true)))));
        assert!(matches!(
            convert(Kind::Blob, json!({"base64": "AAE="})),
            Ok(Bound::Blob(Some(b))) if b == [0, 1]
        ));
        let err = convert(Kind::Int, json!("seven")).unwrap_err();
        assert!(err.contains("\"seven\""), "{err}");
        assert!(convert(Kind::Text, json!(7)).is_err());
    }
}
