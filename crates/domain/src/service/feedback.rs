//! Feedback, complaints and praise that arrive outside a ticket (a call to a manager, a review,
//! a letter), as a record type of their own, linked to the person and on their timeline.
//!
//! Decisions where the issue is silent: feedback is customer service's, so it takes the
//! tickets' permissions (whoever may work tickets may record and read feedback); it is owned,
//! so record-level visibility applies as to tickets; the kind and channel are fixed lists.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::permissions::Object;
use crate::record::{Field, Kind, RecordSpec};
use crate::sales::required_text;
use crate::{ValidationErrors, double_option};

/// What it is.
pub const KINDS: &[&str] = &["feedback", "complaint", "praise"];

/// How it reached us.
pub const CHANNELS: &[&str] = &["email", "phone", "letter", "in_person", "social", "review", "other"];

/// Feedback as a record type, searched by its text.
pub static SPEC: RecordSpec = RecordSpec {
    name: "feedback",
    plural: "feedback",
    label: "feedback",
    label_plural: "feedback",
    object: Object::Ticket,
    title: "body",
    owned: true,
    custom: None,
    fields: &[
        Field::new("kind", "Kind", Kind::Choice(KINDS)).filtered(),
        Field::new("body", "What they said", Kind::LongText).searched(),
        Field::new("channel", "Channel", Kind::Choice(CHANNELS)).filtered(),
        Field::new("customer_id", "Person", Kind::Ref("customers")).filtered().shown_as("customer_name"),
        Field::new("owner_id", "Owner", Kind::Ref("users")).filtered(),
    ],
};

/// A feedback record's fields, always valid (built by [`FeedbackInput::apply`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FeedbackData {
    /// `feedback`, `complaint` or `praise`.
    pub kind: String,
    /// What they said, 1 to 20,000 characters.
    pub body: String,
    /// How it reached us (see [`CHANNELS`]).
    pub channel: String,
    /// The person (required).
    pub customer_id: Option<i64>,
    /// Who follows it up.
    pub owner_id: Option<i64>,
}

/// Feedback as the API returns it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Feedback {
    /// Identifier.
    pub id: i64,
    /// Fields.
    #[serde(flatten)]
    pub data: FeedbackData,
    /// Name of the person, where the reader may see them (read-only).
    #[serde(default)]
    pub customer_name: Option<String>,
    /// When it was recorded (RFC 3339 UTC).
    pub created_at: String,
    /// Last change (RFC 3339 UTC).
    pub updated_at: String,
    /// Set on tombstones in sync listings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
    /// Optimistic-concurrency version.
    pub version: i64,
}

impl Feedback {
    /// What a sync listing shows of deleted feedback: that it is gone, and nothing else.
    pub fn tombstone(self) -> Feedback {
        Feedback { data: FeedbackData::default(), customer_name: None, ..self }
    }
}

/// What a client sends to create (`body` and `customer_id` required) or update feedback.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackInput {
    /// `feedback` (the default), `complaint` or `praise`.
    pub kind: Option<String>,
    /// What they said.
    pub body: Option<String>,
    /// How it reached us (default `email`).
    pub channel: Option<String>,
    /// Person id.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub customer_id: Option<Option<i64>>,
    /// Owner's user id, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub owner_id: Option<Option<i64>>,
}

fn choice(errs: &mut ValidationErrors, field: &str, raw: Option<String>, options: &[&str], into: &mut String) {
    if let Some(v) = raw {
        let v = v.trim();
        if options.contains(&v) {
            *into = v.to_string();
        } else {
            errs.add(field, format!("use {}", crate::query::or_list(options)));
        }
    }
}

impl FeedbackInput {
    /// Merges onto `current` (or new feedback) and validates, naming every wrong field.
    pub fn apply(self, current: Option<&FeedbackData>) -> Result<FeedbackData, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let creating = current.is_none();
        let mut d =
            current.cloned().unwrap_or_else(|| FeedbackData { kind: "feedback".into(), channel: "email".into(), ..Default::default() });
        choice(&mut errs, "kind", self.kind, KINDS, &mut d.kind);
        match self.body.map(|b| required_text(&b, 20_000)) {
            Some(Ok(b)) => d.body = b,
            Some(Err(m)) => errs.add("body", m),
            None if creating => errs.add("body", "is required: what they said"),
            None => {}
        }
        choice(&mut errs, "channel", self.channel, CHANNELS, &mut d.channel);
        if let Some(c) = self.customer_id {
            d.customer_id = c;
        }
        if d.customer_id.is_none() && (creating || self.customer_id.is_some()) {
            errs.add("customer_id", "is required: the person it came from");
        }
        if let Some(o) = self.owner_id {
            d.owner_id = o;
        }
        errs.into_result(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feedback_names_every_wrong_field_and_keeps_what_an_edit_leaves_out() {
        let e = FeedbackInput { kind: Some("rant".into()), channel: Some("fax".into()), ..Default::default() }.apply(None).unwrap_err();
        let fields: Vec<String> = e.0.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["kind", "body", "channel", "customer_id"]);
        let d =
            FeedbackInput { body: Some(" Great service ".into()), customer_id: Some(Some(7)), ..Default::default() }.apply(None).unwrap();
        assert_eq!((d.kind.as_str(), d.body.as_str(), d.channel.as_str()), ("feedback", "Great service", "email"));
        let e = FeedbackInput { kind: Some("complaint".into()), ..Default::default() }.apply(Some(&d)).unwrap();
        assert_eq!((e.kind.as_str(), e.customer_id), ("complaint", Some(7)));
        assert!(FeedbackInput { customer_id: Some(None), ..Default::default() }.apply(Some(&d)).is_err());
    }
}
