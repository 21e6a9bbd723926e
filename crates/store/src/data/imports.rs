//! Import jobs (issue 13 §2): what `POST /api/v1/imports` started, its progress while it runs,
//! every problem with its line and column, the rows it rejected, and saved column mappings.
//! The rows themselves are written by the batch path ([`super::batch`]) as the job's creator.

use rapport_domain::now_rfc3339;
use rapport_domain::permissions::{Action, Actor, Object, require};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::row::Row;
use crate::sql::{Arg, Sql, sql};
use crate::{Error, Result, Store, bulk};

/// An import job as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportJob {
    /// Identifier.
    pub id: i64,
    /// The record type (`customers`…).
    pub kind: String,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    /// `all_or_nothing` or `best_effort`.
    pub mode: String,
    /// Checked only, nothing written.
    pub dry_run: bool,
    /// The uploaded file's name, if given.
    pub file_name: Option<String>,
    /// The file's column headers (CSV).
    pub headers: Vec<String>,
    /// Who started it.
    pub created_by: Option<i64>,
    /// When (RFC 3339 UTC).
    pub created_at: String,
    /// Last progress.
    pub updated_at: String,
    /// When it ended.
    pub finished_at: Option<String>,
    /// Rows read so far.
    pub rows: i64,
    /// Records created.
    pub created: i64,
    /// Records updated.
    pub updated: i64,
    /// Rows rejected.
    pub rejected: i64,
    /// Bytes of the file read.
    pub bytes: i64,
    /// The file's size.
    pub total_bytes: i64,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// What it did, once done.
    pub summary: Option<Value>,
}

/// Counts of a running import.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportCounts {
    /// Rows read.
    pub rows: u64,
    /// Created.
    pub created: u64,
    /// Updated.
    pub updated: u64,
    /// Rejected.
    pub rejected: u64,
    /// Bytes read.
    pub bytes: u64,
    /// File size.
    pub total_bytes: u64,
}

/// One problem as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredProblem {
    /// Its id (the cursor of the problem list).
    pub id: i64,
    /// The line of the file.
    pub line: i64,
    /// The column's header.
    pub column: Option<String>,
    /// The field.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// An import job that has not ended, with what running it needs.
#[derive(Debug, Clone)]
pub struct Unfinished {
    /// Identifier.
    pub id: i64,
    /// The record type.
    pub kind: String,
    /// Who started it: the job runs as them.
    pub created_by: Option<i64>,
    /// The options it was started with, as its runner stored them.
    pub options: Value,
    /// The uploaded file.
    pub spool_path: String,
}

/// A saved column mapping.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportMapping {
    /// Identifier.
    pub id: i64,
    /// The record type it maps to.
    pub kind: String,
    /// Its name, unique per type.
    pub name: String,
    /// Column header → field path.
    pub mapping: std::collections::BTreeMap<String, String>,
    /// Last saved (RFC 3339 UTC).
    pub updated_at: String,
}

const JOB_COLS: &str = "id, kind, status, mode, dry_run, file_name, headers, created_by, created_at, updated_at, finished_at, rows_read, created, updated, rejected, bytes_read, total_bytes, error, summary";

fn job(r: &dyn Row) -> Result<ImportJob> {
    Ok(ImportJob {
        id: r.get("id")?,
        kind: r.get("kind")?,
        status: r.get("status")?,
        mode: r.get("mode")?,
        dry_run: r.get::<i64>("dry_run")? == 1,
        file_name: r.get("file_name")?,
        headers: serde_json::from_str(&r.get::<String>("headers")?).unwrap_or_default(),
        created_by: r.get("created_by")?,
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
        finished_at: r.get("finished_at")?,
        rows: r.get("rows_read")?,
        created: r.get("created")?,
        updated: r.get("updated")?,
        rejected: r.get("rejected")?,
        bytes: r.get("bytes_read")?,
        total_bytes: r.get("total_bytes")?,
        error: r.get("error")?,
        summary: r.get::<Option<String>>("summary")?.and_then(|s| serde_json::from_str(&s).ok()),
    })
}

/// The permission object of a kind of import.
pub fn import_object(kind: &str) -> Option<Object> {
    super::export::exportable(kind).map(|s| s.object)
}

