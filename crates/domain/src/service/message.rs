//! A ticket's conversation: public replies, which the customer sees, and internal notes, which
//! only agents see.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::workflow::Actor;
use crate::ValidationErrors;
use crate::values::bounded_text;

/// The longest message kept, in characters (a long email thread quoted in full fits).
pub const MAX_BODY: usize = 50_000;

/// One message of a ticket's conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TicketMessage {
    /// Identifier.
    pub id: i64,
    /// The ticket.
    pub ticket_id: i64,
    /// Who wrote it: an agent, the customer, or the system (acknowledgements).
    pub author: Actor,
    /// The agent's user id.
    pub author_id: Option<i64>,
    /// The agent's name, or the customer's.
    pub author_name: Option<String>,
    /// An internal note, which the customer never sees.
    pub internal: bool,
    /// The text.
    pub body: String,
    /// When (RFC 3339 UTC).
    pub at: String,
}

/// What an agent sends to `POST /tickets/{id}/messages`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageInput {
    /// The text, 1 to 50,000 characters.
    pub body: Option<String>,
    /// `true` for an internal note (default: a public reply).
    #[serde(default)]
    pub internal: bool,
}

impl MessageInput {
    /// The message's text and whether it is internal, or the field that is wrong. Only agents
    /// write internal notes.
    pub fn validate(&self, author: Actor) -> Result<(String, bool), ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let body = match self.body.as_deref().map(|b| bounded_text(b, MAX_BODY)) {
            Some(Ok(Some(b))) => Some(b),
            Some(Ok(None)) | None => {
                errs.add("body", "is required: the reply or note");
                None
            }
            Some(Err(m)) => {
                errs.add("body", m);
                None
            }
        };
        if self.internal && author != Actor::Agent {
            errs.add("internal", "only agents write internal notes");
        }
        errs.into_result((body.unwrap_or_default(), self.internal))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_needs_a_body_and_internal_notes_are_for_agents() {
        let m = MessageInput { body: Some("  Thanks, fixed. ".into()), internal: false };
        assert_eq!(m.validate(Actor::Customer).unwrap(), ("Thanks, fixed.".to_string(), false));
        let note = MessageInput { body: Some("VIP, be quick".into()), internal: true };
        assert!(note.validate(Actor::Agent).unwrap().1);
        let fields = |e: ValidationErrors| e.0.into_iter().map(|e| e.field).collect::<Vec<_>>();
        assert_eq!(fields(note.validate(Actor::Customer).unwrap_err()), ["internal"]);
        assert_eq!(fields(MessageInput { body: Some(" ".into()), internal: false }.validate(Actor::Agent).unwrap_err()), ["body"]);
        assert_eq!(fields(MessageInput::default().validate(Actor::Agent).unwrap_err()), ["body"]);
        let long = MessageInput { body: Some("x".repeat(MAX_BODY + 1)), internal: false };
        assert_eq!(fields(long.validate(Actor::Agent).unwrap_err()), ["body"]);
    }
}
