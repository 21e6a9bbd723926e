//! The public side of the help desk: what a customer sends through the ticket form (no sign-in)
//! and what their secret link shows them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::message::{MAX_BODY, TicketMessage};
use super::workflow::{Actor, TicketState};
use crate::ValidationErrors;
use crate::customer::CustomerData;
use crate::sales::required_text;
use crate::values::Email;

/// The source a person created by the ticket form gets.
pub const SOURCE: &str = "support form";

/// What the public ticket form sends.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicTicketInput {
    /// Full name (required).
    pub name: Option<String>,
    /// Email (required: the ticket's answers go there).
    pub email: Option<String>,
    /// What it is about (required).
    pub subject: Option<String>,
    /// The question or problem (required).
    pub message: Option<String>,
    /// Leave empty: hidden from people, so only bots fill it in.
    pub website: Option<String>,
}

/// A valid submission.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicTicket {
    /// Name.
    pub name: String,
    /// Email, canonical.
    pub email: String,
    /// Subject.
    pub subject: String,
    /// Message.
    pub message: String,
}

impl PublicTicketInput {
    /// Whether the honeypot field is filled in (a bot).
    pub fn is_bot(&self) -> bool {
        self.website.as_deref().is_some_and(|w| !w.trim().is_empty())
    }

    /// Validates the submission, naming every wrong field.
    pub fn apply(self) -> Result<PublicTicket, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let mut required = |field: &str, v: Option<String>, max: usize| match v.as_deref().map(|s| required_text(s, max)) {
            Some(Ok(s)) => Some(s),
            Some(Err(m)) => {
                errs.add(field, m);
                None
            }
            None => {
                errs.add(field, "is required");
                None
            }
        };
        let name = required("name", self.name, 200);
        let email_raw = required("email", self.email, 254);
        let subject = required("subject", self.subject, 200);
        let message = required("message", self.message, MAX_BODY);
        let email = email_raw.and_then(|e| errs.check("email", Email::parse(&e)).map(|e| e.to_string()));
        match (name, email, subject, message) {
            (Some(name), Some(email), Some(subject), Some(message)) if errs.0.is_empty() => {
                Ok(PublicTicket { name, email, subject, message })
            }
            _ => Err(errs),
        }
    }
}

impl PublicTicket {
    /// The person a new email becomes: unowned, from the support form.
    pub fn new_person(&self) -> CustomerData {
        CustomerData { name: self.name.clone(), email: Some(self.email.clone()), source: Some(SOURCE.into()), ..CustomerData::default() }
    }
}

/// What a customer's secret link shows: the ticket as they may know it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicTicketView {
    /// The ticket's number.
    pub id: i64,
    /// Subject.
    pub subject: String,
    /// Where it stands.
    pub status: TicketState,
    /// The public messages, oldest first (never the internal notes).
    pub messages: Vec<TicketMessage>,
    /// What the customer may do now: `customer_reply`, `confirm`, `reopen`.
    pub allowed_actions: Vec<&'static str>,
}

impl PublicTicketView {
    /// The view of a ticket in `status` with its `messages`, internal notes left out.
    pub fn new(id: i64, subject: String, status: TicketState, messages: Vec<TicketMessage>) -> PublicTicketView {
        let messages = messages.into_iter().filter(|m| !m.internal).collect();
        PublicTicketView { id, subject, status, messages, allowed_actions: status.allowed_actions(Actor::Customer) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_submission_names_every_missing_or_wrong_field() {
        let bad = PublicTicketInput { email: Some("nope".into()), subject: Some(" ".into()), ..Default::default() }.apply().unwrap_err();
        let fields: Vec<&str> = bad.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "subject", "message", "email"]);
        let ok = PublicTicketInput {
            name: Some(" Ann Lee ".into()),
            email: Some("ANN@Example.com".into()),
            subject: Some("Broken".into()),
            message: Some("It broke.".into()),
            website: Some(String::new()),
        };
        assert!(!ok.is_bot());
        let t = ok.apply().unwrap();
        assert_eq!((t.name.as_str(), t.subject.as_str()), ("Ann Lee", "Broken"));
        assert_eq!(t.new_person().source.as_deref(), Some(SOURCE));
        assert!(PublicTicketInput { website: Some("http://spam".into()), ..Default::default() }.is_bot());
    }

    #[test]
    fn the_customer_sees_public_messages_and_their_own_actions_only() {
        let m = |internal: bool| TicketMessage {
            id: 1,
            ticket_id: 1,
            author: Actor::Agent,
            author_id: None,
            author_name: None,
            internal,
            body: "x".into(),
            at: "t".into(),
        };
        let v = PublicTicketView::new(1, "s".into(), TicketState::Resolved, vec![m(false), m(true)]);
        assert_eq!(v.messages.len(), 1);
        assert_eq!(v.allowed_actions, ["customer_reply", "confirm", "reopen"]);
        assert!(PublicTicketView::new(1, "s".into(), TicketState::Closed, vec![]).allowed_actions.is_empty());
    }
}
