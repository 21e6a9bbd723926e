//! Custom fields: typed fields that an admin defines per object (customer, company) and that
//! are validated on every write like built-in ones.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::ValidationErrors;

/// The objects that carry custom fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldObject {
    /// People.
    Customer,
    /// Companies.
    Company,
}

impl FieldObject {
    /// Name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldObject::Customer => "customer",
            FieldObject::Company => "company",
        }
    }

    /// Parses a stored or submitted name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "customer" => Some(FieldObject::Customer),
            "company" => Some(FieldObject::Company),
            _ => None,
        }
    }
}

/// The type of a custom field's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// Free text up to 1,000 characters.
    Text,
    /// A JSON number.
    Number,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// `true` or `false`.
    Boolean,
    /// One of the field's `options`.
    SingleSelect,
}

impl FieldType {
    /// Name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Number => "number",
            FieldType::Date => "date",
            FieldType::Boolean => "boolean",
            FieldType::SingleSelect => "single_select",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(Value::String(s.to_string())).ok()
    }
}

/// A custom field definition.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CustomField {
    /// Identifier.
    pub id: i64,
    /// Which object the field belongs to.
    pub object: FieldObject,
    /// Key used in `custom` maps and filters: lower-case letters, digits and `_`.
    pub key: String,
    /// Label shown in forms.
    pub label: String,
    /// Value type.
    pub field_type: FieldType,
    /// Allowed values of a `single_select` field.
    pub options: Vec<String>,
    /// Masked, like email and phone, for roles without the `pii` permission.
    pub sensitive: bool,
    /// Creation time (RFC 3339 UTC).
    pub created_at: String,
    /// Last change (RFC 3339 UTC).
    pub updated_at: String,
    /// Optimistic-concurrency version.
    pub version: i64,
}

/// What a client sends to define a custom field.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomFieldInput {
    /// `customer` or `company`.
    pub object: FieldObject,
    /// Key: 1 to 40 lower-case letters, digits or `_`, starting with a letter.
    #[schema(pattern = "^[a-z][a-z0-9_]{0,39}$")]
    pub key: String,
    /// Label; defaults to the key.
    #[schema(max_length = 100)]
    pub label: Option<String>,
    /// Value type.
    pub field_type: FieldType,
    /// Allowed values, required for `single_select`.
    #[serde(default)]
    pub options: Vec<String>,
    /// Mask the values for roles without `pii` (default false).
    #[serde(default)]
    pub sensitive: bool,
}

/// A validated custom field definition.
#[derive(Debug, Clone)]
pub struct NewCustomField {
    /// Object.
    pub object: FieldObject,
    /// Key.
    pub key: String,
    /// Label.
    pub label: String,
    /// Type.
    pub field_type: FieldType,
    /// Options.
    pub options: Vec<String>,
    /// Masked without `pii`.
    pub sensitive: bool,
}

impl CustomFieldInput {
    /// Checks the key, label and options.
    pub fn validate(self) -> Result<NewCustomField, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let key = self.key.trim().to_string();
        let key_ok = !key.is_empty()
            && key.len() <= 40
            && key.starts_with(|c: char| c.is_ascii_lowercase())
            && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !key_ok {
            errs.add("key", "use 1 to 40 lower-case letters, digits or _, starting with a letter (e.g. industry_code)");
        }
        let label = self.label.map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).unwrap_or_else(|| key.clone());
        if label.chars().count() > 100 {
            errs.add("label", "must be at most 100 characters");
        }
        let options: Vec<String> = self.options.iter().map(|o| o.trim().to_string()).collect();
        if self.field_type == FieldType::SingleSelect {
            if options.is_empty() || options.iter().any(|o| o.is_empty() || o.chars().count() > 100) {
                errs.add("options", "a single_select field needs a list of non-empty options of at most 100 characters");
            }
        } else if !options.is_empty() {
            errs.add("options", "only single_select fields take options");
        }
        errs.into_result(NewCustomField {
            object: self.object,
            key,
            label,
            field_type: self.field_type,
            options,
            sensitive: self.sensitive,
        })
    }
}

