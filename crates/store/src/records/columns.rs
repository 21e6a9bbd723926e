//! Between a record's JSON form and its table's columns, driven by its [`RecordSpec`].
//!
//! A record is written from its data as JSON (what the domain validated) to columns, in the
//! order of the spec's fields, so inserts and updates bind alike and no column list is kept in
//! step with a bind list by hand. Personal fields are sealed; derived columns are computed here
//! once for every record type: `sort_name` (the folded title), `<column>_hash` (the blind index
//! of a personal unique field), `search_text` and `private_text` (the words full-text search
//! indexes), and the filterable/sealed halves of custom values. Reading is the reverse, plus
//! the titles of referenced records the actor may see and the record's bookkeeping.

use rapport_domain::permissions::{Actor, mask};
use rapport_domain::record::{Field, Kind, RecordSpec, get_path, search_words, set_path};
use rapport_domain::text;
use serde_json::{Map, Value};

use crate::records::visible;
use crate::row::Row;
use crate::sql::{Arg, Sql};
use crate::{Result, Store};

/// The alias of a record's own table in every query the engine builds.
pub(crate) const ALIAS: &str = "r";

/// The spec of the record type whose plural is `plural` (for references).
pub(crate) fn spec_named(plural: &str) -> Option<&'static RecordSpec> {
    crate::records::engine::SPECS.iter().copied().find(|s| s.plural == plural)
}

/// The alias of the table joined for reference field `f`.
fn ref_alias(f: &Field) -> String {
    format!("r_{}", f.column())
}

/// A record's stored form: every column it is written to with its value, in spec order, and
/// its tags (kept in the tag table too).
pub(crate) struct Stored {
    pub cols: Vec<(String, Arg)>,
    pub tags: Option<Vec<String>>,
}

impl Stored {
    /// `(c1, c2, …)`.
    pub fn names(&self) -> String {
        self.cols.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// Appends `$1, $2, …` bound to the values.
    pub fn bind(&self, q: &mut Sql) {
        for (i, (_, v)) in self.cols.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.arg(v.clone());
        }
    }

    /// Adds or replaces a column's value.
    pub fn set(&mut self, col: &str, v: Arg) {
        match self.cols.iter_mut().find(|(c, _)| c == col) {
            Some(slot) => slot.1 = v,
            None => self.cols.push((col.to_string(), v)),
        }
    }
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

impl Store {
    /// The stored form of a record whose data is `data` (its JSON form). `sensitive` are the
    /// custom fields whose values are sealed.
    pub(crate) fn stored_form(&self, spec: &RecordSpec, data: &Map<String, Value>, sensitive: &[String]) -> Stored {
        let mut cols: Vec<(String, Arg)> = vec![];
        let mut tags = None;
        for f in spec.writable() {
            let v = get_path(data, f.name);
            let col = f.column();
            let seal = |s: String| if f.personal { self.seal(&s) } else { s };
            match f.kind {
                Kind::Tags => {
                    let list: Vec<String> =
                        v.as_array().map(|a| a.iter().filter_map(|t| t.as_str().map(String::from)).collect()).unwrap_or_default();
                    cols.push((col, Arg::from(serde_json::to_string(&list).unwrap_or_else(|_| "[]".into()))));
                    tags = Some(list);
                }
                Kind::Custom => {
                    let (open, sealed) = self.split_custom(v.as_object().unwrap_or(&Map::new()), sensitive);
                    cols.push(("custom".into(), Arg::from(open)));
                    cols.push(("custom_sealed".into(), Arg::from(sealed)));
                }
                Kind::Emails | Kind::Phones | Kind::Json => {
                    let json = if v.is_null() { "[]".to_string() } else { v.to_string() };
                    cols.push((col, Arg::from(seal(json))));
                }
                Kind::Int | Kind::Ref(_) | Kind::Money => cols.push((col, Arg::Int(v.as_i64()))),
                Kind::Number => cols.push((col, Arg::Real(v.as_f64()))),
                Kind::Bool => cols.push((col, Arg::Int(Some(v.as_bool().unwrap_or(false) as i64)))),
                _ => cols.push((col, Arg::Text(text_of(v).map(seal)))),
            }
            if f.unique && f.personal {
                let key = v.as_str().map(|s| self.email_key(s));
                cols.push((format!("{}_hash", f.column()), Arg::Text(key)));
            }
        }
        let title = get_path(data, spec.title).as_str().unwrap_or("");
        cols.push(("sort_name".into(), Arg::from(text::fold(title))));
        if spec.searched() {
            let (public, private) = search_words(spec, data);
            cols.push(("search_text".into(), Arg::from(public)));
            cols.push(("private_text".into(), Arg::from(self.private_text(private))));
        }
        Stored { cols, tags }
    }

