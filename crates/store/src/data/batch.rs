//! Batch writes (issue 13 §1): many creates, updates and upserts of one record type in one
//! call, each through the record machinery's own paths (checks, hooks, one audit row and its
//! webhook events per record), with a result per record in order.
//!
//! Every record runs in a savepoint of the call's one transaction. `best_effort` keeps the
//! records that succeeded and rolls back only the failing ones; `all_or_nothing` rolls the whole
//! transaction back when any record fails, and says so for the records that would have
//! succeeded. An `Idempotency-Key` is stored with the request's hash and the response in the
//! same transaction as the writes, so a retry answers that response and writes nothing.

use rapport_domain::now_rfc3339;
use rapport_domain::permissions::{Actor, require};
use rapport_domain::record::Kind;
use rapport_domain::{FieldError, ValidationErrors};

use serde_json::{Value, json};

use crate::records::engine::{Checked, Table};
use crate::sql::{Sql, sql};
use crate::{Error, Result, Store, WriteTx};

/// What one record of a batch asks for.
pub enum BatchOp {
    /// A new record.
    Create,
    /// A change of record `id`; with `if_match`, refused when the record has moved on.
    Update {
        /// The record.
        id: i64,
        /// The version the client read.
        if_match: Option<i64>,
    },
    /// The live record whose unique field `field` holds `value` is changed; without one, a new
    /// record is made.
    Upsert {
        /// A unique field of the record type (`external_id`, `email`, `sku`).
        field: &'static str,
        /// Its value, normalized as the field stores it.
        value: String,
    },
}

/// Builds a record's data from its input: `None` when creating, the stored data when changing.
pub type Build<D> = Box<dyn Fn(Option<&D>) -> Result<D> + Send + Sync>;

/// One record of a batch: what to do, and how to build its data.
pub struct BatchItem<D> {
    /// What to do.
    pub op: BatchOp,
    /// Its data (or why the input is refused before anything is read).
    pub build: Build<D>,
}

/// All or nothing, or each record on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchMode {
    /// One failing record undoes the whole call.
    AllOrNothing,
    /// Each record is written or refused alone.
    BestEffort,
    /// Each record is checked as `BestEffort` writes it, and then everything is rolled back: an
    /// import's dry run.
    DryRun,
}

/// What became of one record.
#[derive(Debug)]
pub enum Done {
    /// Created with this id (version 1).
    Created(i64),
    /// Changed; its id and new version.
    Updated(i64, i64),
    /// Refused, with why.
    Failed(Error),
    /// Would have been written, but another record of an all-or-nothing call failed.
    RolledBack,
}

/// An `Idempotency-Key` and what it is stored under.
pub struct Idempotency {
    /// Who and where (`user 3 POST /api/v1/customers/batch`): keys are per user and path.
    pub scope: String,
    /// The client's key.
    pub key: String,
    /// A hash of the request body.
    pub hash: String,
}

/// The scope of an import job's chunk checkpoints (`import 12`). They answer for as long as the
/// job is unfinished, however long that is, and go when it ends.
const IMPORT_SCOPE: &str = "import ";

impl Idempotency {
    /// The checkpoint of chunk `chunk` of pass `pass` of import job `job`; `hash` names the rows.
    pub fn import_chunk(job: i64, pass: usize, chunk: u64, hash: String) -> Idempotency {
        Idempotency { scope: format!("{IMPORT_SCOPE}{job}"), key: format!("pass {pass} chunk {chunk}"), hash }
    }
}

/// New records of one bulk chunk after which PostgreSQL's statistics of the table are refreshed.
const ANALYZE_AFTER: usize = 1000;

/// How long a stored key answers retries (an import's checkpoints: until the import ends).
const KEEP_KEYS_SECS: i64 = 24 * 3600;

