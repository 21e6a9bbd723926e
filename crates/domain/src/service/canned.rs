//! Macros (canned replies): a reply with merge fields, and what applying it also does to the
//! ticket (a workflow action, tags, an assignee).
//!
//! A body is checked when the macro is saved ([`parse_template`]): an unknown merge field or
//! an unclosed `{{` is a field error then, not a surprise in a customer's inbox later.
//! Rendering ([`render`]) fills each field from [`MergeValues`], or its default when the
//! value is empty: `Hello {{customer.first_name | default: "there"}}`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::workflow::TicketAction;
use crate::customer::apply_tags;
use crate::permissions::Object;
use crate::record::{Field, Kind, RecordSpec};
use crate::sales::required_text;
use crate::values::bounded_text;
use crate::{ValidationErrors, double_option};

/// Macros as a record type: shared by everyone who answers tickets, kept by admins and
/// managers.
pub static SPEC: RecordSpec = RecordSpec {
    name: "macro",
    plural: "macros",
    label: "macro",
    label_plural: "macros",
    object: Object::Macro,
    title: "name",
    owned: false,
    custom: None,
    fields: &[
        Field::new("name", "Name", Kind::Text).unique().sorted(),
        Field::new("body", "Reply", Kind::LongText),
        Field::new("internal", "Internal note", Kind::Bool).filtered(),
        Field::new("action", "Then", Kind::Choice(MACRO_ACTIONS)),
        Field::new("add_tags", "Add tags", Kind::Tags).filtered(),
        Field::new("assignee_id", "Assign to", Kind::Ref("users")),
    ],
};

/// The workflow actions a macro may take: those an agent takes without further input
/// (`snooze` needs a date, `assign` is the macro's assignee).
pub const MACRO_ACTIONS: &[&str] = &["start", "wait_on_customer", "wait_on_third_party", "resume", "wake", "resolve", "reopen", "unassign"];

/// The merge fields a body may use.
pub const MERGE_FIELDS: &[&str] = &[
    "customer.name",
    "customer.first_name",
    "customer.email",
    "company.name",
    "ticket.number",
    "ticket.subject",
    "ticket.status",
    "ticket.priority",
    "agent.name",
    "agent.first_name",
];

/// The longest body kept.
pub const MAX_BODY: usize = 20_000;

/// A macro's fields, always valid (built by [`MacroInput::apply`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MacroData {
    /// Name, 1 to 100 characters, unique among live macros.
    pub name: String,
    /// The reply, with merge fields (`{{customer.first_name | default: "there"}}`).
    pub body: String,
    /// Posted as an internal note instead of a public reply.
    pub internal: bool,
    /// The workflow action taken after the reply (one of [`MACRO_ACTIONS`]).
    pub action: Option<TicketAction>,
    /// Tags added to the ticket.
    pub add_tags: Vec<String>,
    /// The agent the ticket is given to.
    pub assignee_id: Option<i64>,
}

/// A macro as the API returns it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Macro {
    /// Identifier.
    pub id: i64,
    /// Fields.
    #[serde(flatten)]
    pub data: MacroData,
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

impl Macro {
    /// What a sync listing shows of a deleted macro.
    pub fn tombstone(self) -> Macro {
        Macro { data: MacroData::default(), ..self }
    }
}

/// What a client sends to create (`name` and `body` required) or update a macro.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MacroInput {
    /// Name.
    pub name: Option<String>,
    /// The reply with merge fields.
    pub body: Option<String>,
    /// Post as an internal note.
    pub internal: Option<bool>,
    /// A workflow action to take after replying, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub action: Option<Option<String>>,
    /// Tags to add (replaces the list).
    pub add_tags: Option<Vec<String>>,
    /// The agent to assign, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub assignee_id: Option<Option<i64>>,
}

impl MacroInput {
    /// Merges onto `current` (or a new macro) and validates, the body's merge fields included.
    pub fn apply(self, current: Option<&MacroData>) -> Result<MacroData, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let creating = current.is_none();
        let mut d = current.cloned().unwrap_or_default();
        match self.name.map(|s| required_text(&s, 100)) {
            Some(Ok(s)) => d.name = s,
            Some(Err(m)) => errs.add("name", m),
            None if creating => errs.add("name", "is required"),
            None => {}
        }
        match self.body.as_deref().map(|b| bounded_text(b, MAX_BODY)) {
            Some(Ok(Some(b))) => match parse_template(&b) {
                Ok(_) => d.body = b,
                Err(m) => errs.add("body", m),
            },
            Some(Ok(None)) => errs.add("body", "is required: the reply"),
            Some(Err(m)) => errs.add("body", m),
            None if creating => errs.add("body", "is required: the reply"),
            None => {}
        }
        if let Some(i) = self.internal {
            d.internal = i;
        }
        match self.action {
            Some(None) => d.action = None,
            Some(Some(a)) => match TicketAction::parse(a.trim()).filter(|a| MACRO_ACTIONS.contains(&a.as_str())) {
                Some(a) => d.action = Some(a),
                None => errs.add("action", format!("'{a}' is not an action a macro takes; one of: {}", MACRO_ACTIONS.join(", "))),
            },
            None => {}
        }
        let mut tag_errs = ValidationErrors::default();
        apply_tags(&mut tag_errs, self.add_tags, &mut d.add_tags);
        for e in tag_errs.0 {
            errs.add("add_tags", e.message);
        }
        if let Some(a) = self.assignee_id {
            d.assignee_id = a;
        }
        errs.into_result(d)
    }
}

