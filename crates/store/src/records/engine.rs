//! The shared record machinery: get, list, create, versioned update and soft delete of any
//! record type, from its [`RecordSpec`] and a few hooks.
//!
//! Every call checks the permission first, applies the actor's record visibility in SQL,
//! writes its audit row in the change's transaction, and stamps changed rows for sync (see
//! [`crate::WriteTx::change_seq`]). A record type implements [`Table`]: its spec, its data type,
//! and the hooks for what only it does (people keep their company's name searchable; a
//! company's rename and deletion reach its people). The store's public functions per type
//! (`get_company`, `list_customers`…) are thin wrappers, so callers keep concrete types.

use std::collections::{HashMap, HashSet};
use std::future::Future;

use rapport_domain::ValidationErrors;
use rapport_domain::now_rfc3339;
use rapport_domain::permissions::{Action, Actor, require};
use rapport_domain::query::{ListParams, Page};
use rapport_domain::record::{Kind, RecordSpec, get_path};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use sqlx::Row as _;

use super::columns::{ALIAS, Stored, mask_json, ref_joins, select_cols, spec_named};
use super::{check_assignment, check_owner, check_version, replace_tags, save_record, soft_delete, visible};
use crate::row::Row;
use crate::sql::{Arg, MAX_ARGS, Sql};
use crate::{Error, Result, Store, WriteTx, audit, bulk, unique_violation};

/// Every record type the machinery keeps (references are resolved through this list).
pub(crate) static SPECS: &[&RecordSpec] = &[
    &rapport_domain::customer::SPEC,
    &rapport_domain::company::SPEC,
    &rapport_domain::sales::pipeline::SPEC,
    &rapport_domain::sales::opportunity::SPEC,
    &rapport_domain::sales::activity::SPEC,
    &rapport_domain::sales::product::SPEC,
    &rapport_domain::sales::order::SPEC,
    &rapport_domain::sales::target::SPEC,
    &rapport_domain::marketing::campaigns::SPEC,
    &rapport_domain::marketing::segments::SPEC,
];

/// The titles of the records a record's references name, by reference field (`company_id`),
/// as the writer was allowed to see them.
pub(crate) type Titles = HashMap<&'static str, Option<String>>;

/// A record type the store keeps: the record as the API shows it (built from its JSON form),
/// with its spec, its editable data and its hooks.
pub(crate) trait Table: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The description the machinery works from.
    const SPEC: &'static RecordSpec;
    /// The editable fields as the domain validated them.
    type Data: Serialize + Clone + Send + Sync + 'static;

    /// The record's editable fields.
    fn data(&self) -> &Self::Data;
    /// Its version.
    fn version(&self) -> i64;
    /// What sync listings show once it is deleted.
    fn tombstone(self) -> Self;

    /// Columns the query computes beyond the table's own (counts), as `actor` may see them.
    fn extra_cols(_q: &mut Sql, _actor: &Actor) {}

    /// Puts what [`Table::extra_cols`] selected beyond the spec's fields into the record's JSON
    /// form (a merged person's `merged_into`).
    fn extra_json(_r: &dyn Row, _m: &mut Map<String, Value>) -> Result<()> {
        Ok(())
    }

    /// Appends the actor's record-visibility rule for the record aliased `a`: by owner for
    /// owned types ([`visible`]). A type reached otherwise (targets, by the rep or the team they
    /// are for) says so here.
    fn reach(q: &mut Sql, actor: &Actor, a: &str) {
        if Self::SPEC.owned {
            visible(q, actor, a);
        }
    }

    /// Columns derived from the data beyond the generic ones, given the referenced records' titles.
    fn derived(_stored: &mut Stored, _titles: &Titles) {}

    /// Read-only columns computed from the data as it is written (an order's totals), so that
    /// reads, filters and sorts use them without recomputing.
    fn computed_cols(_data: &Self::Data, _stored: &mut Stored) {}

    /// Runs in the transaction after a record was inserted (by every create path: one, a batch,
    /// or inside another change's transaction); an error undoes the insert.
    fn after_insert(
        _store: &Store,
        _tx: &mut WriteTx,
        _actor: &Actor,
        _id: i64,
        _data: &Self::Data,
    ) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }

    /// Runs in the transaction after an update was saved.
    fn after_update(
        _store: &Store,
        _tx: &mut WriteTx,
        _actor: &Actor,
        _id: i64,
        _before: &Self::Data,
        _after: &Self::Data,
    ) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }

    /// Runs in the transaction before a soft delete; what it returns joins the audit row.
    fn before_delete(_store: &Store, _tx: &mut WriteTx, _actor: &Actor, _id: i64) -> impl Future<Output = Result<Value>> + Send {
        async { Ok(Value::Null) }
    }

    /// Runs in the transaction after a soft delete, with the data the record held.
    fn after_delete(
        _store: &Store,
        _tx: &mut WriteTx,
        _actor: &Actor,
        _id: i64,
        _before: &Self::Data,
    ) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }
}