impl Store {
    /// The response stored for `idem`, if the key was used before with the same request; the
    /// same key with another request is refused (422 naming the header).
    pub async fn idempotent_response(&self, idem: &Idempotency) -> Result<Option<(u16, String)>> {
        let q = sql(
            "SELECT request_hash, status, response FROM idempotency_keys WHERE scope = ? AND idem_key = ? AND (created_at > ? OR scope LIKE ?)",
            [idem.scope.clone().into(), idem.key.clone().into(), keys_since().into(), format!("{IMPORT_SCOPE}%").into()],
        );
        let found = self
            .read_optional(&q, |r| Ok((r.get::<String>("request_hash")?, r.get::<i64>("status")?, r.get::<String>("response")?)))
            .await?;
        match found {
            None => Ok(None),
            Some((hash, status, body)) if hash == idem.hash => Ok(Some((status as u16, body))),
            Some(_) => Err(Error::Invalid(ValidationErrors(vec![FieldError {
                field: "Idempotency-Key".into(),
                message: "this key was already used with a different request body: send a new key for a new request".into(),
            }]))),
        }
    }

    /// Runs a batch of `T` records for `actor` (see the module's documentation). `render` turns
    /// the outcomes, in the items' order, into the response (status and body), which is stored
    /// with `idem` in the transaction that holds the writes.
    pub(crate) async fn batch_records<T: Table>(
        &self,
        actor: &Actor,
        items: Vec<BatchItem<T::Data>>,
        mode: BatchMode,
        idem: Option<&Idempotency>,
        bulk: bool,
        render: impl FnOnce(Vec<Done>) -> (u16, String) + Send,
    ) -> Result<(u16, String)> {
        let mut tx = self.write_tx().await?;
        // The change sequence is taken outside the records' savepoints: a record rolled back
        // must not undo the bump that the others are stamped with.
        tx.change_seq().await?;
        let done =
            if bulk { self.bulk_records::<T>(&mut tx, actor, items).await? } else { self.each_record::<T>(&mut tx, actor, items).await? };
        let failed = done.iter().any(|d| matches!(d, Done::Failed(_)));
        if failed && mode == BatchMode::AllOrNothing {
            drop(tx);
            let done = done.into_iter().map(|d| if matches!(d, Done::Failed(_)) { d } else { Done::RolledBack }).collect();
            let (status, body) = render(done);
            if let Some(idem) = idem {
                let mut tx = self.write_tx().await?;
                remember(&mut tx, actor, idem, status, &body).await?;
                tx.commit().await?;
            }
            return Ok((status, body));
        }
        let (status, body) = render(done);
        if mode == BatchMode::DryRun {
            return Ok((status, body));
        }
        if let Some(idem) = idem {
            remember(&mut tx, actor, idem, status, &body).await?;
        }
        tx.commit().await?;
        Ok((status, body))
    }

    /// Each record in its own savepoint, through the record machinery's own paths (one audit
    /// row and its webhook events per record).
    async fn each_record<T: Table>(&self, tx: &mut WriteTx, actor: &Actor, items: Vec<BatchItem<T::Data>>) -> Result<Vec<Done>> {
        let mut done = Vec::with_capacity(items.len());
        for item in items {
            done.push(self.in_savepoint::<T>(tx, actor, item).await?);
        }
        Ok(done)
    }

    /// One record in its own savepoint: its outcome, or a fault that ends the batch.
    async fn in_savepoint<T: Table>(&self, tx: &mut WriteTx, actor: &Actor, item: BatchItem<T::Data>) -> Result<Done> {
        tx.execute(&sql("SAVEPOINT batch_record", [])).await?;
        match self.batch_one::<T>(tx, actor, item).await {
            Ok(d) => {
                tx.execute(&sql("RELEASE SAVEPOINT batch_record", [])).await?;
                Ok(d)
            }
            Err(e @ (Error::Db(_) | Error::Sqlite(_) | Error::Crypto(_))) if !is_constraint(&e) => Err(e),
            Err(e) => {
                tx.execute(&sql("ROLLBACK TO SAVEPOINT batch_record", [])).await?;
                tx.execute(&sql("RELEASE SAVEPOINT batch_record", [])).await?;
                Ok(Done::Failed(e))
            }
        }
    }

