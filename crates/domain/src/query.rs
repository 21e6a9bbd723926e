//! List parameters shared by the API and the UI: what a list request may ask for, parsed and
//! checked once against the record type's [`RecordSpec`], so the store only ever sees valid
//! sorts and filters.

use serde_json::Value;

use crate::ValidationErrors;
use crate::custom_field::{CustomField, FieldType};
use crate::record::{Field, Kind, RecordSpec};

/// One page of a list.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// The records.
    pub data: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// Sync listings only (`updated_since` or `sync_token`): pass as `sync_token` later to get
    /// every change made after the ones this page holds, in commit order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_token: Option<String>,
}

/// What a list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    /// The record's title (its name), case- and accent-insensitive.
    Name,
    /// Creation time.
    CreatedAt,
    /// Last change.
    UpdatedAt,
    /// Identifier.
    Id,
    /// Search relevance (only with `q`).
    Relevance,
    /// Commit order of changes: sync listings (`updated_since`, `sync_token`) only.
    Changes,
    /// A sortable field of the record type.
    Field(&'static Field),
}

impl SortField {
    /// The name in `sort=` and in cursors.
    pub fn name(self) -> &'static str {
        match self {
            SortField::Name => "name",
            SortField::CreatedAt => "created_at",
            SortField::UpdatedAt => "updated_at",
            SortField::Id => "id",
            SortField::Relevance => "relevance",
            SortField::Changes => "changes",
            SortField::Field(f) => f.param(),
        }
    }
}

/// Comparison in a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// Equal.
    Eq,
    /// Greater than or equal.
    Gte,
    /// Less than or equal.
    Lte,
}

/// `custom.<key>[.gte|.lte]=value`.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomFilter {
    /// The field.
    pub field: CustomField,
    /// Comparison.
    pub op: CompareOp,
    /// Value in the field's JSON form.
    pub value: Value,
}

/// `<field>[.gte|.lte]=value` on a filterable field of the record type.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldFilter {
    /// The field.
    pub field: &'static Field,
    /// Comparison.
    pub op: CompareOp,
    /// Value in the field's JSON form (an id, a number, a string…).
    pub value: Value,
}

/// A parsed list request.
#[derive(Debug, Clone, PartialEq)]
pub struct ListParams {
    /// Page size, 1 to 500.
    pub limit: u32,
    /// Opaque cursor from the previous page.
    pub cursor: Option<String>,
    /// Full-text search terms (already folded).
    pub terms: Vec<String>,
    /// Sort column.
    pub sort: SortField,
    /// Descending order.
    pub desc: bool,
    /// Filters on the record type's own fields (tags and owner included).
    pub filters: Vec<FieldFilter>,
    /// Custom field filters.
    pub custom: Vec<CustomFilter>,
    /// `created_at >= `.
    pub created_after: Option<String>,
    /// `created_at < `.
    pub created_before: Option<String>,
    /// `updated_at >= `.
    pub updated_after: Option<String>,
    /// `updated_at < `.
    pub updated_before: Option<String>,
    /// Sync mode: everything changed after this time, tombstones included, in commit order.
    pub updated_since: Option<String>,
    /// Sync mode: everything changed after the poll that returned this token.
    pub sync_token: Option<String>,
    /// People only: the members of this segment (`segment=ID`, resolved by the store's caller).
    pub audience: Option<crate::marketing::segments::Audience>,
}

impl Default for ListParams {
    fn default() -> Self {
        ListParams {
            limit: 50,
            cursor: None,
            terms: vec![],
            sort: SortField::Name,
            desc: false,
            filters: vec![],
            custom: vec![],
            created_after: None,
            created_before: None,
            updated_after: None,
            updated_before: None,
            updated_since: None,
            sync_token: None,
            audience: None,
        }
    }
}

impl ListParams {
    /// These parameters with one more equality filter on `field` of `spec` (which must exist).
    pub fn with(mut self, spec: &RecordSpec, field: &str, value: impl Into<Value>) -> ListParams {
        let field = spec.param(field).unwrap_or_else(|| panic!("{} has no field {field}", spec.plural));
        self.filters.push(FieldFilter { field, op: CompareOp::Eq, value: value.into() });
        self
    }

    /// The value of the equality filter on the field listed as `param`, if any.
    pub fn filter_value(&self, param: &str) -> Option<&Value> {
        let param = if param == "tag" { "tags" } else { param };
        self.filters.iter().find(|f| f.field.param() == param && f.op == CompareOp::Eq).map(|f| &f.value)
    }
}