/// `record` as `actor` may see it: personal fields masked without `pii`, and the custom values
/// whose keys are in `masked`.
pub(crate) fn shown<T: Table>(actor: &Actor, record: T, masked: &[String]) -> T {
    let mut m = to_json(&record);
    mask_json(T::SPEC, actor, &mut m, masked);
    serde_json::from_value(Value::Object(m)).unwrap_or(record)
}

/// What one write transaction already checked, so a batch checks each owner and each
/// referenced record once.
#[derive(Default)]
pub(crate) struct Checked {
    owners: HashSet<Option<i64>>,
    titles: HashMap<(&'static str, i64), Option<String>>,
}

/// `SELECT <columns> FROM <table> r <joins>`: a record as `actor` may see it.
fn select<T: Table>(actor: &Actor) -> Sql {
    let spec = T::SPEC;
    let mut q = Sql::new("SELECT ");
    select_cols(&mut q, spec);
    T::extra_cols(&mut q, actor);
    q.push(&format!(" FROM {} {ALIAS}", spec.plural));
    ref_joins(&mut q, spec, actor);
    q
}

/// Record `id` if `actor` reaches it; live only unless `with_deleted`.
fn by_id<T: Table>(actor: &Actor, id: i64, with_deleted: bool) -> Sql {
    let mut q = select::<T>(actor);
    q.push(&format!(" WHERE {ALIAS}.id = ")).arg(id);
    if !with_deleted {
        q.push(&format!(" AND {ALIAS}.deleted_at IS NULL"));
    }
    T::reach(&mut q, actor, ALIAS);
    q
}

/// The unique indexes of a record type's table, as [`unique_violation`] takes them: PostgreSQL
/// names the index `<table>_<column>_key`, SQLite the column `<table>.<column>`.
fn unique_indexes(spec: &RecordSpec) -> Vec<(String, String, String, String)> {
    spec.fields
        .iter()
        .filter(|f| f.unique)
        .map(|f| {
            let col = if f.personal { format!("{}_hash", f.column()) } else { f.column() };
            let message = format!("another {} already has this {}", spec.label, f.label.to_lowercase());
            (format!("{}_{col}_key", spec.plural), format!("{}.{col}", spec.plural), f.name.to_string(), message)
        })
        .collect()
}

fn to_json<D: Serialize>(data: &D) -> Map<String, Value> {
    match serde_json::to_value(data) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// The ids and titles of the live records of type `t` among `ids` that `actor` may see: how a
/// reference is checked, one at a time or for a whole batch.
fn titles_of(t: &RecordSpec, actor: &Actor, ids: &[i64]) -> Sql {
    let mut q =
        Sql::new(&format!("SELECT t.id AS id, t.{} AS title FROM {} t WHERE t.deleted_at IS NULL AND t.id IN (", t.title, t.plural));
    for (n, id) in ids.iter().enumerate() {
        q.push(if n == 0 { "" } else { ", " }).arg(*id);
    }
    q.push(")");
    if t.owned {
        visible(&mut q, actor, "t");
    }
    q
}

impl Store {
    /// A row as a `T`, masked for `actor` when given (with the custom keys to mask).
    fn decode<T: Table>(&self, r: &dyn Row, shown_to: Option<(&Actor, &[String])>) -> Result<T> {
        let mut m = self.record_json(T::SPEC, r)?;
        T::extra_json(r, &mut m)?;
        for f in T::SPEC.fields.iter().filter(|f| f.computed) {
            let v = match f.kind {
                Kind::Int | Kind::Money | Kind::Ref(_) => r.get::<Option<i64>>(&f.column())?.map(Value::from),
                _ => r.get::<Option<String>>(&f.column())?.map(Value::from),
            };
            m.insert(f.name.into(), v.unwrap_or(Value::Null));
        }
        if let Some((actor, masked)) = shown_to {
            mask_json(T::SPEC, actor, &mut m, masked);
        }
        serde_json::from_value(Value::Object(m)).map_err(|e| Error::Db(sqlx::Error::Decode(Box::new(e))))
    }

    /// The custom fields of `spec`'s records that `actor` sees masked.
    /// Custom fields to mask for `actor`; `tx`: the write transaction open meanwhile, if any.
    async fn masked_of(&self, tx: Option<&mut WriteTx>, spec: &RecordSpec, actor: &Actor) -> Result<Vec<String>> {
        match spec.custom {
            Some(o) => self.masked_keys(tx, actor, o).await,
            None => Ok(vec![]),
        }
    }

    /// Custom fields sealed at rest; `tx`: the write transaction open meanwhile, if any.
    pub(crate) async fn sensitive_of(&self, tx: Option<&mut WriteTx>, spec: &RecordSpec) -> Result<Vec<String>> {
        match spec.custom {
            Some(o) => self.sensitive_keys(tx, o).await,
            None => Ok(vec![]),
        }
    }

    /// A record in a transaction, unmasked (for merging changes); others are "not found".
    pub(crate) async fn record_in<T: Table>(&self, tx: &mut WriteTx, actor: &Actor, id: i64, with_deleted: bool) -> Result<T> {
        tx.fetch_optional(&by_id::<T>(actor, id, with_deleted), |r| self.decode::<T>(r, None)).await?.ok_or(Error::NotFound)
    }

    /// One live record.
    pub(crate) async fn get_record<T: Table>(&self, actor: &Actor, id: i64) -> Result<T> {
        require(actor, T::SPEC.object, Action::Read)?;
        let masked = self.masked_of(None, T::SPEC, actor).await?;
        let found = self.read_optional(&by_id::<T>(actor, id, false), |r| self.decode::<T>(r, Some((actor, &masked)))).await?;
        found.ok_or(Error::NotFound)
    }

    /// Whether `actor` reaches live record `id`, without reading its data.
    pub(crate) async fn record_visible<T: Table>(&self, actor: &Actor, id: i64) -> Result<()> {
        require(actor, T::SPEC.object, Action::Read)?;
        let mut q = Sql::new(&format!("SELECT {ALIAS}.id FROM {} {ALIAS} WHERE {ALIAS}.id = ", T::SPEC.plural));
        q.arg(id).push(&format!(" AND {ALIAS}.deleted_at IS NULL"));
        T::reach(&mut q, actor, ALIAS);
        self.read_optional(&q, |_| Ok(())).await?.ok_or(Error::NotFound)
    }

    /// A page of records matching `p`; sync listings carry deleted ones as tombstones.
    pub(crate) async fn list_records<T: Table>(&self, actor: &Actor, p: &ListParams) -> Result<Page<T>> {
        require(actor, T::SPEC.object, Action::Read)?;
        let masked = self.masked_of(None, T::SPEC, actor).await?;
        self.list_rows(actor, T::SPEC, T::extra_cols, T::reach, p, |r| {
            let rec = self.decode::<T>(r, Some((actor, &masked)))?;
            Ok(if r.get::<Option<String>>("deleted_at")?.is_some() { rec.tombstone() } else { rec })
        })
        .await
    }

    /// Checks the references of a record's data that changed from `before` (all of them when
    /// creating): each must name a live record `actor` may see, or it is refused like an unknown
    /// id. Returns every reference's title (unchanged ones as stored, whoever may see them).
    async fn check_refs(
        &self,
        tx: &mut WriteTx,
        actor: &Actor,
        spec: &RecordSpec,
        data: &Map<String, Value>,
        before: Option<&Map<String, Value>>,
        checked: &mut Checked,
    ) -> Result<Titles> {
        let mut titles = Titles::new();
        let mut errs = ValidationErrors::default();
        for f in spec.writable() {
            let Kind::Ref(target) = f.kind else { continue };
            if spec.owned && f.name == "owner_id" {
                continue;
            }
            let Some(id) = get_path(data, f.name).as_i64() else {
                titles.insert(f.name, None);
                continue;
            };
            let changed = before.is_none_or(|b| get_path(b, f.name).as_i64() != Some(id));
            if let Some(t) = checked.titles.get(&(f.name, id)).filter(|_| changed) {
                titles.insert(f.name, t.clone());
                continue;
            }
            let Some(t) = spec_named(target) else {
                // Users and other non-record targets: they must exist.
                check_owner(tx, Some(id))
                    .await
                    .map_err(|_| Error::Invalid(ValidationErrors::single(f.name, format!("there is no active user with id {id}"))))?;
                if changed {
                    checked.titles.insert((f.name, id), None);
                }
                continue;
            };
            let as_whom = if changed { actor.clone() } else { Actor::system() };
            match tx.fetch_optional(&titles_of(t, &as_whom, &[id]), |r| r.get::<Option<String>>("title")).await? {
                Some(title) => {
                    if changed {
                        checked.titles.insert((f.name, id), title.clone());
                    }
                    titles.insert(f.name, title);
                }
                None if changed => errs.add(f.name, format!("there is no {} with id {id}", t.label)),
                None => {
                    titles.insert(f.name, None);
                }
            }
        }
        errs.into_result(titles).map_err(Error::Invalid)
    }

    /// Reads, once for a whole batch, the titles of the records its references name that `actor`
    /// may see, so [`Store::check_refs`] finds each in `checked` instead of querying per row. Ids
    /// not found are left for that per-row check, which refuses them with its field error.
    async fn prefetch_refs(
        &self,
        tx: &mut WriteTx,
        actor: &Actor,
        spec: &RecordSpec,
        rows: &[Map<String, Value>],
        checked: &mut Checked,
    ) -> Result<()> {
        for f in spec.writable() {
            let Kind::Ref(target) = f.kind else { continue };
            let Some(t) = spec_named(target) else { continue };
            let mut ids: Vec<i64> = rows
                .iter()
                .filter_map(|r| get_path(r, f.name).as_i64())
                .filter(|id| !checked.titles.contains_key(&(f.name, *id)))
                .collect();
            ids.sort_unstable();
            ids.dedup();
            for part in ids.chunks(MAX_ARGS) {
                for (id, title) in tx.fetch_all(&titles_of(t, actor, part), |r| Ok((r.get("id")?, r.get("title")?))).await? {
                    checked.titles.insert((f.name, id), title);
                }
            }
        }
        Ok(())
    }

    /// Inserts a record (owner and references checked; the `after_insert` hook and the audit are
    /// left to the caller).
    pub(crate) async fn insert_record<T: Table>(
        &self,
        tx: &mut WriteTx,
        actor: &Actor,
        data: &T::Data,
        sensitive: &[String],
        checked: &mut Checked,
    ) -> Result<i64> {
        let ids = self.insert_records::<T>(tx, actor, std::slice::from_ref(data), sensitive, checked).await?;
        ids.first().copied().ok_or(Error::NotFound)
    }

    /// Inserts many records, as [`Store::insert_record`] one: each owner and each referenced
    /// record checked once for the batch, the rows written in multi-row inserts (a bulk load
    /// costs a few statements per hundred rows, not several per row). Their ids, in `batch`'s
    /// order.
    pub(crate) async fn insert_records<T: Table>(
        &self,
        tx: &mut WriteTx,
        actor: &Actor,
        batch: &[T::Data],
        sensitive: &[String],
        checked: &mut Checked,
    ) -> Result<Vec<i64>> {
        let spec = T::SPEC;
        let jsons: Vec<Map<String, Value>> = batch.iter().map(to_json).collect();
        if batch.len() > 1 {
            self.prefetch_refs(tx, actor, spec, &jsons, checked).await?;
        }
        let mut rows = Vec::with_capacity(batch.len());
        for (data, json) in batch.iter().zip(&jsons) {
            if spec.owned {
                let owner = get_path(json, "owner_id").as_i64();
                if checked.owners.insert(owner) {
                    check_assignment(tx, actor, spec.object, owner).await?;
                }
            }
            let titles = self.check_refs(tx, actor, spec, json, None, checked).await?;
            let mut stored = self.stored_form(spec, json, sensitive);
            T::derived(&mut stored, &titles);
            T::computed_cols(data, &mut stored);
            rows.push((stored.names(), stored));
        }
        let seq = tx.change_seq().await?;
        let now = now_rfc3339();
        let unique = unique_indexes(spec);
        let unique: Vec<(&str, &str, &str, &str)> =
            unique.iter().map(|(a, b, c, d)| (a.as_str(), b.as_str(), c.as_str(), d.as_str())).collect();
        let backend = tx.backend;
        let mut ids = Vec::with_capacity(rows.len());
        // Rows share a statement only when they store the same columns.
        for same in rows.chunk_by(|a, b| a.0 == b.0) {
            let head = format!("INSERT INTO {} ({}, created_at, updated_at, change_seq, version) VALUES ", spec.plural, same[0].0);
            let width = same[0].1.cols.len() + 4;
            let values = |(_, stored): &(String, Stored)| {
                let mut v: Vec<Arg> = stored.cols.iter().map(|(_, a)| a.clone()).collect();
                v.extend([Arg::from(now.clone()), Arg::from(now.clone()), Arg::from(seq), Arg::from(1)]);
                v
            };
            for q in bulk::inserts(backend, &head, " RETURNING id", width, same, values) {
                let mut got: Vec<i64> = tx.fetch_all(&q, |r| r.get("id")).await.map_err(|e| unique_violation(e, &unique))?;
                // Both engines number a statement's rows in VALUES order, whatever order
                // RETURNING reports them in.
                got.sort_unstable();
                ids.extend(got);
            }
        }
        // New records have no tag rows yet: their tags go in multi-row inserts too.
        let mut tags: Vec<(&str, i64)> = vec![];
        for (id, (_, stored)) in ids.iter().zip(&rows) {
            let mut mine: Vec<&str> = stored.tags.iter().flatten().map(String::as_str).collect();
            mine.sort_unstable();
            mine.dedup();
            tags.extend(mine.into_iter().map(|t| (t, *id)));
        }
        let head = format!("INSERT INTO {}_tags (tag, {}_id) VALUES ", spec.name, spec.name);
        for q in bulk::inserts(backend, &head, "", 2, &tags, |(t, id)| [Arg::from(*t), Arg::from(*id)]) {
            tx.execute(&q).await?;
        }
        Ok(ids)
    }

    /// The record as `actor` sees it after a write: masked, its references' titles and counts
    /// as the actor may see them, whether or not the actor still reaches the record itself (a
    /// change may have moved it out of their sight).
    pub(crate) async fn as_seen<T: Table>(&self, tx: &mut WriteTx, actor: &Actor, id: i64) -> Result<T> {
        let mut q = select::<T>(actor);
        q.push(&format!(" WHERE {ALIAS}.id = ")).arg(id);
        let masked = self.masked_of(Some(tx), T::SPEC, actor).await?;
        tx.fetch_one(&q, |r| self.decode::<T>(r, Some((actor, &masked)))).await
    }

    /// Adds a record; `data` is what the domain validated. The owner must be one the actor may
    /// give records to, and every referenced record one they can see.
    pub(crate) async fn create_record<T: Table>(&self, actor: &Actor, data: T::Data) -> Result<T> {
        require(actor, T::SPEC.object, Action::Create)?;
        let mut tx = self.write_tx().await?;
        let id = self.create_record_in::<T>(&mut tx, actor, &data).await?;
        // As written, whether or not the actor reaches it (the owner may be a teammate whose
        // records they do not see).
        let created = self.as_seen::<T>(&mut tx, actor, id).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Adds a record inside the caller's transaction (one change creating another record, such
    /// as a lead conversion creating its opportunity): authorized, checked, hooked and audited
    /// like [`Store::create_record`], committed or undone with the caller's change. Its id.
    pub(crate) async fn create_record_in<T: Table>(&self, tx: &mut WriteTx, actor: &Actor, data: &T::Data) -> Result<i64> {
        require(actor, T::SPEC.object, Action::Create)?;
        let sensitive = self.sensitive_of(Some(tx), T::SPEC).await?;
        let id = self.insert_record::<T>(tx, actor, data, &sensitive, &mut Checked::default()).await?;
        T::after_insert(self, tx, actor, id, data).await?;
        self.audit(tx, actor, "create", T::SPEC.name, Some(id), json!({"after": data})).await?;
        Ok(id)
    }

    /// Adds many records in one transaction with one audit row (demo data, bulk loads).
    pub(crate) async fn create_records<T: Table>(&self, actor: &Actor, batch: &[T::Data]) -> Result<Vec<i64>> {
        require(actor, T::SPEC.object, Action::Create)?;
        let sensitive = self.sensitive_of(None, T::SPEC).await?;
        let mut tx = self.write_tx().await?;
        let mut checked = Checked::default();
        let ids = self.insert_records::<T>(&mut tx, actor, batch, &sensitive, &mut checked).await?;
        for (id, d) in ids.iter().zip(batch) {
            T::after_insert(self, &mut tx, actor, *id, d).await?;
        }
        let summary = json!({"count": batch.len(), "first_id": ids.first(), "last_id": ids.last()});
        self.audit(&mut tx, actor, "bulk_create", T::SPEC.name, None, summary).await?;
        tx.commit().await?;
        Ok(ids)
    }

    /// Changes a record. `change` receives the current data and returns the new data (or why
    /// not: field errors, a refusal); it runs inside the transaction, so nothing is
    /// half-written. With `if_match`, a stale version is refused instead of overwriting someone
    /// else's edit. A new owner must be one the actor may give records to, a new reference one
    /// they can see.
    pub(crate) async fn update_record<T, F, E>(&self, actor: &Actor, id: i64, if_match: Option<i64>, change: F) -> Result<T>
    where
        T: Table,
        F: FnOnce(&T::Data) -> Result<T::Data, E>,
        E: Into<Error>,
    {
        require(actor, T::SPEC.object, Action::Update)?;
        let mut tx = self.write_tx().await?;
        self.update_in::<T, F, E>(&mut tx, actor, id, if_match, change).await?;
        let seen = self.as_seen::<T>(&mut tx, actor, id).await?;
        tx.commit().await?;
        Ok(seen)
    }

    /// Changes many records in one transaction, each as [`Store::update_record`] changes one
    /// (its own checks, hooks and audit row): all of them or, on the first refusal, none. For
    /// bulk edits, where a transaction per record would cost a commit each. How many changed.
    pub(crate) async fn update_records<T, F, E>(&self, actor: &Actor, changes: impl IntoIterator<Item = (i64, F)>) -> Result<usize>
    where
        T: Table,
        F: FnOnce(&T::Data) -> Result<T::Data, E>,
        E: Into<Error>,
    {
        require(actor, T::SPEC.object, Action::Update)?;
        let mut tx = self.write_tx().await?;
        let mut n = 0;
        for (id, change) in changes {
            self.update_in::<T, F, E>(&mut tx, actor, id, None, change).await?;
            n += 1;
        }
        tx.commit().await?;
        Ok(n)
    }

    /// [`Store::update_record`] inside the caller's transaction (with its audit row), for
    /// changes that write more than the record; returns the record as saved, unmasked.
    pub(crate) async fn update_in<T, F, E>(&self, tx: &mut WriteTx, actor: &Actor, id: i64, if_match: Option<i64>, change: F) -> Result<T>
    where
        T: Table,
        F: FnOnce(&T::Data) -> Result<T::Data, E>,
        E: Into<Error>,
    {
        let spec = T::SPEC;
        require(actor, spec.object, Action::Update)?;
        let sensitive = self.sensitive_of(Some(tx), spec).await?;
        let before = self.record_in::<T>(tx, actor, id, false).await?;
        check_version(if_match, before.version())?;
        let data = change(before.data()).map_err(Into::into)?;
        let (old, new) = (to_json(before.data()), to_json(&data));
        if spec.owned && get_path(&old, "owner_id") != get_path(&new, "owner_id") {
            check_assignment(tx, actor, spec.object, get_path(&new, "owner_id").as_i64()).await?;
        }
        let titles = self.check_refs(tx, actor, spec, &new, Some(&old), &mut Checked::default()).await?;
        let mut stored = self.stored_form(spec, &new, &sensitive);
        T::derived(&mut stored, &titles);
        T::computed_cols(&data, &mut stored);
        let mut q = Sql::new(&format!("UPDATE {} SET ({}) = (", spec.plural, stored.names()));
        stored.bind(&mut q);
        q.push(")");
        let unique = unique_indexes(spec);
        let unique: Vec<(&str, &str, &str, &str)> =
            unique.iter().map(|(a, b, c, d)| (a.as_str(), b.as_str(), c.as_str(), d.as_str())).collect();
        save_record(tx, q, id, before.version(), &unique).await?;
        if let Some(tags) = &stored.tags {
            replace_tags(tx, &format!("{}_tags", spec.name), &format!("{}_id", spec.name), id, tags).await?;
        }
        T::after_update(self, tx, actor, id, before.data(), &data).await?;
        let after = self.record_in::<T>(tx, &Actor::system(), id, false).await?;
        self.audit(tx, actor, "update", spec.name, Some(id), audit::diff(before.data(), after.data())).await?;
        Ok(after)
    }

    /// Soft-deletes a record: it leaves reads and lists but stays as a tombstone that sync
    /// listings report.
    pub(crate) async fn delete_record<T: Table>(&self, actor: &Actor, id: i64, if_match: Option<i64>) -> Result<()> {
        let spec = T::SPEC;
        require(actor, spec.object, Action::Delete)?;
        let mut tx = self.write_tx().await?;
        let before = self.record_in::<T>(&mut tx, actor, id, false).await?;
        check_version(if_match, before.version())?;
        let extra = T::before_delete(self, &mut tx, actor, id).await?;
        soft_delete(&mut tx, spec.plural, id).await?;
        T::after_delete(self, &mut tx, actor, id, before.data()).await?;
        let mut diff = json!({"before": before.data()});
        if let Value::Object(more) = extra {
            diff.as_object_mut().expect("an object").extend(more);
        }
        self.audit(&mut tx, actor, "delete", spec.name, Some(id), diff).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Rewrites records whose stored form is out of date from their own values: rows marked
    /// for recomputing (`private_text IS NULL`: written before search words were split, or of a
    /// type whose custom field changed sensitivity) and, with `reseal`, rows holding values
    /// sealed under an older key or still in clear. Each row is rewritten only if its version is
    /// unchanged since it was read (an edit meanwhile rewrote it anyway), and neither its version
    /// nor its `updated_at` changes, so sync clients see nothing.
    pub(crate) async fn rewrite_records<T: Table>(&self, reseal: bool) -> Result<usize> {
        let spec = T::SPEC;
        let (defined, sensitive) = match spec.custom {
            Some(o) => self.custom_keys(o).await?,
            None => (vec![], vec![]),
        };
        let sealed: Vec<String> =
            spec.fields.iter().filter(|f| f.personal).map(|f| f.column()).chain(spec.custom.map(|_| "custom_sealed".to_string())).collect();
        let (mut last, mut n) = (0i64, 0usize);
        let system = Actor::system();
        loop {
            let mut q = Sql::new("SELECT ");
            select_cols(&mut q, spec);
            T::extra_cols(&mut q, &system);
            q.push(&format!(
                ", CAST(CASE WHEN {ALIAS}.private_text IS NULL THEN 1 ELSE 0 END AS BIGINT) AS pending FROM {} {ALIAS}",
                spec.plural
            ));
            ref_joins(&mut q, spec, &system);
            q.push(&format!(" WHERE {ALIAS}.id > ")).arg(last);
            if !reseal {
                q.push(&format!(" AND {ALIAS}.private_text IS NULL"));
            }
            q.push(&format!(" ORDER BY {ALIAS}.id LIMIT ")).arg(crate::sealed::BATCH);
            let rows = q.fetch_all(&self.pool).await?;
            let Some(l) = rows.last() else { return Ok(n) };
            last = l.try_get("id")?;
            for r in &rows {
                let raw: Vec<Option<String>> =
                    sealed.iter().map(|c| r.try_get::<Option<String>, _>(c.as_str())).collect::<sqlx::Result<_>>()?;
                if r.try_get::<i64, _>("pending")? == 0 && raw.iter().all(|v| self.is_current(v)) {
                    continue;
                }
                let mut m = self.record_json(spec, r)?;
                // Values of custom fields deleted meanwhile go.
                if let Some(Value::Object(custom)) = m.get_mut("custom") {
                    custom.retain(|k, _| defined.contains(k));
                }
                let titles: Titles = spec
                    .fields
                    .iter()
                    .filter_map(|f| f.shown_as.map(|s| (f.name, m.get(s).and_then(|v| v.as_str()).map(String::from))))
                    .collect();
                let mut stored = self.stored_form(spec, &m, &sensitive);
                T::derived(&mut stored, &titles);
                let mut q = Sql::new(&format!("UPDATE {} SET ({}) = (", spec.plural, stored.names()));
                stored.bind(&mut q);
                let version: i64 = r.try_get("version")?;
                q.push(") WHERE id = ").arg(r.try_get::<i64, _>("id")?).push(" AND version = ").arg(version);
                n += q.execute(&self.pool).await? as usize;
            }
        }
    }
}