    /// A record's JSON form from a row selected by [`select_cols`]: its fields (sealed ones
    /// opened), the titles of referenced records, and its bookkeeping.
    pub(crate) fn record_json(&self, spec: &RecordSpec, r: &dyn Row) -> Result<Map<String, Value>> {
        let mut m = Map::new();
        m.insert("id".into(), r.get::<i64>("id")?.into());
        for f in spec.fields {
            let col = f.column();
            let open = |s: Option<String>| -> Result<Option<String>> { if f.personal { self.open_opt(s) } else { Ok(s) } };
            let v = match f.kind {
                Kind::Tags => serde_json::from_str(&r.get::<String>(&col)?).unwrap_or(Value::Array(vec![])),
                Kind::Custom => {
                    let custom = serde_json::from_str(&r.get::<String>("custom")?).unwrap_or_default();
                    Value::Object(self.join_custom(custom, r.get("custom_sealed")?)?)
                }
                Kind::Emails | Kind::Phones | Kind::Json => match open(r.get(&col)?)? {
                    Some(s) => serde_json::from_str(&s).unwrap_or(Value::Null),
                    None => Value::Null,
                },
                Kind::Int | Kind::Ref(_) | Kind::Money => r.get::<Option<i64>>(&col)?.map(Value::from).unwrap_or(Value::Null),
                Kind::Number => r.get::<Option<f64>>(&col)?.map(Value::from).unwrap_or(Value::Null),
                Kind::Bool => Value::Bool(r.get::<Option<i64>>(&col)?.unwrap_or(0) != 0),
                _ => open(r.get(&col)?)?.map(Value::String).unwrap_or(Value::Null),
            };
            set_path(&mut m, f.name, v);
            if let Some(shown) = f.shown_as {
                m.insert(shown.into(), r.get::<Option<String>>(shown)?.map(Value::String).unwrap_or(Value::Null));
            }
        }
        for col in ["created_at", "updated_at"] {
            m.insert(col.into(), r.get::<String>(col)?.into());
        }
        m.insert("deleted_at".into(), r.get::<Option<String>>("deleted_at")?.map(Value::String).unwrap_or(Value::Null));
        m.insert("version".into(), r.get::<i64>("version")?.into());
        Ok(m)
    }
}

/// Appends the columns [`Store::record_json`] reads, the titles of referenced records included.
pub(crate) fn select_cols(q: &mut Sql, spec: &RecordSpec) {
    let a = ALIAS;
    q.push(&format!("{a}.id, {a}.created_at, {a}.updated_at, {a}.deleted_at, {a}.version"));
    for f in spec.fields.iter().filter(|f| !f.computed) {
        match f.kind {
            Kind::Custom => q.push(&format!(", {a}.custom, {a}.custom_sealed")),
            _ => q.push(&format!(", {a}.{}", f.column())),
        };
        if let (Some(shown), Kind::Ref(target)) = (f.shown_as, f.kind) {
            let title = spec_named(target).map(|t| t.title).unwrap_or("name");
            q.push(&format!(", {}.{title} AS {shown}", ref_alias(f)));
        }
    }
}

/// Appends the joins that bring referenced records' titles, each only where the actor may see
/// the referenced record (a title out of reach shows as `null`).
pub(crate) fn ref_joins(q: &mut Sql, spec: &RecordSpec, actor: &Actor) {
    for f in spec.fields.iter().filter(|f| f.shown_as.is_some()) {
        let Kind::Ref(target) = f.kind else { continue };
        let Some(t) = spec_named(target) else { continue };
        let ra = ref_alias(f);
        q.push(&format!(" LEFT JOIN {target} {ra} ON {ra}.id = {ALIAS}.{} AND {ra}.deleted_at IS NULL", f.column()));
        if t.owned {
            visible(q, actor, &ra);
        }
    }
}

/// Masks what `actor` may not see of a record's JSON form: personal fields without `pii`, and
/// the custom values whose keys are in `masked`.
pub(crate) fn mask_json(spec: &RecordSpec, actor: &Actor, m: &mut Map<String, Value>, masked: &[String]) {
    if !actor.sees_pii(spec.object) {
        for f in spec.fields.iter().filter(|f| f.personal) {
            let masked_value = match get_path(m, f.name) {
                Value::String(s) => Value::String(mask(s)),
                Value::Array(items) => {
                    Value::Array(items.iter().map(|i| i.as_str().map(|s| Value::String(mask(s))).unwrap_or(Value::Null)).collect())
                }
                _ => continue,
            };
            set_path(m, f.name, masked_value);
        }
    }
    if let Some(Value::Object(custom)) = m.get_mut("custom") {
        crate::custom_fields::mask_custom(custom, masked);
    }
}
