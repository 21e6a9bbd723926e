//! Segments: who a campaign reaches, as rules stored as data.
//!
//! A dynamic segment's `rules` is a tree of groups and conditions:
//!
//! ```json
//! {"all": [
//!   {"field": "address.country", "op": "eq", "value": "DE"},
//!   {"any": [{"field": "orders.total_spend", "op": "gte", "value": 50000},
//!            {"field": "tag", "op": "has", "value": "vip"}]},
//!   {"not": {"field": "engagement.opened", "op": "eq", "value": 12}}
//! ]}
//! ```
//!
//! [`parse_rules`] checks it against the [`catalogue`] (and the people's custom fields) and
//! names the path of every problem (`rules.all[1].any[0].op`); the store compiles the checked
//! [`Rule`] to one SQL condition with bound values. A static segment (a list) has no rules:
//! its members are rows that people join by hand or through the API. Either kind may exclude
//! other segments' members (`exclude`, segment ids).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::custom_field::{CustomField, FieldType};
use crate::customer::{apply_name, apply_text};
use crate::permissions::Object;
use crate::record::{Field, Kind, RecordSpec};
use crate::{ValidationErrors, double_option};

/// Segments as a record type. They are shared marketing data under the campaign permission
/// (everyone reads them; marketers and admins change them), so not owned; what a segment
/// counts is still limited to the people the reader may see.
pub static SPEC: RecordSpec = RecordSpec {
    name: "segment",
    plural: "segments",
    label: "segment",
    label_plural: "segments",
    object: Object::Campaign,
    title: "name",
    owned: false,
    custom: None,
    fields: &[
        Field::new("name", "Name", Kind::Text).searched().sorted(),
        Field::new("kind", "Kind", Kind::Choice(KINDS)).filtered(),
        Field::new("description", "Description", Kind::LongText).searched(),
        Field::new("rules", "Rules", Kind::Json),
        Field::new("exclude", "Exclude members of", Kind::Json),
    ],
};

/// `dynamic` (rules) or `static` (a list people join).
pub const KINDS: &[&str] = &["dynamic", "static"];

/// What a rule's value is compared as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueType {
    /// Text.
    Text,
    /// A number (money in minor units, ids, scores).
    Number,
    /// A calendar day, `YYYY-MM-DD`.
    Date,
    /// `true` or `false`.
    Bool,
    /// A tag.
    Tag,
    /// A campaign id (engagement).
    Campaign,
}

impl ValueType {
    /// The operators this type takes.
    pub fn ops(self) -> &'static [&'static str] {
        match self {
            ValueType::Text => &["eq", "ne", "in", "not_in", "contains", "starts_with", "is_set", "is_empty"],
            ValueType::Number => &["eq", "ne", "gt", "gte", "lt", "lte", "is_set", "is_empty"],
            ValueType::Date => &["eq", "gt", "gte", "lt", "lte", "within_last_days", "not_within_last_days", "is_set", "is_empty"],
            ValueType::Bool => &["eq"],
            ValueType::Tag => &["has", "has_not"],
            ValueType::Campaign => &["eq"],
        }
    }
}

/// Where a rule field's value comes from (the store turns it into SQL).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A column of the person (`address_country`, `rfm_tier`); `time` when it holds RFC 3339
    /// times compared by their day.
    Person {
        /// The column.
        column: String,
        /// Whether it is a time compared by day.
        time: bool,
    },
    /// A column of the person's company.
    Company {
        /// The column.
        column: String,
    },
    /// A custom field of people.
    Custom {
        /// Its key.
        key: String,
    },
    /// The person's tags.
    Tag,
    /// Sum of paid and shipped orders' totals, in minor units.
    TotalSpend,
    /// Number of paid and shipped orders.
    OrderCount,
    /// Day of the last paid or shipped order.
    LastOrderDate,
    /// A campaign membership milestone: `member`, `received`, `opened`, `clicked`, `not_opened`.
    Engagement(String),
}

/// One field rules can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleField {
    /// The name rules use.
    pub name: &'static str,
    /// Its label in the builder.
    pub label: &'static str,
    /// What values it compares.
    pub ty: ValueType,
}

const fn rf(name: &'static str, label: &'static str, ty: ValueType) -> RuleField {
    RuleField { name, label, ty }
}

