//! Listing records: filters, full-text search and keyset (cursor) pagination, shared by every
//! listable table. Keyset pages stay fast at any depth because each page starts where the
//! previous one ended in an index, instead of skipping rows.

use base64::Engine;
use rapport_domain::ValidationErrors;
use rapport_domain::custom_field::FieldType;
/// Lists return the domain's page of records (re-exported here, where the listing code lives).
pub use rapport_domain::query::Page;
use rapport_domain::query::{CompareOp, FieldFilter, ListParams, SortField};
use rapport_domain::record::{Kind, RecordSpec};
use serde_json::{Value, json};

use rapport_domain::permissions::Actor;

use super::columns::{ALIAS, ref_joins, select_cols};
use crate::row::Row;
use crate::sql::{Arg, Sql};
use crate::{Backend, Error, Result, Store};

/// How many matches a search ranked by relevance ranks: the newest ones. Ranking every match
/// costs time in proportion to their number (a one-letter prefix matches most people), so a
/// relevance search answers from this bounded set, the way CRMs cap search results; any other
/// sort with `q` pages through every match.
pub const SEARCH_CANDIDATES: usize = 1000;

/// How a sort key is compared in a cursor.
#[derive(Clone, Copy, PartialEq)]
enum KeyKind {
    Int,
    Real,
    Text,
}

fn key_kind(sort: SortField) -> KeyKind {
    match sort {
        SortField::Id | SortField::Changes => KeyKind::Int,
        SortField::Relevance => KeyKind::Real,
        SortField::Field(f) => match f.kind {
            Kind::Int | Kind::Ref(_) | Kind::Money | Kind::Bool => KeyKind::Int,
            Kind::Number => KeyKind::Real,
            _ => KeyKind::Text,
        },
        _ => KeyKind::Text,
    }
}

/// The sort expression. Fields that may be empty sort as a fixed value below every other, so
/// that keyset comparisons never meet NULL (an index on the same expression keeps it fast).
fn sort_column(sort: SortField) -> String {
    let a = ALIAS;
    match sort {
        SortField::Name => format!("{a}.sort_name"),
        SortField::CreatedAt => format!("{a}.created_at"),
        SortField::UpdatedAt => format!("{a}.updated_at"),
        SortField::Id => format!("{a}.id"),
        SortField::Changes => format!("{a}.change_seq"),
        SortField::Relevance => "rank".into(),
        SortField::Field(f) => match key_kind(sort) {
            KeyKind::Int => format!("COALESCE({a}.{}, -9223372036854775807)", f.column()),
            KeyKind::Real => format!("COALESCE({a}.{}, -1e308)", f.column()),
            KeyKind::Text => format!("COALESCE({a}.{}, '')", f.column()),
        },
    }
}

/// The sort key and id of `row`: what a cursor continuing after it holds.
fn cursor_key(sort: SortField, row: &dyn Row) -> Result<(Value, i64)> {
    let key: Value = match key_kind(sort) {
        KeyKind::Int => json!(row.get::<i64>("sort_key")?),
        // As raw bits: a decimal round trip may change the last digit, and keyset paging needs
        // the exact value.
        KeyKind::Real => json!(row.get::<f64>("sort_key")?.to_bits()),
        KeyKind::Text => json!(row.get::<String>("sort_key")?),
    };
    Ok((key, row.get::<i64>("id")?))
}

fn encode_cursor(sort: SortField, key: &Value, id: i64) -> String {
    let c = json!({"s": sort.name(), "k": key, "id": id});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(c.to_string())
}