impl Store {
    /// Records a new import job of `kind` by `actor`, who must be allowed to create such
    /// records; its id. `options` and `spool_path` (the uploaded file) are what another
    /// server needs to take the job up if this one dies ([`Store::unfinished_imports`]).
    #[allow(clippy::too_many_arguments)]
    pub async fn create_import(
        &self,
        actor: &Actor,
        kind: &str,
        mode: &str,
        dry_run: bool,
        file_name: Option<String>,
        total_bytes: u64,
        options: &Value,
        spool_path: &str,
    ) -> Result<i64> {
        require(actor, import_object(kind).ok_or(Error::NotFound)?, Action::Create)?;
        let now = now_rfc3339();
        let mut tx = self.write_tx().await?;
        let id = tx
            .fetch_one(
                &sql(
                    "INSERT INTO imports (kind, status, mode, dry_run, file_name, created_by, created_at, updated_at, total_bytes, options, spool_path) \
                     VALUES (?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    [
                        kind.into(),
                        mode.into(),
                        i64::from(dry_run).into(),
                        file_name.into(),
                        actor.user_id.into(),
                        now.clone().into(),
                        now.into(),
                        (total_bytes as i64).into(),
                        options.to_string().into(),
                        spool_path.into(),
                    ],
                ),
                |r| r.get::<i64>("id"),
            )
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Saves a running import's progress with the problems and rejected rows found since the
    /// last call (cells sealed: they hold what the rows held).
    pub async fn import_progress(
        &self,
        id: i64,
        status: &str,
        counts: ImportCounts,
        headers: Option<&[String]>,
        problems: &[(u64, Option<String>, Option<String>, String)],
        rejects: &[(u64, Vec<String>, String)],
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let mut q = Sql::new("UPDATE imports SET status = ");
        q.arg(status).push(", updated_at = ").arg(now_rfc3339());
        for (col, v) in [
            ("rows_read", counts.rows),
            ("created", counts.created),
            ("updated", counts.updated),
            ("rejected", counts.rejected),
            ("bytes_read", counts.bytes),
            ("total_bytes", counts.total_bytes),
        ] {
            q.push(&format!(", {col} = ")).arg(v as i64);
        }
        if let Some(h) = headers {
            q.push(", headers = ").arg(serde_json::to_string(h).unwrap_or_default());
        }
        q.push(" WHERE id = ").arg(id);
        tx.execute(&q).await?;
        let backend = tx.backend;
        let head = "INSERT INTO import_problems (import_id, line, column_name, field, message) VALUES ";
        for q in bulk::inserts(backend, head, "", 5, problems, |(line, col, field, m)| {
            [Arg::from(id), Arg::from(*line as i64), Arg::from(col.clone()), Arg::from(field.clone()), Arg::from(m.clone())]
        }) {
            tx.execute(&q).await?;
        }
        let head = "INSERT INTO import_rejects (import_id, line, cells, reasons) VALUES ";
        for q in bulk::inserts(backend, head, "", 4, rejects, |(line, cells, reasons)| {
            [
                Arg::from(id),
                Arg::from(*line as i64),
                Arg::from(self.seal(&serde_json::to_string(cells).unwrap_or_default())),
                Arg::from(reasons.clone()),
            ]
        }) {
            tx.execute(&q).await?;
        }
        tx.commit().await
    }

    /// Imports that are queued or running by their record, with their uploaded file: those of a
    /// server that stopped are among them (the caller tells them apart by their lease).
    pub async fn unfinished_imports(&self) -> Result<Vec<Unfinished>> {
        let q = sql(
            "SELECT id, kind, created_by, options, spool_path FROM imports \
             WHERE status IN ('queued', 'running') AND spool_path IS NOT NULL ORDER BY id",
            [],
        );
        self.read(&q, |r| {
            Ok(Unfinished {
                id: r.get("id")?,
                kind: r.get("kind")?,
                created_by: r.get("created_by")?,
                options: r.get::<Option<String>>("options")?.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or(Value::Null),
                spool_path: r.get("spool_path")?,
            })
        })
        .await
    }

    /// Starts import `id` over: its counts, problems and rejected rows are recounted by the run
    /// that takes it up (the rows it wrote stay, and that run replays their chunks).
    pub async fn restart_import(&self, id: i64) -> Result<()> {
        let mut tx = self.write_tx().await?;
        tx.execute(&sql("DELETE FROM import_problems WHERE import_id = ?", [id.into()])).await?;
        tx.execute(&sql("DELETE FROM import_rejects WHERE import_id = ?", [id.into()])).await?;
        tx.execute(&sql(
            "UPDATE imports SET status = 'running', rows_read = 0, created = 0, updated = 0, rejected = 0, bytes_read = 0, updated_at = ? WHERE id = ?",
            [now_rfc3339().into(), id.into()],
        ))
        .await?;
        tx.commit().await
    }

    /// Ends an import: `done` with its summary, or `failed` with why; its checkpoints go.
    pub async fn finish_import(&self, id: i64, status: &str, error: Option<String>, summary: Option<Value>) -> Result<()> {
        let now = now_rfc3339();
        let mut tx = self.write_tx().await?;
        tx.execute(&sql(
            "UPDATE imports SET status = ?, error = ?, summary = ?, finished_at = ?, updated_at = ? WHERE id = ?",
            [status.into(), error.into(), summary.map(|s| s.to_string()).into(), now.clone().into(), now.into(), id.into()],
        ))
        .await?;
        // Its chunk checkpoints: nothing resumes a finished import.
        let scope = crate::data::batch::Idempotency::import_chunk(id, 0, 0, String::new()).scope;
        tx.execute(&sql("DELETE FROM idempotency_keys WHERE scope = ?", [scope.into()])).await?;
        tx.commit().await
    }

