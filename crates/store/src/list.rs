//! Listing records: filters, full-text search and keyset (cursor) pagination, shared by every
//! listable table. Keyset pages stay fast at any depth because each page starts where the
//! previous one ended in an index, instead of skipping rows.

use base64::Engine;
use rapport_domain::ValidationErrors;
use rapport_domain::custom_field::FieldType;
/// Lists return the domain's page of records (re-exported here, where the listing code lives).
pub use rapport_domain::query::Page;
use rapport_domain::query::{CompareOp, ListParams, SortField};
use serde_json::{Value, json};

use rapport_domain::permissions::{Actor, Object};

use crate::records::visible;
use crate::row::Row;
use crate::sql::{Arg, Sql};
use crate::{Backend, Error, Result, Store};

/// What differs between listable tables.
pub(crate) struct Listing {
    /// Table alias used in `cols` and conditions.
    pub alias: &'static str,
    /// The table and its alias (`customers c`).
    pub table: &'static str,
    /// Writes the selected columns, as the actor may see them (joined names and counts cover
    /// only records the actor reaches).
    pub cols: fn(&mut Sql, &Actor),
    /// Writes the joins those columns need (may write nothing).
    pub joins: fn(&mut Sql, &Actor),
    /// The table's FTS5 table on SQLite.
    pub fts: &'static str,
    /// Its columns of public words, as an FTS5 column filter; the last column, `private_text`
    /// (email and phone words), is searched only by roles that see personal data.
    pub public_columns: &'static str,
    /// Tag join table and its foreign key column.
    pub tags: (&'static str, &'static str),
    /// Whether person-only filters (stage, company) apply.
    pub person: bool,
    /// The permission object, whose `pii` grant decides what search and filters may match.
    pub object: Object,
}

impl Listing {
    /// `SELECT <cols> FROM <table> <joins>`, to which callers add the conditions.
    pub(crate) fn select(&self, actor: &Actor) -> Sql {
        let mut q = Sql::new("SELECT ");
        (self.cols)(&mut q, actor);
        q.push(&format!(" FROM {}", self.table));
        (self.joins)(&mut q, actor);
        q
    }

    /// The live record `id`, if the actor may see it.
    pub(crate) fn by_id(&self, actor: &Actor, id: i64) -> Sql {
        let mut q = self.by_id_with_deleted(actor, id);
        q.push(&format!(" AND {}.deleted_at IS NULL", self.alias));
        q
    }

    /// Record `id`, live or deleted, if the actor may see it (erasure reaches tombstones too).
    pub(crate) fn by_id_with_deleted(&self, actor: &Actor, id: i64) -> Sql {
        let a = self.alias;
        let mut q = self.select(actor);
        q.push(&format!(" WHERE {a}.id = ")).arg(id);
        visible(&mut q, actor, a);
        q
    }
}

fn sort_column(alias: &str, sort: SortField) -> String {
    match sort {
        SortField::Name => format!("{alias}.sort_name"),
        SortField::CreatedAt => format!("{alias}.created_at"),
        SortField::UpdatedAt => format!("{alias}.updated_at"),
        SortField::Id => format!("{alias}.id"),
        SortField::Changes => format!("{alias}.change_seq"),
        SortField::Relevance => "rank".into(),
    }
}

fn sort_name(s: SortField) -> &'static str {
    match s {
        SortField::Name => "name",
        SortField::CreatedAt => "created_at",
        SortField::UpdatedAt => "updated_at",
        SortField::Id => "id",
        SortField::Changes => "changes",
        SortField::Relevance => "relevance",
    }
}

/// The sort key and id of `row`: what a cursor continuing after it holds.
fn cursor_key(sort: SortField, row: &dyn Row) -> Result<(Value, i64)> {
    let key: Value = match sort {
        SortField::Id | SortField::Changes => json!(row.get::<i64>("sort_key")?),
        // As raw bits: a decimal round trip may change the last digit, and keyset paging needs
        // the exact value.
        SortField::Relevance => json!(row.get::<f64>("sort_key")?.to_bits()),
        _ => json!(row.get::<String>("sort_key")?),
    };
    Ok((key, row.get::<i64>("id")?))
}