/// Reads `2024-05-01` or any RFC 3339 time as the canonical UTC text records carry.
pub fn parse_time(raw: &str) -> Result<String, String> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(raw) {
        return Ok(t.with_timezone(&chrono::Utc).to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        return Ok(format!("{}T00:00:00.000000Z", d.format("%Y-%m-%d")));
    }
    Err(format!("'{raw}' is not a date (YYYY-MM-DD) or RFC 3339 time"))
}

impl ListParams {
    /// Parses query-string pairs of a list of `spec` records. `defs` are the record type's custom
    /// fields; keys that are not list parameters are refused so that typos do not silently
    /// return everything.
    pub fn parse(pairs: &[(String, String)], spec: &RecordSpec, defs: &[CustomField]) -> Result<ListParams, ValidationErrors> {
        let mut p = ListParams::default();
        let mut errs = ValidationErrors::default();
        let mut sort_given = false;
        for (k, v) in pairs {
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            match k.as_str() {
                "limit" => match v.parse::<u32>() {
                    Ok(n) if (1..=500).contains(&n) => p.limit = n,
                    _ => errs.add("limit", "must be a whole number from 1 to 500"),
                },
                "cursor" => p.cursor = Some(v.to_string()),
                "q" if spec.searched() => p.terms = crate::text::query_terms(v),
                "sort" => {
                    sort_given = true;
                    let (desc, name) = match v.strip_prefix('-') {
                        Some(n) => (true, n),
                        None => (false, v),
                    };
                    p.desc = desc;
                    p.sort = match name {
                        "name" => SortField::Name,
                        "created_at" => SortField::CreatedAt,
                        "updated_at" => SortField::UpdatedAt,
                        "id" => SortField::Id,
                        "relevance" if spec.searched() => SortField::Relevance,
                        other => match spec.param(other).filter(|f| f.sort) {
                            Some(f) => SortField::Field(f),
                            None => {
                                errs.add("sort", sort_help(spec));
                                SortField::Name
                            }
                        },
                    };
                }
                "created_after" => p.created_after = errs.check(k, parse_time(v)),
                "created_before" => p.created_before = errs.check(k, parse_time(v)),
                "updated_after" => p.updated_after = errs.check(k, parse_time(v)),
                "updated_before" => p.updated_before = errs.check(k, parse_time(v)),
                "updated_since" => p.updated_since = errs.check(k, parse_time(v)),
                "sync_token" => p.sync_token = Some(v.to_string()),
                other => {
                    if let Some(rest) = other.strip_prefix("custom.").filter(|_| spec.custom.is_some()) {
                        if let Some(f) = parse_custom_filter(rest, v, defs, &mut errs) {
                            p.custom.push(f);
                        }
                    } else if let Some(f) = parse_field_filter(other, v, spec, &mut errs) {
                        p.filters.push(f);
                    }
                }
            }
        }
        if p.sort == SortField::Relevance && p.terms.is_empty() {
            errs.add("sort", "relevance needs a search q=");
        }
        if !p.terms.is_empty() && !sort_given {
            p.sort = SortField::Relevance;
        }
        if p.updated_since.is_some() || p.sync_token.is_some() {
            // Sync reads changes in the order they were committed, so a client can resume from
            // the last one it saw without missing one committed late.
            if !p.terms.is_empty() {
                errs.add("q", "sync listings (updated_since, sync_token) cannot be combined with a search");
            }
            p.sort = SortField::Changes;
            p.desc = false;
        }
        errs.into_result(p)
    }
}

fn sort_help(spec: &RecordSpec) -> String {
    let mut names: Vec<&str> = vec!["name", "created_at", "updated_at", "id"];
    names.extend(spec.fields.iter().filter(|f| f.sort && f.name != spec.title).map(|f| f.param()));
    if spec.searched() {
        names.push("relevance");
    }
    format!("use {}, with - for descending", names.join(", "))
}

