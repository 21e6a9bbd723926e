//! Between HTML forms and domain inputs: forms are flat string maps; the domain's inputs are
//! typed. Empty fields clear optional values, exactly like `null` in the API.

use std::collections::HashMap;

use rapport_domain::FieldError;
use rapport_domain::company::{CompanyData, CompanyInput};
use rapport_domain::custom_field::{CustomField, FieldType};
use rapport_domain::customer::{Address, CustomerData, CustomerInput, LifecycleStage};
use rapport_domain::values::Phone;
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

fn text(form: &HashMap<String, String>, k: &str) -> Option<String> {
    form.get(k).map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn id(form: &HashMap<String, String>, k: &str) -> Option<i64> {
    text(form, k).and_then(|s| s.parse().ok())
}

fn address(form: &HashMap<String, String>) -> Address {
    Address {
        street: text(form, "address.street"),
        city: text(form, "address.city"),
        region: text(form, "address.region"),
        postal_code: text(form, "address.postal_code"),
        country: text(form, "address.country"),
    }
}

fn tags(form: &HashMap<String, String>) -> Vec<String> {
    form.get("tags").map(|s| s.split(',').map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect()).unwrap_or_default()
}

fn custom(form: &HashMap<String, String>, defs: &[CustomField]) -> Map<String, Value> {
    defs.iter()
        .map(|d| {
            let raw = text(form, &format!("custom.{}", d.key));
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

fn put_common(values: &mut HashMap<String, String>, address: &Address, tags: &[String], custom: &Map<String, Value>) {
    for (k, v) in [
        ("street", &address.street),
        ("city", &address.city),
        ("region", &address.region),
        ("postal_code", &address.postal_code),
        ("country", &address.country),
    ] {
        values.insert(format!("address.{k}"), v.clone().unwrap_or_default());
    }
    values.insert("tags".into(), tags.join(", "));
    for (k, v) in custom {
        let s = match v {
            Value::String(s) => s.clone(),
            Value::Bool(true) => "on".into(),
            Value::Bool(false) | Value::Null => String::new(),
            other => number_text(other),
        };
        values.insert(format!("custom.{k}"), s);
    }
}

/// A person's edit form as a domain input (every field present, so it replaces all). Without
/// `pii` the sensitive inputs are shown masked and disabled, so they are left as stored.
pub fn customer_input(form: &HashMap<String, String>, defs: &[CustomField], pii: bool) -> CustomerInput {
    CustomerInput {
        name: Some(form.get("name").cloned().unwrap_or_default()),
        email: pii.then(|| text(form, "email")),
        phone: pii.then(|| text(form, "phone")),
        address: pii.then(|| address(form)),
        company_id: Some(id(form, "company_id")),
        lifecycle_stage: form.get("lifecycle_stage").and_then(|s| LifecycleStage::parse(s)),
        source: Some(text(form, "source")),
        owner_id: Some(id(form, "owner_id")),
        tags: Some(tags(form)),
        needs: Some(text(form, "needs")),
        notes: Some(text(form, "notes")),
        custom: Some(custom(form, defs)),
        ..Default::default()
    }
}

/// A person's current values, to fill the edit form.
pub fn customer_values(d: &CustomerData) -> FormState {
    let mut values: HashMap<String, String> = [
        ("name", Some(d.name.clone())),
        ("email", d.email.clone()),
        ("phone", d.phone.as_deref().map(Phone::display)),
        ("company_id", d.company_id.map(|i| i.to_string())),
        ("lifecycle_stage", Some(d.lifecycle_stage.as_str().to_string())),
        ("source", d.source.clone()),
        ("owner_id", d.owner_id.map(|i| i.to_string())),
        ("needs", d.needs.clone()),
        ("notes", d.notes.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.unwrap_or_default()))
    .collect();
    put_common(&mut values, &d.address, &d.tags, &d.custom);
    FormState { values, errors: HashMap::new() }
}

/// A company's edit form as a domain input.
pub fn company_input(form: &HashMap<String, String>, defs: &[CustomField]) -> CompanyInput {
    CompanyInput {
        name: Some(form.get("name").cloned().unwrap_or_default()),
        domain: Some(text(form, "domain")),
        email: Some(text(form, "email")),
        phone: Some(text(form, "phone")),
        industry: Some(text(form, "industry")),
        address: Some(address(form)),
        owner_id: Some(id(form, "owner_id")),
        tags: Some(tags(form)),
        notes: Some(text(form, "notes")),
        custom: Some(custom(form, defs)),
    }
}

/// A company's current values.
pub fn company_values(d: &CompanyData) -> FormState {
    let mut values: HashMap<String, String> = [
        ("name", Some(d.name.clone())),
        ("domain", d.domain.clone()),
        ("email", d.email.clone()),
        ("phone", d.phone.as_deref().map(Phone::display)),
        ("industry", d.industry.clone()),
        ("owner_id", d.owner_id.map(|i| i.to_string())),
        ("notes", d.notes.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.unwrap_or_default()))
    .collect();
    put_common(&mut values, &d.address, &d.tags, &d.custom);
    FormState { values, errors: HashMap::new() }
}

/// A JSON number as people write it: `392000`, not `392000.0`.
pub fn number_text(v: &Value) -> String {
    match v.as_f64() {
        Some(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", n as i64),
        _ => v.to_string(),
    }
}