/// The fields rules can name (besides `custom.<key>` for people's custom fields). Personal
/// fields are sealed at rest, so no rule compares them.
pub const CATALOGUE: &[RuleField] = &[
    rf("address.city", "City", ValueType::Text),
    rf("address.region", "Region", ValueType::Text),
    rf("address.country", "Country", ValueType::Text),
    rf("lifecycle_stage", "Lifecycle stage", ValueType::Text),
    rf("lead_status", "Lead status", ValueType::Text),
    rf("source", "Source", ValueType::Text),
    rf("owner_id", "Owner (user id)", ValueType::Number),
    rf("company_id", "Company (id)", ValueType::Number),
    rf("created_at", "Added on", ValueType::Date),
    rf("converted_at", "Converted on", ValueType::Date),
    rf("tag", "Tag", ValueType::Tag),
    rf("company.name", "Company name", ValueType::Text),
    rf("company.industry", "Company industry", ValueType::Text),
    rf("company.domain", "Company domain", ValueType::Text),
    rf("company.address.country", "Company country", ValueType::Text),
    rf("company.address.city", "Company city", ValueType::Text),
    rf("orders.total_spend", "Total spend (minor units)", ValueType::Number),
    rf("orders.count", "Order count", ValueType::Number),
    rf("orders.last_order_date", "Last order date", ValueType::Date),
    rf("rfm_tier", "RFM tier", ValueType::Text),
    rf("cluster", "Cluster", ValueType::Number),
    rf("purchase_propensity", "Purchase propensity", ValueType::Number),
    rf("churn_risk", "Churn risk", ValueType::Number),
    rf("engagement.member", "Member of campaign", ValueType::Campaign),
    rf("engagement.received", "Received campaign", ValueType::Campaign),
    rf("engagement.opened", "Opened campaign", ValueType::Campaign),
    rf("engagement.clicked", "Clicked in campaign", ValueType::Campaign),
    rf("engagement.not_opened", "Received but did not open campaign", ValueType::Campaign),
];

/// The fields rules can name, as the builder lists them: the catalogue and the people's
/// custom fields that are not sealed.
pub fn catalogue(defs: &[CustomField]) -> Vec<(String, String, ValueType)> {
    let mut out: Vec<_> = CATALOGUE.iter().map(|f| (f.name.to_string(), f.label.to_string(), f.ty)).collect();
    for d in defs.iter().filter(|d| !d.sensitive) {
        out.push((format!("custom.{}", d.key), d.label.clone(), custom_type(d.field_type)));
    }
    out
}

fn custom_type(t: FieldType) -> ValueType {
    match t {
        FieldType::Number => ValueType::Number,
        FieldType::Date => ValueType::Date,
        FieldType::Boolean => ValueType::Bool,
        FieldType::Text | FieldType::SingleSelect => ValueType::Text,
    }
}

fn source_of(name: &str) -> Source {
    let person = |c: &str, time: bool| Source::Person { column: c.to_string(), time };
    match name {
        "tag" => Source::Tag,
        "orders.total_spend" => Source::TotalSpend,
        "orders.count" => Source::OrderCount,
        "orders.last_order_date" => Source::LastOrderDate,
        "cluster" => person("segment", false),
        "created_at" | "converted_at" => person(name, true),
        n if n.starts_with("company.") => Source::Company { column: n["company.".len()..].replace('.', "_") },
        n if n.starts_with("engagement.") => Source::Engagement(n["engagement.".len()..].to_string()),
        n => person(&n.replace('.', "_"), false),
    }
}

/// A checked rule tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Every one holds (an empty group holds).
    All(Vec<Rule>),
    /// At least one holds (an empty group does not).
    Any(Vec<Rule>),
    /// The inner rule does not hold.
    Not(Box<Rule>),
    /// A comparison.
    Cond(Condition),
}

/// One checked comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    /// Where the value comes from.
    pub source: Source,
    /// What it compares as.
    pub ty: ValueType,
    /// The operator (one of `ty.ops()`).
    pub op: String,
    /// The value(s): a list for `in`/`not_in`, none for `is_set`/`is_empty`.
    pub values: Vec<Value>,
}

/// Who a segment reaches, resolved for compiling: its rules (dynamic) or its list (static),
/// minus the members of the segments it excludes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Audience {
    /// The segment.
    pub segment_id: i64,
    /// The rules of a dynamic segment; `None` for a static list.
    pub rules: Option<Rule>,
    /// The audiences left out.
    pub exclude: Vec<Audience>,
}

/// How deep groups may nest.
pub const MAX_DEPTH: usize = 8;
/// How many conditions one segment may hold.
pub const MAX_CONDITIONS: usize = 100;

/// Checks a rule tree at `path` (`rules`), naming every problem's path.
pub fn parse_rules(v: &Value, path: &str, defs: &[CustomField], errs: &mut ValidationErrors) -> Option<Rule> {
    let mut count = 0;
    parse_node(v, path, defs, errs, 0, &mut count)
}