    /// An import's chunk: the upsert keys of the whole chunk found in one query per key field,
    /// updates of existing records through the record machinery one by one (each audited), and
    /// the new records validated one by one but written in multi-row inserts, with one audit
    /// row for the chunk (`bulk_create`: count, first and last id) instead of one per record —
    /// a per-record audit row with the record's data doubled the bytes written per row. Webhook
    /// subscribers to `<object>.created` still get one event per record. When a multi-row
    /// insert is refused (a unique value taken by a row of the same chunk or the database),
    /// its rows are retried one by one so that only the offending ones fail.
    async fn bulk_records<T: Table>(&self, tx: &mut WriteTx, actor: &Actor, items: Vec<BatchItem<T::Data>>) -> Result<Vec<Done>> {
        use std::collections::{HashMap, HashSet};
        require(actor, T::SPEC.object, rapport_domain::permissions::Action::Create)?;
        let mut found: HashMap<(&'static str, String), i64> = HashMap::new();
        let mut wanted: HashMap<&'static str, Vec<String>> = HashMap::new();
        for item in &items {
            if let BatchOp::Upsert { field, value } = &item.op {
                wanted.entry(field).or_default().push(value.clone());
            }
        }
        for (field, values) in wanted {
            for (value, id) in self.find_keys::<T>(tx, field, &values).await? {
                found.insert((field, value), id);
            }
        }
        let sensitive = self.sensitive_of(Some(tx), T::SPEC).await?;
        let mut done: Vec<Option<Done>> = (0..items.len()).map(|_| None).collect();
        // New records waiting for their multi-row insert, and the keys they will take.
        let mut pending: Vec<(usize, T::Data)> = vec![];
        let mut taken: HashSet<(&'static str, String)> = HashSet::new();
        let mut created: Vec<i64> = vec![];
        for (index, item) in items.into_iter().enumerate() {
            let target = match &item.op {
                BatchOp::Create => None,
                BatchOp::Update { .. } => Some(()),
                BatchOp::Upsert { field, value } => {
                    let k = (*field, value.clone());
                    if taken.contains(&k) {
                        // A later row of the same key: the earlier one is written first, then
                        // this one updates it.
                        self.flush::<T>(tx, actor, &mut pending, &sensitive, &mut done, &mut created).await?;
                        for k in taken.drain() {
                            found.insert(k, 0);
                        }
                        Some(())
                    } else if found.contains_key(&k) {
                        Some(())
                    } else {
                        taken.insert(k);
                        None
                    }
                }
            };
            if target.is_some() {
                done[index] = Some(self.in_savepoint::<T>(tx, actor, item).await?);
                continue;
            }
            match (item.build)(None) {
                Ok(data) => pending.push((index, data)),
                Err(e) => done[index] = Some(Done::Failed(e)),
            }
        }
        self.flush::<T>(tx, actor, &mut pending, &sensitive, &mut done, &mut created).await?;
        if !created.is_empty() {
            let summary =
                json!({"count": created.len(), "first_id": created.iter().min(), "last_id": created.iter().max(), "source": "import"});
            crate::audit::write(tx, actor, "bulk_create", T::SPEC.name, None, self.seal(&summary.to_string())).await?;
        }
        if tx.backend == crate::Backend::Postgres && created.len() >= ANALYZE_AFTER {
            // PostgreSQL plans the next chunk's key lookup from the table's statistics, which
            // autovacuum refreshes only later: planned for an empty table it scanned every row
            // through an unrelated index, once per 250 keys, and an import slowed with each
            // chunk (100,000 people at 916 rows/s). ANALYZE samples a bounded number of rows.
            tx.execute(&sql(&format!("ANALYZE {}", T::SPEC.plural), [])).await?;
        }
        Ok(done.into_iter().map(|d| d.unwrap_or(Done::RolledBack)).collect())
    }

    /// Writes the pending new records of [`Store::bulk_records`] (see there).
    async fn flush<T: Table>(
        &self,
        tx: &mut WriteTx,
        actor: &Actor,
        pending: &mut Vec<(usize, T::Data)>,
        sensitive: &[String],
        done: &mut [Option<Done>],
        created: &mut Vec<i64>,
    ) -> Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(pending);
        let data: Vec<T::Data> = rows.iter().map(|(_, d)| d.clone()).collect();
        let events = rapport_domain::webhooks::events_of(T::SPEC.name, "create", &Value::Null);
        let mut subscribed = false;
        for e in &events {
            subscribed |= crate::webhooks::outbox::wanted(tx, e).await?;
        }
        tx.execute(&sql("SAVEPOINT bulk_rows", [])).await?;
        let written = async {
            let ids = self.insert_records::<T>(tx, actor, &data, sensitive, &mut Checked::default()).await?;
            for (id, d) in ids.iter().zip(&data) {
                T::after_insert(self, tx, actor, *id, d).await?;
                if subscribed {
                    crate::webhooks::outbox::emit_audited(self, tx, T::SPEC.name, "create", Some(*id), &json!({"after": d})).await?;
                }
            }
            Ok::<_, Error>(ids)
        }
        .await;
        match written {
            Ok(ids) => {
                tx.execute(&sql("RELEASE SAVEPOINT bulk_rows", [])).await?;
                for ((index, _), id) in rows.iter().zip(&ids) {
                    done[*index] = Some(Done::Created(*id));
                }
                created.extend(ids);
            }
            Err(e @ (Error::Db(_) | Error::Sqlite(_) | Error::Crypto(_))) if !is_constraint(&e) => return Err(e),
            Err(_) => {
                // Some row is refused: one by one, each in its own savepoint, to say which.
                tx.execute(&sql("ROLLBACK TO SAVEPOINT bulk_rows", [])).await?;
                tx.execute(&sql("RELEASE SAVEPOINT bulk_rows", [])).await?;
                for (index, d) in rows {
                    let item = BatchItem { op: BatchOp::Create, build: Box::new(move |_| Ok(d.clone())) };
                    done[index] = Some(self.in_savepoint::<T>(tx, actor, item).await?);
                }
            }
        }
        Ok(())
    }

    /// The live records of `T` whose unique `field` holds one of `values`: value → id.
    async fn find_keys<T: Table>(&self, tx: &mut WriteTx, field: &str, values: &[String]) -> Result<Vec<(String, i64)>> {
        let spec = T::SPEC;
        let Some(f) = spec.fields.iter().find(|f| f.name == field && f.unique && matches!(f.kind, Kind::Text | Kind::Email)) else {
            return Err(Error::Invalid(ValidationErrors::single(
                "upsert_key",
                format!("{} are not upserted by {field}", spec.label_plural),
            )));
        };
        let mut by_stored: std::collections::HashMap<String, String> = std::collections::HashMap::new();
        for v in values {
            let stored = if f.personal { self.email_key(v) } else { v.clone() };
            by_stored.insert(stored, v.clone());
        }
        let col = if f.personal { format!("{}_hash", f.column()) } else { f.column() };
        let keys: Vec<&String> = by_stored.keys().collect();
        let mut out = vec![];
        for part in keys.chunks(crate::sql::MAX_ARGS) {
            let mut q = Sql::new(&format!("SELECT id, {col} AS k FROM {} WHERE deleted_at IS NULL AND {col} IN (", spec.plural));
            for (i, k) in part.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                q.arg((*k).clone());
            }
            q.push(")");
            for (k, id) in tx.fetch_all(&q, |r| Ok((r.get::<String>("k")?, r.get::<i64>("id")?))).await? {
                if let Some(v) = by_stored.get(&k) {
                    out.push((v.clone(), id));
                }
            }
        }
        Ok(out)
    }

