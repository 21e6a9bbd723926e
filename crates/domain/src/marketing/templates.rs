//! Email templates: a subject, a plain-text part and an optional HTML part, with merge fields
//! `{{name}}`, `{{company}}`, custom fields (`{{custom.key}}` or `{{key}}`) and a default for
//! empty values (`{{first_name | default: "friend"}}`). Templates are parsed on save, so an
//! unknown field is a 422 naming it, never a literal `{{…}}` in a customer's inbox.
//!
//! Decisions where the issue is silent: values are HTML-escaped in the HTML part and left as
//! they are in the text part and subject; a field without a value and without a default
//! renders empty; `{{unsubscribe_url}}`, `{{preferences_url}}` and `{{web_view_url}}` are
//! supplied by the sender (a preview shows placeholders).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ValidationErrors;

/// Merge fields every template may use, beside the people's custom fields.
pub const BUILTIN_FIELDS: [&str; 8] =
    ["name", "first_name", "last_name", "email", "company", "unsubscribe_url", "preferences_url", "web_view_url"];

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal text.
    Text(String),
    /// A merge field with its default.
    Field {
        /// The field's name as written (`custom.` stripped).
        name: String,
        /// The value used when the field is empty.
        default: Option<String>,
    },
}

/// Parses `src` into parts; `Err` describes the first malformed tag.
pub fn parse(src: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut rest = src;
    while let Some(start) = rest.find("{{") {
        if start > 0 {
            parts.push(Part::Text(rest[..start].to_string()));
        }
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| "a `{{` is never closed by `}}`".to_string())?;
        parts.push(field(after[..end].trim())?);
        rest = &after[end + 2..];
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest.to_string()));
    }
    Ok(parts)
}

fn field(tag: &str) -> Result<Part, String> {
    let (name, filter) = match tag.split_once('|') {
        Some((n, f)) => (n.trim(), Some(f.trim())),
        None => (tag, None),
    };
    let name = name.strip_prefix("custom.").unwrap_or(name);
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("`{{{{{tag}}}}}` is not a merge field (letters, digits and _ only)"));
    }
    let default = match filter {
        None => None,
        Some(f) => {
            let arg = f.strip_prefix("default").map(str::trim_start).and_then(|a| a.strip_prefix(':')).map(str::trim);
            let quoted = arg.and_then(|a| a.strip_prefix('"').and_then(|a| a.strip_suffix('"')));
            Some(quoted.ok_or_else(|| format!("`{{{{{tag}}}}}`: the only filter is `default: \"text\"`"))?.to_string())
        }
    };
    Ok(Part::Field { name: name.to_string(), default })
}

/// The field names `parts` use, in order, without repeats.
pub fn fields(parts: &[Part]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in parts {
        if let Part::Field { name, .. } = p
            && !out.contains(name)
        {
            out.push(name.clone());
        }
    }
    out
}

/// Escapes text for HTML.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Renders `parts` with `values` (missing or blank: the default, else empty), escaping values
/// for HTML when `html`. URL fields are never escaped beyond HTML escaping.
pub fn render(parts: &[Part], values: &HashMap<String, String>, html: bool) -> String {
    let mut out = String::new();
    for p in parts {
        match p {
            Part::Text(t) => out.push_str(t),
            Part::Field { name, default } => {
                let v = values.get(name).map(String::as_str).filter(|v| !v.trim().is_empty()).or(default.as_deref()).unwrap_or("");
                if html { out.push_str(&escape_html(v)) } else { out.push_str(v) }
            }
        }
    }
    out
}

/// What a client sends to create or replace a template: its editable fields, nothing else.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    /// Name, 1 to 200 characters.
    pub name: String,
    /// Subject line, with merge fields; 1 to 300 characters.
    pub subject: String,
    /// The plain-text part, with merge fields (every marketing mail has one).
    pub text_body: String,
    /// The HTML part, with merge fields; links in it are tracked.
    #[serde(default)]
    pub html_body: Option<String>,
}

impl From<TemplateInput> for TemplateData {
    fn from(i: TemplateInput) -> TemplateData {
        TemplateData { name: i.name, subject: i.subject, text_body: i.text_body, html_body: i.html_body }
    }
}

/// A template's editable fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TemplateData {
    /// Name, 1 to 200 characters.
    pub name: String,
    /// Subject line, with merge fields; 1 to 300 characters.
    pub subject: String,
    /// The plain-text part, with merge fields (every marketing mail has one).
    pub text_body: String,
    /// The HTML part, with merge fields; links in it are tracked.
    #[serde(default)]
    pub html_body: Option<String>,
}