fn decode_cursor(raw: &str, sort: SortField) -> Result<(Arg, i64)> {
    let bad = || {
        Error::Invalid(ValidationErrors::single(
            "cursor",
            "is not a cursor of this list with this sort: request the first page again without cursor",
        ))
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if v["s"] != sort.name() {
        return Err(bad());
    }
    let id = v["id"].as_i64().ok_or_else(bad)?;
    let key = match key_kind(sort) {
        KeyKind::Int => Arg::Int(Some(v["k"].as_i64().ok_or_else(bad)?)),
        KeyKind::Real => Arg::Real(Some(f64::from_bits(v["k"].as_u64().ok_or_else(bad)?))),
        KeyKind::Text => Arg::Text(Some(v["k"].as_str().ok_or_else(bad)?.to_string())),
    };
    Ok((key, id))
}

/// Appends the condition of one field filter.
fn field_condition(store: &Store, q: &mut Sql, spec: &RecordSpec, actor: &Actor, f: &FieldFilter) -> Result<()> {
    let a = ALIAS;
    let field = f.field;
    let op = match f.op {
        CompareOp::Eq => "=",
        CompareOp::Gte => ">=",
        CompareOp::Lte => "<=",
    };
    if field.kind == Kind::Tags {
        let s = spec.name;
        // Checked per row through the tag table's key (tag, record id), so that a page sorted by
        // any key is read in that key's index order and stops when full, instead of collecting
        // every record with the tag to sort them.
        q.push(&format!(" AND EXISTS (SELECT 1 FROM {s}_tags tg WHERE tg.{s}_id = {a}.id AND tg.tag = "))
            .arg(f.value.as_str().unwrap_or(""))
            .push(")");
        return Ok(());
    }
    if field.personal {
        // Roles that see personal data masked must not confirm it by filtering for it.
        if !actor.sees_pii(spec.object) {
            return Err(Error::Forbidden {
                field: field.param().into(),
                message: format!("your role sees {} masked, so it cannot filter by it", field.label.to_lowercase()),
            });
        }
        // Sealed values compare only through their blind index, for equality.
        if !field.unique || f.op != CompareOp::Eq {
            return Err(Error::Invalid(ValidationErrors::single(field.param(), "is stored encrypted and cannot be filtered")));
        }
        q.push(&format!(" AND {a}.{}_hash = ", field.column())).arg(store.email_key(f.value.as_str().unwrap_or("")));
        return Ok(());
    }
    // Null asks for records without a value (the unassigned queue); a list of ids for those
    // with any of them (the queues of the reader's teams), none when the list is empty.
    if f.op == CompareOp::Eq && f.value.is_null() {
        q.push(&format!(" AND {a}.{} IS NULL", field.column()));
        return Ok(());
    }
    if let (CompareOp::Eq, Some(values)) = (f.op, f.value.as_array()) {
        if values.is_empty() {
            q.push(" AND 1 = 0");
            return Ok(());
        }
        q.push(&format!(" AND {a}.{} IN (", field.column()));
        for (n, v) in values.iter().enumerate() {
            q.push(if n == 0 { "" } else { ", " }).arg(Arg::Int(v.as_i64()));
        }
        q.push(")");
        return Ok(());
    }
    let arg = match field.kind {
        Kind::Int | Kind::Ref(_) | Kind::Money => Arg::Int(f.value.as_i64()),
        Kind::Bool => Arg::Int(f.value.as_bool().map(i64::from)),
        Kind::Number => Arg::Real(f.value.as_f64()),
        _ => Arg::Text(f.value.as_str().map(String::from)),
    };
    q.push(&format!(" AND {a}.{} {op} ", field.column())).arg(arg);
    Ok(())
}

impl Store {
    /// Where a sync listing stops on PostgreSQL, whose rows carry the id of the transaction that
    /// wrote them: the oldest transaction still writing in this database, or the next id when
    /// none is. It is read before the listing takes its own snapshot, so a transaction running
    /// now is either committed and seen by the listing, or at or past the horizon and served by
    /// a later poll; a transaction that started first and commits last is never skipped. (The
    /// activity view gives 32-bit ids: they are put back into the current epoch.) SQLite needs
    /// none: its writers take turns, so its counter grows in commit order.
    async fn sync_horizon(&self) -> Result<Option<i64>> {
        if self.backend != Backend::Postgres {
            return Ok(None);
        }
        let q = crate::sql::sql(
            "SELECT COALESCE((SELECT min(((x.top >> 32) << 32) + a.backend_xid::text::bigint \
                 - CASE WHEN a.backend_xid::text::bigint > (x.top & 4294967295) THEN 4294967296 ELSE 0 END) \
               FROM pg_stat_activity a WHERE a.datname = current_database() AND a.backend_xid IS NOT NULL), x.top) AS h \
             FROM (SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS top) x",
            [],
        );
        self.read_optional(&q, |r| r.get::<i64>("h")).await
    }

    /// Runs a list query and returns its rows (at most `limit`), each turned into a `T` by `f`,
    /// the next cursor and, for sync listings, the sync token.
    pub(crate) async fn list_rows<T: Send>(
        &self,
        actor: &Actor,
        spec: &RecordSpec,
        extra_cols: fn(&mut Sql, &Actor),
        reach: fn(&mut Sql, &Actor, &str),
        p: &ListParams,
        mut f: impl FnMut(&dyn Row) -> Result<T> + Send,
    ) -> Result<Page<T>> {
        let q = self.list_sql(actor, spec, extra_cols, reach, p).await?;
        let sync = p.sort == SortField::Changes;
        let resume = p.cursor.as_ref().or(p.sync_token.as_ref());
        let mut rows = self.read(&q, |r| Ok((f(r)?, cursor_key(p.sort, r)?))).await?;
        let more = rows.len() > p.limit as usize;
        rows.truncate(p.limit as usize);
        let last = rows.last().map(|(_, (key, id))| encode_cursor(p.sort, key, *id));
        let sync_token = if sync { last.clone().or_else(|| resume.cloned()) } else { None };
        let next_cursor = if more { last } else { None };
        Ok(Page { data: rows.into_iter().map(|(t, _)| t).collect(), next_cursor, sync_token })
    }

    /// The engine's plan of the people list `p` as `actor` would get it, one step a line (SQLite's
    /// `EXPLAIN QUERY PLAN` indented by depth, PostgreSQL's `EXPLAIN`), for the tests that keep
    /// lists on their indexes and for benchmarks. `as_if_large` plans PostgreSQL with sequential
    /// scans off, so that a small test table shows the index the query would use on a large one
    /// (SQLite without statistics plans for large tables already).
    pub async fn explain_customer_list(&self, actor: &Actor, p: &ListParams, as_if_large: bool) -> Result<String> {
        use crate::records::engine::Table;
        use rapport_domain::customer::Customer;
        let q = self.list_sql(actor, Customer::SPEC, Customer::extra_cols, Customer::reach, p).await?;
        self.explain(&q, as_if_large).await
    }

    /// The engine's plan of `q`, as [`Store::explain_customer_list`] shows it.
    pub(crate) async fn explain(&self, q: &Sql, as_if_large: bool) -> Result<String> {
        let mut plan = Vec::new();
        match self.backend {
            Backend::Sqlite => {
                let mut depth: Vec<(i64, usize)> = Vec::new();
                let explain = q.prefixed("EXPLAIN QUERY PLAN ");
                for (id, parent, detail) in
                    self.read(&explain, |r| Ok((r.get::<i64>("id")?, r.get::<i64>("parent")?, r.get::<String>("detail")?))).await?
                {
                    let d = depth.iter().find(|(i, _)| *i == parent).map(|(_, d)| d + 1).unwrap_or(0);
                    depth.push((id, d));
                    plan.push(format!("{}{detail}", "  ".repeat(d)));
                }
            }
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                if as_if_large {
                    sqlx::raw_sql("SET LOCAL enable_seqscan = off").execute(&mut *tx).await?;
                }
                let explain = q.prefixed("EXPLAIN ");
                for r in explain.fetch_all(&mut *tx).await? {
                    use sqlx::Row as _;
                    plan.push(r.try_get::<String, _>(0)?);
                }
                tx.rollback().await?;
            }
        }
        Ok(plan.join("\n"))
    }

    /// The SQLite full-text query of `p`'s terms, if any. Each term matches a word prefix in
    /// clear, or (when encrypting, for roles with pii) a whole email or phone word through its
    /// keyed token.
    fn fts_match(&self, p: &ListParams, pii: bool) -> Option<String> {
        if self.backend != Backend::Sqlite || p.terms.is_empty() {
            return None;
        }
        let term = |t: &String| match (pii, self.term_token(t)) {
            // Every indexed column but private_text.
            (false, _) => format!("- private_text : \"{t}\"*"),
            (true, Some(tok)) => format!("(\"{t}\"* OR \"{tok}\")"),
            (true, None) => format!("\"{t}\"*"),
        };
        // FTS5 needs an explicit AND between parenthesized groups.
        Some(p.terms.iter().map(term).collect::<Vec<_>>().join(" AND "))
    }

    /// The PostgreSQL tsquery of `p`'s terms: public words carry weight A in the tsvector,
    /// private ones weight B.
    fn tsquery(&self, p: &ListParams, pii: bool) -> String {
        p.terms
            .iter()
            .map(|t| match (pii, self.term_token(t)) {
                (false, _) => format!("{t}:*A"),
                (true, Some(tok)) => format!("({t}:* | {tok})"),
                (true, None) => format!("{t}:*"),
            })
            .collect::<Vec<_>>()
            .join(" & ")
    }

    /// Appends what every row of the list `p` must satisfy beyond SQLite's full-text match: the
    /// PostgreSQL search, the actor's reach, liveness (or the sync window), the field, time and
    /// custom filters.
    #[allow(clippy::too_many_arguments)]
    fn conditions(
        &self,
        q: &mut Sql,
        spec: &RecordSpec,
        actor: &Actor,
        reach: fn(&mut Sql, &Actor, &str),
        p: &ListParams,
        tsquery: &str,
        horizon: Option<i64>,
    ) -> Result<()> {
        let a = ALIAS;
        let sync = p.sort == SortField::Changes;
        if !p.terms.is_empty() && self.backend == Backend::Postgres {
            q.push(&format!(" AND {a}.search_tsv @@ to_tsquery('simple', ")).arg(tsquery.to_string()).push(")");
        }
        reach(q, actor, a);
        if sync {
            // Tombstones included: that is how a syncing client learns of deletions.
            if let Some(t) = &p.updated_since {
                q.push(&format!(" AND {a}.updated_at > ")).arg(t.clone());
            }
            if let Some(h) = horizon {
                q.push(&format!(" AND {a}.change_seq < ")).arg(h);
            }
        } else {
            q.push(&format!(" AND {a}.deleted_at IS NULL"));
        }
        for filter in &p.filters {
            field_condition(self, q, spec, actor, filter)?;
        }
        if let Some(audience) = p.audience.as_ref().filter(|_| spec.plural == "customers") {
            q.push(" AND ");
            crate::marketing::segments::audience_condition(q, self.backend, a, audience);
        }
        for (col, op, t) in [
            ("created_at", ">=", &p.created_after),
            ("created_at", "<", &p.created_before),
            ("updated_at", ">=", &p.updated_after),
            ("updated_at", "<", &p.updated_before),
        ] {
            if let Some(t) = t {
                q.push(&format!(" AND {a}.{col} {op} ")).arg(t.clone());
            }
        }
        for f in &p.custom {
            let op = match f.op {
                CompareOp::Eq => "=",
                CompareOp::Gte => ">=",
                CompareOp::Lte => "<=",
            };
            let key = &f.field.key; // validated: [a-z0-9_] only, safe to inline
            let (expr, arg) = match (self.backend, f.field.field_type) {
                (Backend::Sqlite, FieldType::Number) => (format!("json_extract({a}.custom, '$.{key}')"), Arg::Real(f.value.as_f64())),
                (Backend::Sqlite, FieldType::Boolean) => {
                    (format!("json_extract({a}.custom, '$.{key}')"), Arg::Int(Some((f.value.as_bool() == Some(true)) as i64)))
                }
                (Backend::Sqlite, _) => (format!("json_extract({a}.custom, '$.{key}')"), Arg::from(f.value.as_str().unwrap_or(""))),
                (Backend::Postgres, FieldType::Number) => {
                    (format!("(({a}.custom::jsonb) ->> '{key}')::float8"), Arg::Real(f.value.as_f64()))
                }
                (Backend::Postgres, FieldType::Boolean) => (format!("(({a}.custom::jsonb) ->> '{key}')"), Arg::from(f.value.to_string())),
                (Backend::Postgres, _) => (format!("(({a}.custom::jsonb) ->> '{key}')"), Arg::from(f.value.as_str().unwrap_or(""))),
            };
            q.push(&format!(" AND {expr} {op} ")).arg(arg);
        }
        Ok(())
    }

    /// How many records match `p` (its cursor, sort and limit aside) per value of `column` (a
    /// column of the record's own table), as `actor` reaches them: the counts beside a list.
    /// `reach` is the reach as disjoint branches whose counts add up (see [`Store::count_sql`]).
    pub(crate) async fn count_rows_by(
        &self,
        actor: &Actor,
        spec: &RecordSpec,
        reach: &[fn(&mut Sql, &Actor, &str)],
        p: &ListParams,
        column: &str,
    ) -> Result<Vec<(String, i64)>> {
        let q = self.count_sql(actor, spec, reach, p, column)?;
        self.read(&q, |r| Ok((r.get::<String>("k")?, r.get::<i64>("n")?))).await
    }

    /// The SQL of [`Store::count_rows_by`]. A reach of several branches is counted branch by
    /// branch and added up: each branch then reads its own index (a team's tickets through the
    /// team's), where one `IN` list of every reachable id would be materialized and probed
    /// once per record.
    pub(crate) fn count_sql(
        &self,
        actor: &Actor,
        spec: &RecordSpec,
        reach: &[fn(&mut Sql, &Actor, &str)],
        p: &ListParams,
        column: &str,
    ) -> Result<Sql> {
        let a = ALIAS;
        let pii = actor.sees_pii(spec.object);
        let p = ListParams { sort: SortField::Name, ..p.clone() };
        let tsquery = self.tsquery(&p, pii);
        let fts_match = self.fts_match(&p, pii);
        let fts = format!("{}_fts", spec.plural);
        let several = reach.len() > 1;
        let mut q = Sql::new(if several { "SELECT k, CAST(SUM(n) AS BIGINT) AS n FROM (" } else { "" });
        for (i, branch) in reach.iter().enumerate() {
            if i > 0 {
                q.push(" UNION ALL ");
            }
            q.push(&format!("SELECT {a}.{column} AS k, COUNT(*) AS n FROM {} {a} WHERE 1 = 1", spec.plural));
            if let Some(m) = &fts_match {
                q.push(&format!(" AND {a}.id IN (SELECT rowid FROM {fts} WHERE {fts} MATCH ")).arg(m.clone()).push(")");
            }
            self.conditions(&mut q, spec, actor, *branch, &p, &tsquery, None)?;
            q.push(&format!(" GROUP BY {a}.{column}"));
        }
        if several {
            q.push(") c GROUP BY k");
        }
        Ok(q)
    }

    /// The SQL of the list query `p` (see [`Store::list_rows`]).
    pub(crate) async fn list_sql(
        &self,
        actor: &Actor,
        spec: &RecordSpec,
        extra_cols: fn(&mut Sql, &Actor),
        reach: fn(&mut Sql, &Actor, &str),
        p: &ListParams,
    ) -> Result<Sql> {
        let a = ALIAS;
        let table = format!("{} {a}", spec.plural);
        let fts = format!("{}_fts", spec.plural);
        // Roles that see personal data masked must not confirm it by searching or filtering
        // for it: their search covers public words only, and personal filters are refused.
        let pii = actor.sees_pii(spec.object);
        if let Some(f) = p.custom.iter().find(|f| f.field.sensitive) {
            return Err(Error::Invalid(ValidationErrors::single(
                format!("custom.{}", f.field.key),
                "is a sensitive field: its values are stored encrypted and cannot be filtered",
            )));
        }
        let sync = p.sort == SortField::Changes;
        let horizon = if sync { self.sync_horizon().await? } else { None };
        let relevance = p.sort == SortField::Relevance;
        // The inner query finds the page's ids with narrow rows (filters, rank, cursor, limit);
        // only those ids are joined to their full rows and companies. Ranking every match with
        // its wide row was what made searches slow.
        let mut q = Sql::new("SELECT ");
        select_cols(&mut q, spec);
        extra_cols(&mut q, actor);
        q.push(", k.sort_key FROM (SELECT * FROM (");
        let fts_sqlite = self.fts_match(p, pii);
        let tsquery = self.tsquery(p, pii);
        if relevance {
            // The candidates: the newest matches, at most SEARCH_CANDIDATES of them, found in the
            // order of the id (which the full-text index keeps), so the ranking reads a bounded set
            // however common the words are (`a` matches most people).
            match self.backend {
                Backend::Sqlite => q
                    .push(&format!(
                        "SELECT {a}.id AS id, bm25({fts}, 10.0, 2.0, 2.0) AS sort_key FROM {fts} JOIN {table} ON {a}.id = {fts}.rowid WHERE {fts} MATCH "
                    ))
                    .arg(fts_sqlite.clone().unwrap_or_default()),
                // Ranked outside the candidates' query, so that only they are ranked; negated so
                // that ascending order puts the best match first, as bm25 does.
                Backend::Postgres => q
                    .push("SELECT cand.id AS id, (-ts_rank(cand.tsv, to_tsquery('simple', ")
                    .arg(tsquery.clone())
                    .push(&format!(")))::float8 AS sort_key FROM (SELECT {a}.id AS id, {a}.search_tsv AS tsv FROM {table} WHERE 1 = 1")),
            };
        } else {
            q.push(&format!("SELECT {a}.id AS id, {} AS sort_key FROM {table} WHERE 1 = 1", sort_column(p.sort)));
            if let Some(m) = &fts_sqlite {
                q.push(&format!(" AND {a}.id IN (SELECT rowid FROM {fts} WHERE {fts} MATCH ")).arg(m.clone()).push(")");
            }
        }
        self.conditions(&mut q, spec, actor, reach, p, &tsquery, horizon)?;
        if relevance {
            let newest = match self.backend {
                Backend::Sqlite => format!("{fts}.rowid"),
                Backend::Postgres => format!("{a}.id"),
            };
            q.push(&format!(" ORDER BY {newest} DESC LIMIT {SEARCH_CANDIDATES}"));
            if self.backend == Backend::Postgres {
                q.push(") cand");
            }
        }
        q.push(") s");
        let dir = if p.desc { "DESC" } else { "ASC" };
        // In a sync listing the sync token is where the previous poll ended: a cursor.
        let resume = p.cursor.as_ref().or(p.sync_token.as_ref());
        if let Some(c) = resume {
            let (key, id) = decode_cursor(c, p.sort)?;
            q.push(if p.desc { " WHERE (s.sort_key, s.id) < (" } else { " WHERE (s.sort_key, s.id) > (" })
                .arg(key)
                .push(", ")
                .arg(id)
                .push(")");
        }
        q.push(&format!(" ORDER BY s.sort_key {dir}, s.id {dir} LIMIT ")).arg(p.limit as i64 + 1);
        q.push(&format!(") k JOIN {table} ON {a}.id = k.id"));
        ref_joins(&mut q, spec, actor);
        q.push(&format!(" ORDER BY k.sort_key {dir}, k.id {dir}"));
        Ok(q)
    }
}
