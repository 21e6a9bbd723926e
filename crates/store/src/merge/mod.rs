//! Merging duplicates (issue 13 §5), of people ([`people`]) and of companies ([`companies`]):
//! one survivor keeps, field by field, the value the caller chose among the merged records;
//! every record related to a loser moves to the survivor; each loser stays as a tombstone
//! naming the survivor (`merged_into`), which reads of its id and sync listings report. All of
//! it in one transaction, audited, with a `<object>.merged` event in the outbox.

use std::collections::BTreeMap;

use rapport_domain::ValidationErrors;
use rapport_domain::permissions::{Action, Actor, require};
use rapport_domain::record::{Kind, RecordSpec, get_path, set_path};
use serde_json::{Map, Value, json};

use crate::records::engine::Table;
use crate::sql::sql;
use crate::{Error, Result, Store, WriteTx};

mod companies;
mod people;

pub use companies::company_merge_fields;
pub use people::merge_fields;

/// The fields of `spec` a merge chooses among: the editable ones (custom values go by
/// `custom.<key>`).
fn editable(spec: &RecordSpec) -> Vec<&'static str> {
    spec.fields.iter().filter(|f| !f.read_only && !f.computed && f.kind != Kind::Custom).map(|f| f.name).collect()
}

fn to_map<T: serde::Serialize>(d: &T) -> Map<String, Value> {
    match serde_json::to_value(d) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

fn blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

impl Store {
    /// The start of a merge of `losers` into `survivor` (at version `if_match`): the actor may
    /// update and delete such records; the losers (each once), the write transaction, and the
    /// survivor and the losers read in it. Refused, with nothing written, when the survivor is
    /// missing, merged or deleted, or a loser is not a live record the actor sees.
    async fn merge_parties<T: Table>(
        &self,
        actor: &Actor,
        survivor: i64,
        losers: &[i64],
        if_match: Option<i64>,
    ) -> Result<(WriteTx, Vec<i64>, T, Vec<T>)> {
        require(actor, T::SPEC.object, Action::Update)?;
        require(actor, T::SPEC.object, Action::Delete)?;
        let ids = self::losers(survivor, losers, T::SPEC.label)?;
        let mut tx = self.write_tx().await?;
        let kept = match self.record_in::<T>(&mut tx, actor, survivor, false).await {
            Err(Error::NotFound) => return Err(self.gone_or_missing::<T>(&mut tx, actor, survivor).await),
            other => other?,
        };
        crate::records::check_version(if_match, kept.version())?;
        let mut gone = Vec::new();
        for &l in &ids {
            match self.record_in::<T>(&mut tx, actor, l, false).await {
                Ok(c) => gone.push(c),
                Err(Error::NotFound) => {
                    return Err(Error::Invalid(ValidationErrors::single(
                        "losers",
                        format!("there is no live {} with id {l} that you may see (deleted or merged already?)", T::SPEC.label),
                    )));
                }
                Err(e) => return Err(e),
            }
        }
        Ok((tx, ids, kept, gone))
    }

    /// The end of a merge whose losers were absorbed: the survivor takes the `merged` data (once
    /// the losers are tombstones, so a unique value chosen from one is free), one `merge` audit
    /// row names the losers (`names`), the choices and what moved, each loser gets a
    /// `merged_into` row, and the transaction commits. The survivor as the actor sees it, and
    /// the audit's diff.
    #[allow(clippy::too_many_arguments)]
    async fn finish_merge<T: Table>(
        &self,
        mut tx: WriteTx,
        actor: &Actor,
        survivor: i64,
        ids: &[i64],
        names: Vec<String>,
        choices: &BTreeMap<String, i64>,
        moved: BTreeMap<String, u64>,
        merged: T::Data,
    ) -> Result<(T, Value)> {
        self.update_in::<T, _, Error>(&mut tx, actor, survivor, None, |_| Ok(merged)).await?;
        let diff = json!({"survivor": survivor, "merged": ids, "merged_names": names, "choices": choices, "moved": moved});
        let object = T::SPEC.name;
        self.audit(&mut tx, actor, "merge", object, Some(survivor), diff.clone()).await?;
        for l in ids {
            self.audit(&mut tx, actor, "merged_into", object, Some(*l), json!({"into": survivor})).await?;
        }
        let seen = self.as_seen::<T>(&mut tx, actor, survivor).await?;
        tx.commit().await?;
        Ok((seen, diff))
    }

    /// What a merge into a missing record `id` is: [`Error::Merged`] when its tombstone names a
    /// survivor, a refusal when it is deleted, [`Error::NotFound`] when the actor cannot see it.
    async fn gone_or_missing<T: Table>(&self, tx: &mut WriteTx, actor: &Actor, id: i64) -> Error {
        if self.record_in::<T>(tx, actor, id, true).await.is_err() {
            return Error::NotFound;
        }
        let q = sql(&format!("SELECT merged_into FROM {} WHERE id = ? AND deleted_at IS NOT NULL", T::SPEC.plural), [id.into()]);
        match tx.fetch_optional(&q, |r| r.get::<Option<i64>>("merged_into")).await {
            Ok(Some(Some(into))) => Error::Merged { into, plural: T::SPEC.plural },
            Ok(Some(None)) => {
                let label = T::SPEC.label;
                Error::Invalid(ValidationErrors::single(
                    "id",
                    format!("{label} {id} is deleted: nothing can be merged into a deleted {label}"),
                ))
            }
            _ => Error::NotFound,
        }
    }

    /// The answer to reading record `id`, which is not live: merged (naming a survivor the
    /// actor may see) or not found.
    pub(crate) async fn merged_or_not_found<T: Table>(&self, actor: &Actor, id: i64) -> Error {
        let q = sql(&format!("SELECT merged_into FROM {} WHERE id = ? AND deleted_at IS NOT NULL", T::SPEC.plural), [id.into()]);
        match self.read_optional(&q, |r| r.get::<Option<i64>>("merged_into")).await {
            Ok(Some(Some(into))) if self.record_visible::<T>(actor, into).await.is_ok() => Error::Merged { into, plural: T::SPEC.plural },
            _ => Error::NotFound,
        }
    }
}

/// The losers of a merge into `survivor`, each once; refused when there is none or the
/// survivor is among them (`noun`: "person", "company").
fn losers(survivor: i64, losers: &[i64], noun: &str) -> Result<Vec<i64>> {
    let mut ids: Vec<i64> = Vec::new();
    for &l in losers {
        if !ids.contains(&l) {
            ids.push(l);
        }
    }
    if ids.is_empty() {
        return Err(Error::Invalid(ValidationErrors::single("losers", format!("name at least one {noun} to merge into this one"))));
    }
    if ids.contains(&survivor) {
        return Err(Error::Invalid(ValidationErrors::single("losers", format!("a {noun} cannot be merged into itself"))));
    }
    Ok(ids)
}

/// The survivor's fields after a merge of `maps` (the survivor first, then the losers, as
/// JSON): for each of `fields`, the value of the record `choices` names, or else the
/// survivor's, or when that is empty the first loser's that is not; custom values key by key
/// alike. A list of `lists` not chosen is the union of every record's, with the values of its
/// primary field (`email` for `additional_emails`) that did not survive. `plural` names the
/// records in errors.
fn choose(
    maps: &[(i64, Map<String, Value>)],
    fields: &[&str],
    lists: &[(&str, Option<&str>)],
    choices: &BTreeMap<String, i64>,
    plural: &str,
) -> std::result::Result<Map<String, Value>, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    for (field, id) in choices {
        let known = fields.contains(&field.as_str()) || field.strip_prefix("custom.").is_some_and(|k| !k.is_empty());
        if !known {
            errors.add(format!("fields.{field}"), format!("{field} is not a field of {plural} that a merge chooses"));
        } else if !maps.iter().any(|(i, _)| i == id) {
            errors.add(format!("fields.{field}"), format!("{id} is not one of the merged {plural}: choose the survivor's id or a loser's"));
        }
    }
    if !errors.0.is_empty() {
        return Err(errors);
    }
    let pick = |path: &str, value: &dyn Fn(&Map<String, Value>) -> Value| -> Value {
        if let Some(id) = choices.get(path) {
            return maps.iter().find(|(i, _)| i == id).map(|(_, m)| value(m)).unwrap_or(Value::Null);
        }
        maps.iter().map(|(_, m)| value(m)).find(|v| !blank(v)).unwrap_or_else(|| value(&maps[0].1))
    };
    let mut out = maps[0].1.clone();
    for field in fields {
        if lists.iter().any(|(l, _)| l == field) && !choices.contains_key(*field) {
            continue;
        }
        let v = pick(field, &|m| get_path(m, field).clone());
        set_path(&mut out, field, v);
    }
    let mut keys: Vec<String> =
        maps.iter().flat_map(|(_, m)| m.get("custom").and_then(Value::as_object).into_iter().flat_map(|c| c.keys().cloned())).collect();
    keys.extend(choices.keys().filter_map(|k| k.strip_prefix("custom.").map(String::from)));
    keys.sort();
    keys.dedup();
    let mut custom = Map::new();
    for key in keys {
        let v = pick(&format!("custom.{key}"), &|m| m.get("custom").and_then(|c| c.get(&key)).cloned().unwrap_or(Value::Null));
        if !v.is_null() {
            custom.insert(key, v);
        }
    }
    out.insert("custom".into(), Value::Object(custom));
    // Lists: the union, in order, without the primary value that survived.
    let union = |list: &str, primary: Option<&str>| -> Value {
        let mut all: Vec<String> = Vec::new();
        for (_, m) in maps {
            let mut values: Vec<String> = vec![];
            if let Some(p) = primary {
                values.extend(get_path(m, p).as_str().map(String::from));
            }
            values.extend(get_path(m, list).as_array().into_iter().flatten().filter_map(|v| v.as_str().map(String::from)));
            for v in values {
                if !all.iter().any(|a| a.eq_ignore_ascii_case(&v)) {
                    all.push(v);
                }
            }
        }
        let kept = primary.and_then(|p| get_path(&out, p).as_str().map(str::to_lowercase));
        Value::from(all.into_iter().filter(|v| Some(v.to_lowercase()) != kept).collect::<Vec<_>>())
    };
    let unions: Vec<(&str, Value)> =
        lists.iter().filter(|(list, _)| !choices.contains_key(*list)).map(|(list, primary)| (*list, union(list, *primary))).collect();
    for (list, v) in unions {
        set_path(&mut out, list, v);
    }
    Ok(out)
}

/// Moves rows of `table` from `loser` to `survivor` where (`group`, `col`) would not collide.
async fn move_unique(tx: &mut WriteTx, table: &str, col: &str, group: &str, loser: i64, survivor: i64) -> Result<u64> {
    let q = format!(
        "UPDATE {table} SET {col} = ? WHERE {col} = ? AND NOT EXISTS \
         (SELECT 1 FROM {table} x WHERE x.{col} = ? AND x.{group} = {table}.{group})"
    );
    tx.execute(&sql(&q, [survivor.into(), loser.into(), survivor.into()])).await
}