    /// Import `id`, to the user who started it or an admin of imports (who may create the
    /// records it imports and assign them).
    pub async fn get_import(&self, actor: &Actor, id: i64) -> Result<ImportJob> {
        let found = self.read_optional(&sql(&format!("SELECT {JOB_COLS} FROM imports WHERE id = ?"), [id.into()]), job).await?;
        let j = found.ok_or(Error::NotFound)?;
        let object = import_object(&j.kind).ok_or(Error::NotFound)?;
        if actor.user_id.is_some() && j.created_by != actor.user_id && !actor.may_assign(object) {
            return Err(Error::NotFound);
        }
        require(actor, object, Action::Read)?;
        Ok(j)
    }

    /// Up to `limit` problems of import `id` after problem `after`, in line order.
    pub async fn import_problems(&self, actor: &Actor, id: i64, after: i64, limit: i64) -> Result<Vec<StoredProblem>> {
        self.get_import(actor, id).await?;
        let q = sql(
            "SELECT id, line, column_name, field, message FROM import_problems WHERE import_id = ? AND id > ? ORDER BY id LIMIT ?",
            [id.into(), after.into(), limit.into()],
        );
        self.read(&q, |r| {
            Ok(StoredProblem {
                id: r.get("id")?,
                line: r.get("line")?,
                column: r.get("column_name")?,
                field: r.get("field")?,
                message: r.get("message")?,
            })
        })
        .await
    }

    /// Up to `limit` rejected rows of import `id` after row `after`: (id, line, cells, reasons).
    pub async fn import_rejects(&self, actor: &Actor, id: i64, after: i64, limit: i64) -> Result<Vec<(i64, i64, Vec<String>, String)>> {
        self.get_import(actor, id).await?;
        let q = sql(
            "SELECT id, line, cells, reasons FROM import_rejects WHERE import_id = ? AND id > ? ORDER BY id LIMIT ?",
            [id.into(), after.into(), limit.into()],
        );
        self.read(&q, |r| {
            let cells = self.open(r.get::<String>("cells")?)?;
            Ok((r.get("id")?, r.get("line")?, serde_json::from_str(&cells).unwrap_or_default(), r.get("reasons")?))
        })
        .await
    }

    /// Saves (or replaces) the mapping `name` of `kind`; needs the right to create such records.
    pub async fn save_import_mapping(
        &self,
        actor: &Actor,
        kind: &str,
        name: &str,
        mapping: &std::collections::BTreeMap<String, String>,
    ) -> Result<ImportMapping> {
        require(actor, import_object(kind).ok_or(Error::NotFound)?, Action::Create)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(Error::Invalid(rapport_domain::ValidationErrors::single("name", "must have 1 to 100 characters")));
        }
        let now = now_rfc3339();
        let text = serde_json::to_string(mapping).unwrap_or_default();
        let mut tx = self.write_tx().await?;
        let id = tx
            .fetch_one(
                &sql(
                    "INSERT INTO import_mappings (kind, name, mapping, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) \
                     ON CONFLICT (kind, name) DO UPDATE SET mapping = excluded.mapping, updated_at = excluded.updated_at RETURNING id",
                    [kind.into(), name.into(), text.into(), actor.user_id.into(), now.clone().into(), now.clone().into()],
                ),
                |r| r.get::<i64>("id"),
            )
            .await?;
        tx.commit().await?;
        Ok(ImportMapping { id, kind: kind.into(), name: name.into(), mapping: mapping.clone(), updated_at: now })
    }

    /// The saved mappings of `kind` (every kind when `None`), by name.
    pub async fn import_mappings(&self, actor: &Actor, kind: Option<&str>) -> Result<Vec<ImportMapping>> {
        let mut q = Sql::new("SELECT id, kind, name, mapping, updated_at FROM import_mappings WHERE 1 = 1");
        if let Some(k) = kind {
            require(actor, import_object(k).ok_or(Error::NotFound)?, Action::Read)?;
            q.push(" AND kind = ").arg(k);
        }
        q.push(" ORDER BY kind, name");
        self.read(&q, |r| {
            Ok(ImportMapping {
                id: r.get("id")?,
                kind: r.get("kind")?,
                name: r.get("name")?,
                mapping: serde_json::from_str(&r.get::<String>("mapping")?).unwrap_or_default(),
                updated_at: r.get("updated_at")?,
            })
        })
        .await
    }

    /// Saved mapping `id`.
    pub async fn import_mapping(&self, actor: &Actor, id: i64) -> Result<ImportMapping> {
        self.import_mappings(actor, None).await?.into_iter().find(|m| m.id == id).ok_or(Error::NotFound)
    }
}