    async fn batch_one<T: Table>(&self, tx: &mut WriteTx, actor: &Actor, item: BatchItem<T::Data>) -> Result<Done> {
        let BatchItem { op, build } = item;
        let target = match op {
            BatchOp::Create => None,
            BatchOp::Update { id, if_match } => Some((id, if_match)),
            BatchOp::Upsert { field, value } => self.find_by_key::<T>(tx, field, &value).await?.map(|id| (id, None)),
        };
        match target {
            None => {
                let data = build(None)?;
                Ok(Done::Created(self.create_record_in::<T>(tx, actor, &data).await?))
            }
            Some((id, if_match)) => {
                let after = self.update_in::<T, _, Error>(tx, actor, id, if_match, |cur| build(Some(cur))).await?;
                Ok(Done::Updated(id, after.version()))
            }
        }
    }

    /// The live record of `T` whose unique `field` is `value` (personal fields compare their
    /// blind index), locked for the change on PostgreSQL.
    async fn find_by_key<T: Table>(&self, tx: &mut WriteTx, field: &str, value: &str) -> Result<Option<i64>> {
        let spec = T::SPEC;
        let Some(f) = spec.fields.iter().find(|f| f.name == field && f.unique && matches!(f.kind, Kind::Text | Kind::Email)) else {
            return Err(Error::Invalid(ValidationErrors::single(
                "upsert_key",
                format!("{} are not upserted by {field}", spec.label_plural),
            )));
        };
        let (col, arg) = if f.personal { (format!("{}_hash", f.column()), self.email_key(value)) } else { (f.column(), value.to_string()) };
        let mut q = Sql::new(&format!("SELECT id FROM {} WHERE {col} = ", spec.plural));
        q.arg(arg).push(" AND deleted_at IS NULL").push(self.backend.lock_rows());
        tx.fetch_optional(&q, |r| r.get::<i64>("id")).await
    }
}

