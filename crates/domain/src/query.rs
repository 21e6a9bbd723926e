//! List parameters shared by the API and the UI: what a list request may ask for, parsed and
//! checked once, so the store only ever sees valid sorts and filters.

use serde_json::Value;

use crate::ValidationErrors;
use crate::custom_field::{CustomField, FieldType};
use crate::customer::LifecycleStage;

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

/// Columns a list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    /// Name, case- and accent-insensitive.
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
}

/// Comparison in a custom-field filter.
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
    /// Only records with this tag.
    pub tag: Option<String>,
    /// Only records owned by this user.
    pub owner_id: Option<i64>,
    /// Only people at this stage.
    pub lifecycle_stage: Option<LifecycleStage>,
    /// Only people of this company.
    pub company_id: Option<i64>,
    /// Only the person with this primary email (exact, case-insensitive).
    pub email: Option<String>,
    /// Only people in this RFM tier.
    pub rfm_tier: Option<String>,
    /// Only people in this segment.
    pub segment: Option<i64>,
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
}

impl Default for ListParams {
    fn default() -> Self {
        ListParams {
            limit: 50,
            cursor: None,
            terms: vec![],
            sort: SortField::Name,
            desc: false,
            tag: None,
            owner_id: None,
            lifecycle_stage: None,
            company_id: None,
            email: None,
            rfm_tier: None,
            segment: None,
            custom: vec![],
            created_after: None,
            created_before: None,
            updated_after: None,
            updated_before: None,
            updated_since: None,
            sync_token: None,
        }
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
    /// Parses query-string pairs. `defs` are the custom fields of the listed object; keys that
    /// are not list parameters are refused so that typos do not silently return everything.
    pub fn parse(pairs: &[(String, String)], defs: &[CustomField]) -> Result<ListParams, ValidationErrors> {
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
                "q" => p.terms = crate::text::query_terms(v),
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
                        "relevance" => SortField::Relevance,
                        _ => {
                            errs.add("sort", "use name, created_at, updated_at, id or relevance, with - for descending");
                            SortField::Name
                        }
                    };
                }
                "tag" => p.tag = Some(v.to_string()),
                "owner_id" => p.owner_id = errs.check("owner_id", v.parse::<i64>().map_err(|_| "must be a user id")),
                "company_id" => p.company_id = errs.check("company_id", v.parse::<i64>().map_err(|_| "must be a company id")),
                "lifecycle_stage" => {
                    p.lifecycle_stage = LifecycleStage::parse(v);
                    if p.lifecycle_stage.is_none() {
                        errs.add("lifecycle_stage", "use lead, prospect, customer or churned");
                    }
                }
                "email" => p.email = errs.check("email", crate::values::Email::parse(v)).map(|e| e.to_string()),
                "rfm_tier" => p.rfm_tier = Some(v.to_string()),
                "segment" => p.segment = errs.check("segment", v.parse::<i64>().map_err(|_| "must be a segment number")),
                "created_after" => p.created_after = errs.check(k, parse_time(v)),
                "created_before" => p.created_before = errs.check(k, parse_time(v)),
                "updated_after" => p.updated_after = errs.check(k, parse_time(v)),
                "updated_before" => p.updated_before = errs.check(k, parse_time(v)),
                "updated_since" => p.updated_since = errs.check(k, parse_time(v)),
                "sync_token" => p.sync_token = Some(v.to_string()),
                other => match other.strip_prefix("custom.") {
                    Some(rest) => {
                        if let Some(f) = parse_custom_filter(rest, v, defs, &mut errs) {
                            p.custom.push(f);
                        }
                    }
                    None => errs.add(other, "is not a list parameter (see /docs for the filters this list takes)"),
                },
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

    #[test]
    fn search_defaults_to_relevance_and_sync_to_update_order() {
        let p = ListParams::parse(&pairs(&[("q", "Zoë")]), &[]).unwrap();
        assert_eq!((p.sort, p.terms.clone()), (SortField::Relevance, vec!["zoe".to_string()]));
        let p = ListParams::parse(&pairs(&[("updated_since", "2024-01-01"), ("sort", "-name")]), &[]).unwrap();
        assert_eq!((p.sort, p.desc), (SortField::Changes, false));
    }

    #[test]
    fn unknown_parameters_and_bad_values_are_named() {
        let e = ListParams::parse(&pairs(&[("limt", "5"), ("limit", "0"), ("custom.x", "1")]), &[]).unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["limt", "limit", "custom.x"]);
    }
}