/// A template as the API answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EmailTemplate {
    /// Identifier.
    pub id: i64,
    /// Its fields.
    #[serde(flatten)]
    pub data: TemplateData,
    /// The merge fields it uses.
    pub fields: Vec<String>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// Version, for `If-Match`.
    pub version: i64,
}

/// A template rendered for one person, with placeholder links.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Preview {
    /// The person it was rendered for.
    pub person_id: i64,
    /// Subject.
    pub subject: String,
    /// The plain-text part.
    pub text_body: String,
    /// The HTML part.
    pub html_body: Option<String>,
}

/// A template parsed for rendering.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The subject.
    pub subject: Vec<Part>,
    /// The text part.
    pub text: Vec<Part>,
    /// The HTML part.
    pub html: Option<Vec<Part>>,
}

impl Compiled {
    /// Every field the three parts use.
    pub fn fields(&self) -> Vec<String> {
        let mut all = self.subject.clone();
        all.extend(self.text.iter().cloned());
        if let Some(h) = &self.html {
            all.extend(h.iter().cloned());
        }
        fields(&all)
    }

    /// Subject, text and HTML for `values`.
    pub fn render(&self, values: &HashMap<String, String>) -> (String, String, Option<String>) {
        let subject = render(&self.subject, values, false).replace(['\r', '\n'], " ");
        (subject, render(&self.text, values, false), self.html.as_ref().map(|h| render(h, values, true)))
    }
}

impl TemplateData {
    /// Trims, checks lengths and parses every part; a field not in `BUILTIN_FIELDS` or
    /// `custom` (the people's custom field keys) is an error naming it.
    pub fn validated(mut self, custom: &[String]) -> Result<(TemplateData, Compiled), ValidationErrors> {
        let mut errs = ValidationErrors::default();
        self.name = self.name.trim().to_string();
        if self.name.is_empty() || self.name.chars().count() > 200 {
            errs.add("name", "must have 1 to 200 characters");
        }
        if self.subject.trim().is_empty() || self.subject.chars().count() > 300 {
            errs.add("subject", "must have 1 to 300 characters");
        }
        if self.text_body.trim().is_empty() {
            errs.add("text_body", "is required: every marketing mail has a plain-text part");
        }
        if self.html_body.as_deref().is_some_and(|h| h.trim().is_empty()) {
            self.html_body = None;
        }
        for (label, src) in [("subject", Some(&self.subject)), ("text_body", Some(&self.text_body)), ("html_body", self.html_body.as_ref())]
        {
            if src.is_some_and(|s| s.len() > 500_000) {
                errs.add(label, "is over 500,000 bytes");
            }
        }
        let mut parse_part = |label: &str, src: &str| match parse(src) {
            Ok(parts) => {
                for f in fields(&parts) {
                    if !BUILTIN_FIELDS.contains(&f.as_str()) && !custom.contains(&f) {
                        errs.add(label, format!("unknown merge field `{f}` (use one of {} or a custom field)", BUILTIN_FIELDS.join(", ")));
                    }
                }
                parts
            }
            Err(m) => {
                errs.add(label, m);
                Vec::new()
            }
        };
        let subject = parse_part("subject", &self.subject);
        let text = parse_part("text_body", &self.text_body);
        let html = self.html_body.as_deref().map(|h| parse_part("html_body", h));
        let compiled = Compiled { subject, text, html };
        errs.into_result((self, compiled))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn renders_fields_defaults_and_escapes_html_only() {
        let p = parse("Hi {{ first_name | default: \"friend\" }} of {{company}}, {{custom.tier}}!").unwrap();
        assert_eq!(render(&p, &values(&[("first_name", "Ann"), ("company", "A&B"), ("tier", "<gold>")]), false), "Hi Ann of A&B, <gold>!");
        assert_eq!(render(&p, &values(&[("company", "A&B")]), true), "Hi friend of A&amp;B, !");
        assert_eq!(fields(&p), ["first_name", "company", "tier"]);
    }

    #[test]
    fn unknown_and_malformed_fields_are_named() {
        let d =
            TemplateData { name: "x".into(), subject: "Hi {{nmae}}".into(), text_body: "{{tier}} {{x | upper}}".into(), html_body: None };
        let e = d.clone().validated(&["tier".into()]).unwrap_err();
        assert!(e.to_string().contains("nmae"), "{e}");
        assert!(e.0.iter().any(|f| f.field == "text_body" && f.message.contains("default")), "{e}");
        assert!(parse("{{ open").is_err());
        let ok = TemplateData { subject: "Hi {{name}}".into(), text_body: "{{tier}}".into(), ..d };
        assert!(ok.validated(&["tier".into()]).is_ok());
    }
}