/// One piece of a parsed body: text as written, or a merge field with its default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Literal text.
    Text(String),
    /// `{{name | default: "…"}}`.
    Field {
        /// One of [`MERGE_FIELDS`].
        name: String,
        /// Shown when the value is empty.
        default: String,
    },
}

/// Splits a body into text and merge fields, or says what is wrong (an unknown field names
/// the fields known).
pub fn parse_template(body: &str) -> Result<Vec<Piece>, String> {
    let mut out = vec![];
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        if start > 0 {
            out.push(Piece::Text(rest[..start].to_string()));
        }
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| "a merge field opened with {{ is not closed with }}".to_string())?;
        out.push(field(&after[..end])?);
        rest = &after[end + 2..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest.to_string()));
    }
    Ok(out)
}

/// One merge field's inside: `name` or `name | default: "text"`.
fn field(inside: &str) -> Result<Piece, String> {
    let (name, default) = match inside.split_once('|') {
        None => (inside.trim(), String::new()),
        Some((name, filter)) => {
            let value = filter.trim().strip_prefix("default:").map(str::trim);
            let unquoted = value.and_then(|v| {
                let q = v.chars().next().filter(|c| *c == '"' || *c == '\'')?;
                v.strip_prefix(q)?.strip_suffix(q).filter(|s| !s.contains(q))
            });
            match unquoted {
                Some(d) => (name.trim(), d.to_string()),
                None => return Err(format!("{{{{{}}}}}: write a default as | default: \"text\"", inside.trim())),
            }
        }
    };
    if !MERGE_FIELDS.contains(&name) {
        return Err(format!("unknown merge field {{{{{name}}}}}; known: {}", MERGE_FIELDS.join(", ")));
    }
    Ok(Piece::Field { name: name.to_string(), default })
}

/// The values merge fields are filled from (empty or absent: the field's default).
#[derive(Debug, Clone, Default)]
pub struct MergeValues {
    /// The ticket's person, as the agent may see them.
    pub customer_name: Option<String>,
    /// Their email, as the agent may see it.
    pub customer_email: Option<String>,
    /// The ticket's company.
    pub company_name: Option<String>,
    /// The ticket's number.
    pub ticket_number: i64,
    /// Its subject.
    pub ticket_subject: String,
    /// Its status (after the macro's action).
    pub ticket_status: String,
    /// Its priority.
    pub ticket_priority: String,
    /// The agent applying the macro.
    pub agent_name: Option<String>,
}

fn first_name(full: &Option<String>) -> Option<String> {
    full.as_deref().and_then(|n| n.split_whitespace().next()).map(String::from)
}

impl MergeValues {
    fn get(&self, name: &str) -> Option<String> {
        match name {
            "customer.name" => self.customer_name.clone(),
            "customer.first_name" => first_name(&self.customer_name),
            "customer.email" => self.customer_email.clone(),
            "company.name" => self.company_name.clone(),
            "ticket.number" => Some(format!("#{}", self.ticket_number)),
            "ticket.subject" => Some(self.ticket_subject.clone()),
            "ticket.status" => Some(self.ticket_status.replace('_', " ")),
            "ticket.priority" => Some(self.ticket_priority.clone()),
            "agent.name" => self.agent_name.clone(),
            "agent.first_name" => first_name(&self.agent_name),
            _ => None,
        }
    }
}

/// The body with every merge field filled in. A body saved before a field was retired renders
/// that field as its default.
pub fn render(body: &str, values: &MergeValues) -> Result<String, String> {
    let mut out = String::with_capacity(body.len());
    for piece in parse_template(body)? {
        match piece {
            Piece::Text(t) => out.push_str(&t),
            Piece::Field { name, default } => {
                let v = values.get(&name).filter(|v| !v.trim().is_empty());
                out.push_str(v.as_deref().unwrap_or(&default));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
#[path = "canned_tests.rs"]
mod tests;