impl CustomField {
    /// Checks one submitted value against this definition and returns the canonical JSON to
    /// store (`null` clears the value).
    pub fn check_value(&self, v: &Value) -> Result<Value, String> {
        if v.is_null() {
            return Ok(Value::Null);
        }
        match self.field_type {
            FieldType::Text => match v.as_str() {
                Some(s) if s.chars().count() <= 1000 => Ok(Value::String(s.trim().to_string())),
                Some(_) => Err("must be at most 1000 characters".into()),
                None => Err("must be a string".into()),
            },
            FieldType::Number => match v.as_f64() {
                Some(n) if n.is_finite() => Ok(v.clone()),
                _ => Err("must be a number".into()),
            },
            FieldType::Date => match v.as_str().map(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")) {
                Some(Ok(d)) => Ok(Value::String(d.format("%Y-%m-%d").to_string())),
                _ => Err("must be a date written YYYY-MM-DD".into()),
            },
            FieldType::Boolean => match v {
                Value::Bool(_) => Ok(v.clone()),
                _ => Err("must be true or false".into()),
            },
            FieldType::SingleSelect => match v.as_str() {
                Some(s) if self.options.iter().any(|o| o == s) => Ok(v.clone()),
                _ => Err(format!("must be one of: {}", self.options.join(", "))),
            },
        }
    }

    /// Reads a filter value typed in a URL (`custom.vip=true`) as this field's JSON value.
    pub fn parse_filter_value(&self, raw: &str) -> Result<Value, String> {
        let v = match self.field_type {
            FieldType::Number => raw.parse::<f64>().map(Value::from).map_err(|_| "must be a number".to_string())?,
            FieldType::Boolean => match raw {
                "true" | "1" => Value::Bool(true),
                "false" | "0" => Value::Bool(false),
                _ => return Err("must be true or false".into()),
            },
            _ => Value::String(raw.to_string()),
        };
        self.check_value(&v)
    }
}

/// Validates a whole `custom` map against the object's definitions, merging onto `current`
/// (what the record holds now); `null` removes a key. Errors are reported as `custom.<key>`.
pub fn merge_custom(
    defs: &[CustomField],
    current: &serde_json::Map<String, Value>,
    submitted: &serde_json::Map<String, Value>,
    errs: &mut ValidationErrors,
) -> serde_json::Map<String, Value> {
    let mut out = current.clone();
    for (k, v) in submitted {
        let Some(def) = defs.iter().find(|d| &d.key == k) else {
            let known: Vec<&str> = defs.iter().map(|d| d.key.as_str()).collect();
            let hint = if known.is_empty() { "none are defined yet".to_string() } else { format!("defined fields: {}", known.join(", ")) };
            errs.add(format!("custom.{k}"), format!("unknown custom field '{k}' ({hint})"));
            continue;
        };
        match def.check_value(v) {
            Ok(Value::Null) => {
                out.remove(k);
            }
            Ok(v) => {
                out.insert(k.clone(), v);
            }
            Err(m) => errs.add(format!("custom.{k}"), m),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(t: FieldType, options: &[&str]) -> CustomField {
        CustomField {
            id: 1,
            object: FieldObject::Customer,
            key: "f".into(),
            label: "F".into(),
            field_type: t,
            options: options.iter().map(|s| s.to_string()).collect(),
            sensitive: false,
            created_at: String::new(),
            updated_at: String::new(),
            version: 1,
        }
    }

    #[test]
    fn values_are_checked_by_type() {
        assert!(def(FieldType::Number, &[]).check_value(&json!("3")).is_err());
        assert_eq!(def(FieldType::Number, &[]).check_value(&json!(3.5)).unwrap(), json!(3.5));
        assert!(def(FieldType::Date, &[]).check_value(&json!("2024-02-30")).is_err());
        assert!(def(FieldType::Boolean, &[]).check_value(&json!("yes")).is_err());
        let sel = def(FieldType::SingleSelect, &["gold", "silver"]);
        assert!(sel.check_value(&json!("bronze")).is_err());
        assert_eq!(sel.check_value(&json!("gold")).unwrap(), json!("gold"));
    }

    #[test]
    fn unknown_keys_are_named() {
        let mut errs = ValidationErrors::default();
        let submitted = json!({"nope": 1}).as_object().unwrap().clone();
        merge_custom(&[def(FieldType::Text, &[])], &Default::default(), &submitted, &mut errs);
        assert_eq!(errs.0[0].field, "custom.nope");
    }
}
