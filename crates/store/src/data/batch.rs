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
use rapport_domain::permissions::Actor;
use rapport_domain::record::Kind;
use rapport_domain::{FieldError, ValidationErrors};

use crate::records::engine::Table;
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

/// How long a stored key answers retries.
const KEEP_KEYS_SECS: i64 = 24 * 3600;

impl Store {
    /// The response stored for `idem`, if the key was used before with the same request; the
    /// same key with another request is refused (422 naming the header).
    pub async fn idempotent_response(&self, idem: &Idempotency) -> Result<Option<(u16, String)>> {
        let q = sql(
            "SELECT request_hash, status, response FROM idempotency_keys WHERE scope = ? AND idem_key = ? AND created_at > ?",
            [idem.scope.clone().into(), idem.key.clone().into(), keys_since().into()],
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
        render: impl FnOnce(Vec<Done>) -> (u16, String) + Send,
    ) -> Result<(u16, String)> {
        let mut tx = self.write_tx().await?;
        // The change sequence is taken outside the records' savepoints: a record rolled back
        // must not undo the bump that the others are stamped with.
        tx.change_seq().await?;
        let mut done = Vec::with_capacity(items.len());
        for item in items {
            tx.execute(&sql("SAVEPOINT batch_record", [])).await?;
            match self.batch_one::<T>(&mut tx, actor, item).await {
                Ok(d) => {
                    tx.execute(&sql("RELEASE SAVEPOINT batch_record", [])).await?;
                    done.push(d);
                }
                Err(e @ (Error::Db(_) | Error::Sqlite(_) | Error::Crypto(_))) if !is_constraint(&e) => return Err(e),
                Err(e) => {
                    tx.execute(&sql("ROLLBACK TO SAVEPOINT batch_record", [])).await?;
                    tx.execute(&sql("RELEASE SAVEPOINT batch_record", [])).await?;
                    done.push(Done::Failed(e));
                }
            }
        }
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