/// Whether a database error is a refused row (a unique or reference constraint) rather than a
/// fault: such a record fails alone.
fn is_constraint(e: &Error) -> bool {
    match e {
        Error::Db(sqlx::Error::Database(db)) => db.is_unique_violation() || db.is_foreign_key_violation() || db.is_check_violation(),
        Error::Sqlite(rusqlite::Error::SqliteFailure(f, _)) => f.code == rusqlite::ErrorCode::ConstraintViolation,
        _ => false,
    }
}

fn keys_since() -> String {
    let t = chrono::Utc::now() - chrono::Duration::seconds(KEEP_KEYS_SECS);
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Stores a key with its request's hash and its response; a key taken meanwhile by a
/// concurrent request with the same key is a conflict (the client retries and gets the stored
/// response). Keys older than a day are dropped as new ones come.
async fn remember(tx: &mut WriteTx, actor: &Actor, idem: &Idempotency, status: u16, body: &str) -> Result<()> {
    tx.execute(&sql(
        "DELETE FROM idempotency_keys WHERE scope = ? AND idem_key = ? AND created_at <= ?",
        [idem.scope.clone().into(), idem.key.clone().into(), keys_since().into()],
    ))
    .await?;
    let q = sql(
        "INSERT INTO idempotency_keys (user_id, scope, idem_key, request_hash, status, response, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            actor.user_id.into(),
            idem.scope.clone().into(),
            idem.key.clone().into(),
            idem.hash.clone().into(),
            i64::from(status).into(),
            body.to_string().into(),
            now_rfc3339().into(),
        ],
    );
    tx.execute(&q).await.map_err(|e| {
        crate::unique_violation(
            e,
            &[(
                "idempotency_keys_key",
                "idempotency_keys.scope",
                "Idempotency-Key",
                "a request with this key is being processed: retry it shortly to get its response",
            )],
        )
    })?;
    Ok(())
}

#[cfg(test)]
mod checkpoint_tests {
    //! An import's chunk checkpoints answer a resumed job however long it was down (a request's
    //! key answers for a day), and go when the import ends.
    use super::Idempotency;
    use crate::Store;
    use crate::sql::sql;

    async fn check(store: Store) {
        store.migrate().await.expect("migrations");
        let chunk = Idempotency::import_chunk(7, 0, 3, "5000 records from line 15002".into());
        let request = Idempotency { scope: "user 1 POST /api/v1/customers/batch".into(), key: "k1".into(), hash: "h".into() };
        let two_days_ago = (chrono::Utc::now() - chrono::Duration::days(2)).to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let mut tx = store.write_tx().await.unwrap();
        for i in [&chunk, &request] {
            tx.execute(&sql(
                "INSERT INTO idempotency_keys (scope, idem_key, request_hash, status, response, created_at) VALUES (?, ?, ?, 200, '[]', ?)",
                [i.scope.clone().into(), i.key.clone().into(), i.hash.clone().into(), two_days_ago.clone().into()],
            ))
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        assert_eq!(
            store.idempotent_response(&chunk).await.unwrap(),
            Some((200, "[]".to_string())),
            "an import's checkpoint does not expire"
        );
        assert_eq!(store.idempotent_response(&request).await.unwrap(), None, "a request's key answers for a day");
        store.finish_import(7, "done", None, None).await.unwrap();
        assert_eq!(store.idempotent_response(&chunk).await.unwrap(), None, "a finished import's checkpoints go");
    }

    #[tokio::test]
    async fn import_checkpoints_last_until_the_import_ends_on_sqlite() {
        crate::test_db::on_sqlite("import_checkpoints", check).await;
    }

    #[tokio::test]
    async fn import_checkpoints_last_until_the_import_ends_on_postgres() {
        crate::test_db::on_postgres("import_checkpoints", check).await;
    }
}