fn encode_cursor(sort: SortField, key: &Value, id: i64) -> String {
    let c = json!({"s": sort_name(sort), "k": key, "id": id});
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
    if v["s"] != sort_name(sort) {
        return Err(bad());
    }
    let id = v["id"].as_i64().ok_or_else(bad)?;
    let key = match sort {
        SortField::Id | SortField::Changes => Arg::Int(Some(v["k"].as_i64().ok_or_else(bad)?)),
        SortField::Relevance => Arg::Real(f64::from_bits(v["k"].as_u64().ok_or_else(bad)?)),
        _ => Arg::Text(Some(v["k"].as_str().ok_or_else(bad)?.to_string())),
    };
    Ok((key, id))
}

impl Store {
    /// Runs a list query and returns its rows (at most `limit`), each turned into a `T` by `f`,
    /// the next cursor and, for sync listings, the sync token.
    pub(crate) async fn list_rows<T: Send>(
        &self,
        actor: &Actor,
        spec: &Listing,
        p: &ListParams,
        mut f: impl FnMut(&dyn Row) -> Result<T> + Send,
    ) -> Result<Page<T>> {
        let a = spec.alias;
        if !spec.person && (p.lifecycle_stage.is_some() || p.company_id.is_some() || p.rfm_tier.is_some() || p.segment.is_some()) {
            return Err(Error::Invalid(ValidationErrors::single(
                "lifecycle_stage",
                "only people can be filtered by lifecycle stage or company",
            )));
        }
        // Roles that see personal data masked must not confirm it by searching or filtering
        // for it: their search covers public words only, and personal filters are refused.
        let pii = actor.sees_pii(spec.object);
        if p.email.is_some() && !pii {
            return Err(Error::Forbidden {
                field: "email".into(),
                message: "your role sees email addresses masked, so it cannot look people up by email".into(),
            });
        }
        if let Some(f) = p.custom.iter().find(|f| f.field.sensitive) {
            return Err(Error::Invalid(ValidationErrors::single(
                format!("custom.{}", f.field.key),
                "is a sensitive field: its values are stored encrypted and cannot be filtered",
            )));
        }
        let sync = p.sort == SortField::Changes;
        let relevance = p.sort == SortField::Relevance;
        // The inner query finds the page's ids with narrow rows (filters, rank, cursor, limit);
        // only those ids are joined to their full rows and companies. Ranking every match with
        // its wide row was what made searches slow.
        let mut q = Sql::new("SELECT ");
        (spec.cols)(&mut q, actor);
        q.push(&format!(", k.sort_key FROM (SELECT * FROM (SELECT {a}.id AS id, "));
        // Each term matches a word prefix in clear, or (when encrypting, for roles with pii) a
        // whole email or phone word through its keyed token.
        let fts_sqlite = if self.backend == Backend::Sqlite && !p.terms.is_empty() {
            let term = |t: &String| match (pii, self.term_token(t)) {
                (false, _) => format!("{} : \"{t}\"*", spec.public_columns),
                (true, Some(tok)) => format!("(\"{t}\"* OR \"{tok}\")"),
                (true, None) => format!("\"{t}\"*"),
            };
            // FTS5 needs an explicit AND between parenthesized groups.
            Some(p.terms.iter().map(term).collect::<Vec<_>>().join(" AND "))
        } else {
            None
        };
        // Public words carry weight A in the tsvector, private ones weight B.
        let tsquery = p
            .terms
            .iter()
            .map(|t| match (pii, self.term_token(t)) {
                (false, _) => format!("{t}:*A"),
                (true, Some(tok)) => format!("({t}:* | {tok})"),
                (true, None) => format!("{t}:*"),
            })
            .collect::<Vec<_>>()
            .join(" & ");
        if relevance {
            match self.backend {
                Backend::Sqlite => q.push(&format!("bm25({}, 10.0, 2.0, 2.0)", spec.fts)),
                // Negated so that ascending order puts the best match first, as bm25 does.
                Backend::Postgres => {
                    q.push(&format!("(-ts_rank({a}.search_tsv, to_tsquery('simple', ")).arg(tsquery.clone()).push(")))::float8")
                }
            };
        } else {
            q.push(&sort_column(a, p.sort));
        }
        q.push(" AS sort_key FROM ");
        if relevance && self.backend == Backend::Sqlite {
            q.push(&format!("{fts} JOIN {table} ON {a}.id = {fts}.rowid WHERE {fts} MATCH ", fts = spec.fts, table = spec.table))
                .arg(fts_sqlite.clone().unwrap_or_default());
        } else {
            q.push(&format!("{} WHERE 1 = 1", spec.table));
            if let Some(m) = &fts_sqlite {
                q.push(&format!(" AND {a}.id IN (SELECT rowid FROM {fts} WHERE {fts} MATCH ", fts = spec.fts)).arg(m.clone()).push(")");
            }
        }
        if !p.terms.is_empty() && self.backend == Backend::Postgres {
            q.push(&format!(" AND {a}.search_tsv @@ to_tsquery('simple', ")).arg(tsquery).push(")");
        }
        visible(&mut q, actor, a);
        if sync {
            // Tombstones included: that is how a syncing client learns of deletions.
            if let Some(t) = &p.updated_since {
                q.push(&format!(" AND {a}.updated_at > ")).arg(t.clone());
            }
        } else {
            q.push(&format!(" AND {a}.deleted_at IS NULL"));
        }
        if let Some(tag) = &p.tag {
            let (table, fk) = spec.tags;
            q.push(&format!(" AND {a}.id IN (SELECT {fk} FROM {table} WHERE tag = ")).arg(tag.clone()).push(")");
        }
        if let Some(o) = p.owner_id {
            q.push(&format!(" AND {a}.owner_id = ")).arg(o);
        }
        if let Some(s) = p.lifecycle_stage {
            q.push(&format!(" AND {a}.lifecycle_stage = ")).arg(s.as_str());
        }
        if let Some(e) = &p.email {
            if !spec.person {
                return Err(Error::Invalid(ValidationErrors::single("email", "only people can be looked up by email")));
            }
            q.push(&format!(" AND {a}.email_hash = ")).arg(self.email_key(e));
        }
        if let Some(t) = &p.rfm_tier {
            q.push(&format!(" AND {a}.rfm_tier = ")).arg(t.clone());
        }
        if let Some(s) = p.segment {
            q.push(&format!(" AND {a}.segment = ")).arg(s);
        }
        if let Some(c) = p.company_id {
            q.push(&format!(" AND {a}.company_id = ")).arg(c);
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
                (Backend::Sqlite, FieldType::Number) => {
                    (format!("json_extract({a}.custom, '$.{key}')"), Arg::Real(f.value.as_f64().unwrap_or(0.0)))
                }
                (Backend::Sqlite, FieldType::Boolean) => {
                    (format!("json_extract({a}.custom, '$.{key}')"), Arg::Int(Some((f.value.as_bool() == Some(true)) as i64)))
                }
                (Backend::Sqlite, _) => (format!("json_extract({a}.custom, '$.{key}')"), Arg::from(f.value.as_str().unwrap_or(""))),
                (Backend::Postgres, FieldType::Number) => {
                    (format!("(({a}.custom::jsonb) ->> '{key}')::float8"), Arg::Real(f.value.as_f64().unwrap_or(0.0)))
                }
                (Backend::Postgres, FieldType::Boolean) => (format!("(({a}.custom::jsonb) ->> '{key}')"), Arg::from(f.value.to_string())),
                (Backend::Postgres, _) => (format!("(({a}.custom::jsonb) ->> '{key}')"), Arg::from(f.value.as_str().unwrap_or(""))),
            };
            q.push(&format!(" AND {expr} {op} ")).arg(arg);
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
        q.push(&format!(") k JOIN {} ON {a}.id = k.id", spec.table));
        (spec.joins)(&mut q, actor);
        q.push(&format!(" ORDER BY k.sort_key {dir}, k.id {dir}"));
        let mut rows = self.read(&q, |r| Ok((f(r)?, cursor_key(p.sort, r)?))).await?;
        let more = rows.len() > p.limit as usize;
        rows.truncate(p.limit as usize);
        let last = rows.last().map(|(_, (key, id))| encode_cursor(p.sort, key, *id));
        let sync_token = if sync { last.clone().or_else(|| resume.cloned()) } else { None };
        let next_cursor = if more { last } else { None };
        Ok(Page { data: rows.into_iter().map(|(t, _)| t).collect(), next_cursor, sync_token })
    }
}
