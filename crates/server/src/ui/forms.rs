//! Between HTML forms and records: forms are flat string maps, shown back with each field's
//! error; empty fields clear optional values, exactly like `null` in the API (the conversion of
//! whole records is driven by their spec, in [`super::records`]).

use std::collections::HashMap;

use rapport_domain::FieldError;
use rapport_domain::custom_field::{CustomField, FieldType};
use serde_json::{Map, Value};

/// Submitted or current form values, and the errors to show beside each field.
#[derive(Debug, Default)]
pub struct FormState {
    /// Field values by input name.
    pub values: HashMap<String, String>,
    /// Messages by input name.
    pub errors: HashMap<String, String>,
}

impl FormState {
    /// The value of an input, or "".
    pub fn v(&self, k: &str) -> &str {
        self.values.get(k).map(String::as_str).unwrap_or("")
    }

    /// The error of an input, or "".
    pub fn err(&self, k: &str) -> &str {
        self.errors.get(k).map(String::as_str).unwrap_or("")
    }

    /// Records validation errors under their input names (several on one field are joined).
    pub fn with_errors(mut self, errors: &[FieldError]) -> FormState {
        for e in errors {
            let slot = self.errors.entry(e.field.clone()).or_default();
            if !slot.is_empty() {
                slot.push_str("; ");
            }
            slot.push_str(&e.message);
        }
        self
    }
}

/// The custom field inputs of a form as the record's `custom` values (an empty input clears
/// its field; an unchecked box is `false`).
pub fn custom_values(form: &HashMap<String, String>, defs: &[CustomField]) -> Map<String, Value> {
    defs.iter()
        .map(|d| {
            let raw = form.get(&format!("custom.{}", d.key)).map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
            let v = match (d.field_type, raw) {
                (FieldType::Boolean, raw) => Value::Bool(raw.is_some()),
                (_, None) => Value::Null,
                (FieldType::Number, Some(s)) => {
                    s.parse::<f64>().ok().and_then(|n| serde_json::Number::from_f64(n).map(Value::Number)).unwrap_or(Value::String(s))
                }
                (_, Some(s)) => Value::String(s),
            };
            (d.key.clone(), v)
        })
        .collect()
}

/// A JSON number as people write it: `392000`, not `392000.0`.
pub fn number_text(v: &Value) -> String {
    match v.as_f64() {
        Some(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", n as i64),
        _ => v.to_string(),
    }
}