/// `<field>[.gte|.lte]=value` on a filterable field, its value parsed by the field's kind.
fn parse_field_filter(key: &str, raw: &str, spec: &RecordSpec, errs: &mut ValidationErrors) -> Option<FieldFilter> {
    let (name, op) = match key.rsplit_once('.') {
        Some((n, "gte")) => (n, CompareOp::Gte),
        Some((n, "lte")) => (n, CompareOp::Lte),
        _ => (key, CompareOp::Eq),
    };
    let Some(field) = spec.param(name).filter(|f| f.filter) else {
        errs.add(key, "is not a list parameter (see /docs for the filters this list takes)");
        return None;
    };
    if op != CompareOp::Eq && !field.ranged() {
        errs.add(key, "only numbers, amounts, dates and times take .gte and .lte");
        return None;
    }
    let value = match field.kind {
        Kind::Int | Kind::Money | Kind::Ref(_) => raw.parse::<i64>().map(Value::from).map_err(|_| "must be a whole number".to_string()),
        Kind::Number => raw.parse::<f64>().map_err(|_| "must be a number".to_string()).map(Value::from),
        Kind::Bool => match raw {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err("use true or false".to_string()),
        },
        Kind::Date => chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .map(|d| Value::from(d.format("%Y-%m-%d").to_string()))
            .map_err(|_| format!("'{raw}' is not a date (YYYY-MM-DD)")),
        Kind::Time => parse_time(raw).map(Value::from),
        Kind::Choice(options) => {
            if options.contains(&raw) {
                Ok(Value::from(raw))
            } else {
                Err(format!("use {}", or_list(options)))
            }
        }
        Kind::Email => crate::values::Email::parse(raw).map(|e| Value::from(e.to_string())).map_err(|e| e.to_string()),
        Kind::Tags => crate::values::tag(raw).map(Value::from),
        _ => Ok(Value::from(raw)),
    };
    let value = errs.check(key, value)?;
    Some(FieldFilter { field, op, value })
}

/// `a, b or c`.
pub fn or_list(options: &[&str]) -> String {
    match options {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn parse_custom_filter(rest: &str, raw: &str, defs: &[CustomField], errs: &mut ValidationErrors) -> Option<CustomFilter> {
    let (key, op) = match rest.rsplit_once('.') {
        Some((k, "gte")) => (k, CompareOp::Gte),
        Some((k, "lte")) => (k, CompareOp::Lte),
        _ => (rest, CompareOp::Eq),
    };
    let field_name = format!("custom.{rest}");
    let Some(def) = defs.iter().find(|d| d.key == key) else {
        errs.add(field_name, format!("unknown custom field '{key}'"));
        return None;
    };
    if op != CompareOp::Eq && !matches!(def.field_type, FieldType::Number | FieldType::Date) {
        errs.add(field_name, "only number and date fields take .gte and .lte");
        return None;
    }
    let value = errs.check(&field_name, def.parse_filter_value(raw))?;
    Some(CustomFilter { field: def.clone(), op, value })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(s: &[(&str, &str)]) -> Vec<(String, String)> {
        s.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    use crate::customer::SPEC;

    #[test]
    fn search_defaults_to_relevance_and_sync_to_commit_order() {
        let p = ListParams::parse(&pairs(&[("q", "Zoë")]), &SPEC, &[]).unwrap();
        assert_eq!((p.sort, p.terms.clone()), (SortField::Relevance, vec!["zoe".to_string()]));
        let p = ListParams::parse(&pairs(&[("updated_since", "2024-01-01"), ("sort", "-name")]), &SPEC, &[]).unwrap();
        assert_eq!((p.sort, p.desc), (SortField::Changes, false));
    }

    #[test]
    fn unknown_parameters_and_bad_values_are_named() {
        let e = ListParams::parse(&pairs(&[("limt", "5"), ("limit", "0"), ("custom.x", "1")]), &SPEC, &[]).unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["limt", "limit", "custom.x"]);
    }

    #[test]
    fn field_filters_are_parsed_by_their_kind() {
        let p = ListParams::parse(&pairs(&[("lifecycle_stage", "lead"), ("company_id", "7"), ("tag", "vip")]), &SPEC, &[]).unwrap();
        assert_eq!(p.filter_value("lifecycle_stage"), Some(&Value::from("lead")));
        assert_eq!(p.filter_value("company_id"), Some(&Value::from(7)));
        assert_eq!(p.filter_value("tag"), Some(&Value::from("vip")));
        let e = ListParams::parse(&pairs(&[("lifecycle_stage", "king"), ("company_id", "x"), ("name.gte", "a")]), &SPEC, &[]).unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["lifecycle_stage", "company_id", "name.gte"]);
    }
}