fn parse_node(v: &Value, path: &str, defs: &[CustomField], errs: &mut ValidationErrors, depth: usize, count: &mut usize) -> Option<Rule> {
    let Some(m) = v.as_object() else {
        errs.add(
            path,
            "must be an object: a group {\"all\": [...]}, {\"any\": [...]}, {\"not\": {...}} or a condition {\"field\", \"op\", \"value\"}",
        );
        return None;
    };
    if depth > MAX_DEPTH {
        errs.add(path, format!("groups nest at most {MAX_DEPTH} deep"));
        return None;
    }
    for group in ["all", "any"] {
        if let Some(list) = m.get(group) {
            if m.len() > 1 {
                errs.add(path, format!("a group has only its \"{group}\" key"));
                return None;
            }
            let Some(items) = list.as_array() else {
                errs.add(format!("{path}.{group}"), "must be a list of rules");
                return None;
            };
            let rules: Vec<Option<Rule>> = items
                .iter()
                .enumerate()
                .map(|(i, r)| parse_node(r, &format!("{path}.{group}[{i}]"), defs, errs, depth + 1, count))
                .collect();
            let rules: Option<Vec<Rule>> = rules.into_iter().collect();
            return rules.map(|r| if group == "all" { Rule::All(r) } else { Rule::Any(r) });
        }
    }
    if let Some(inner) = m.get("not") {
        if m.len() > 1 {
            errs.add(path, "a group has only its \"not\" key");
            return None;
        }
        return parse_node(inner, &format!("{path}.not"), defs, errs, depth + 1, count).map(|r| Rule::Not(Box::new(r)));
    }
    *count += 1;
    if *count == MAX_CONDITIONS + 1 {
        errs.add(path, format!("a segment holds at most {MAX_CONDITIONS} conditions"));
    }
    if let Some(k) = m.keys().find(|k| !["field", "op", "value"].contains(&k.as_str())) {
        errs.add(format!("{path}.{k}"), "is not a key of a condition (field, op, value) or a group (all, any, not)");
        return None;
    }
    let Some(name) = m.get("field").and_then(Value::as_str) else {
        errs.add(format!("{path}.field"), "is required: the field to compare");
        return None;
    };
    let (source, ty) = if let Some(key) = name.strip_prefix("custom.") {
        match defs.iter().find(|d| d.key == key) {
            Some(d) if d.sensitive => {
                errs.add(format!("{path}.field"), format!("custom field '{key}' is sealed at rest, so rules cannot compare it"));
                return None;
            }
            Some(d) => (Source::Custom { key: d.key.clone() }, custom_type(d.field_type)),
            None => {
                errs.add(format!("{path}.field"), format!("there is no custom field '{key}' on people"));
                return None;
            }
        }
    } else {
        match CATALOGUE.iter().find(|f| f.name == name) {
            Some(f) => (source_of(f.name), f.ty),
            None => {
                errs.add(format!("{path}.field"), format!("unknown field '{name}'"));
                return None;
            }
        }
    };
    let op = m.get("op").and_then(Value::as_str).unwrap_or("");
    if !ty.ops().contains(&op) {
        errs.add(format!("{path}.op"), format!("'{name}' takes the operators {}", ty.ops().join(", ")));
        return None;
    }
    let value = m.get("value").cloned().unwrap_or(Value::Null);
    let vpath = format!("{path}.value");
    let values = match op {
        "is_set" | "is_empty" => vec![],
        "in" | "not_in" => match value.as_array() {
            Some(a) if !a.is_empty() && a.len() <= 500 => {
                let mut out = vec![];
                for (i, x) in a.iter().enumerate() {
                    out.push(check_value(x, ty, &format!("{vpath}[{i}]"), errs)?);
                }
                out
            }
            _ => {
                errs.add(vpath, "must be a list of 1 to 500 values");
                return None;
            }
        },
        "within_last_days" | "not_within_last_days" => match value.as_i64() {
            Some(n) if (0..=36_500).contains(&n) => vec![Value::from(n)],
            _ => {
                errs.add(vpath, "must be a number of days from 0 to 36500");
                return None;
            }
        },
        _ => vec![check_value(&value, ty, &vpath, errs)?],
    };
    Some(Rule::Cond(Condition { source, ty, op: op.to_string(), values }))
}

fn check_value(v: &Value, ty: ValueType, path: &str, errs: &mut ValidationErrors) -> Option<Value> {
    let ok = match ty {
        ValueType::Text | ValueType::Tag => {
            v.as_str().map(|s| Value::from(s.trim())).filter(|_| v.as_str().is_some_and(|s| s.len() <= 1000))
        }
        ValueType::Number => v.as_f64().filter(|f| f.is_finite()).map(|_| v.clone()),
        ValueType::Date => v.as_str().and_then(|s| crate::sales::parse_day(s).ok()).map(Value::from),
        ValueType::Bool => v.as_bool().map(Value::from),
        ValueType::Campaign => v.as_i64().filter(|n| *n > 0).map(Value::from),
    };
    if ok.is_none() {
        let want = match ty {
            ValueType::Text => "a text",
            ValueType::Tag => "a tag",
            ValueType::Number => "a number",
            ValueType::Date => "a date written YYYY-MM-DD",
            ValueType::Bool => "true or false",
            ValueType::Campaign => "a campaign id",
        };
        errs.add(path, format!("must be {want}"));
    }
    ok
}

/// A segment's editable fields, always valid (built by [`SegmentInput::apply`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SegmentData {
    /// Name, 1 to 200 characters.
    pub name: String,
    /// `dynamic` or `static`.
    pub kind: String,
    /// What the segment is for.
    pub description: Option<String>,
    /// The rule tree of a dynamic segment (`{}` for a static one).
    #[schema(value_type = Object)]
    pub rules: Value,
    /// Ids of segments whose members are left out.
    pub exclude: Vec<i64>,
}

/// A segment as the API returns it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Segment {
    /// Identifier.
    pub id: i64,
    /// Editable fields.
    #[serde(flatten)]
    pub data: SegmentData,
    /// Creation time (RFC 3339 UTC).
    pub created_at: String,
    /// Last change (RFC 3339 UTC).
    pub updated_at: String,
    /// Set on tombstones in sync listings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
    /// Optimistic-concurrency version.
    pub version: i64,
}

impl Segment {
    /// What a sync listing shows of a deleted segment.
    pub fn tombstone(self) -> Segment {
        Segment { data: SegmentData::default(), ..self }
    }
}

/// What a client sends to create (`name`; `rules` for a dynamic segment) or update a segment.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentInput {
    /// Name.
    pub name: Option<String>,
    /// `dynamic` (the default) or `static`; fixed once created.
    pub kind: Option<String>,
    /// Description, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// The rule tree (dynamic segments).
    #[schema(value_type = Option<Object>)]
    pub rules: Option<Value>,
    /// Ids of segments whose members are left out.
    pub exclude: Option<Vec<i64>>,
}

impl SegmentInput {
    /// Merges onto `current` and validates; `defs` are people's custom fields.
    pub fn apply(self, current: Option<&SegmentData>, defs: &[CustomField]) -> Result<SegmentData, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let creating = current.is_none();
        let mut d = current.cloned().unwrap_or(SegmentData {
            kind: "dynamic".into(),
            rules: Value::Object(Default::default()),
            ..Default::default()
        });
        apply_name(&mut errs, self.name, creating, &mut d.name);
        match self.kind {
            Some(k) if creating && KINDS.contains(&k.as_str()) => d.kind = k,
            Some(k) if k == d.kind => {}
            Some(_) if !creating => errs.add("kind", "is fixed once the segment exists"),
            Some(_) => errs.add("kind", "use dynamic or static"),
            None => {}
        }
        apply_text(&mut errs, "description", self.description, &mut d.description, 5000);
        if let Some(r) = self.rules {
            d.rules = r;
        }
        if d.kind == "static" {
            if d.rules.as_object().is_some_and(|m| !m.is_empty()) {
                errs.add("rules", "a static segment is a list: it has no rules");
            }
        } else if d.rules.as_object().is_some_and(|m| m.is_empty()) {
            errs.add("rules", "is required: a dynamic segment needs rules, e.g. {\"all\": [...]}");
        } else {
            parse_rules(&d.rules, "rules", defs, &mut errs);
        }
        if let Some(mut x) = self.exclude {
            x.sort_unstable();
            x.dedup();
            if x.len() > 20 {
                errs.add("exclude", "at most 20 segments");
            }
            d.exclude = x;
        }
        errs.into_result(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(v: Value) -> Vec<String> {
        let mut errs = ValidationErrors::default();
        parse_rules(&v, "rules", &[], &mut errs);
        errs.0.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn rules_nest_and_problems_name_their_paths() {
        let ok = json!({"all": [{"field": "address.country", "op": "eq", "value": "DE"},
            {"any": [{"field": "orders.total_spend", "op": "gte", "value": 100}, {"not": {"field": "tag", "op": "has", "value": "vip"}}]}]});
        assert!(fields(ok).is_empty());
        let bad = json!({"all": [{"field": "address.country", "op": "eq", "value": "DE"}, {"field": "shoe_size", "op": "eq", "value": 1},
            {"any": [{"field": "orders.count", "op": "contains", "value": 1}, {"field": "created_at", "op": "gt", "value": "soon"}]}]});
        assert_eq!(fields(bad), ["rules.all[1].field", "rules.all[2].any[0].op", "rules.all[2].any[1].value"]);
        assert_eq!(fields(json!({"field": "engagement.opened", "op": "eq", "value": "x"})), ["rules.value"]);
        assert_eq!(fields(json!([1])), ["rules"]);
    }
}
