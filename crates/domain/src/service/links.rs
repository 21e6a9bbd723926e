//! How tickets relate to each other and to people beyond their own person: followers, merges
//! into a survivor, split-off children, and the agents replying right now.
//!
//! A merged ticket is a tombstone (`deleted_at` and `merged_into_id` set): a sync client that
//! holds it drops it and re-points what referred to it at the survivor, and `GET` on it answers
//! `308 Permanent Redirect` to the survivor.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::canned::MergeValues;
use super::message::TicketMessage;
use super::ticket::Ticket;

/// How long an agent counts as replying after the page last said so, in seconds: the page
/// repeats it well within this while the reply box is in use.
pub const PRESENCE_SECONDS: i64 = 30;

/// `POST /tickets/{id}/merge`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeInput {
    /// The survivor: the ticket this one is merged into.
    pub into: Option<i64>,
}

/// `POST /tickets/{id}/split`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitInput {
    /// The message that becomes the new ticket's conversation.
    pub message_id: Option<i64>,
    /// The new ticket's subject (default: the parent's, marked as split off).
    #[serde(default)]
    pub subject: Option<String>,
}

/// The subject of a ticket split off `parent`, unless one was given: within the 200
/// characters a subject may have.
pub fn split_subject(parent_id: i64, parent_subject: &str) -> String {
    let s = format!("{parent_subject} (split from #{parent_id})");
    if s.chars().count() <= 200 {
        return s;
    }
    let tail = format!("… (split from #{parent_id})");
    let keep = 200 - tail.chars().count();
    parent_subject.chars().take(keep).collect::<String>() + &tail
}

/// `PUT /tickets/{id}/parent`: links the ticket under a parent, or (null) unlinks it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParentInput {
    /// The parent ticket, or null for none.
    #[serde(default)]
    pub parent_id: Option<i64>,
}

/// The deepest chain of parents followed when checking that a link makes no loop.
pub const MAX_DEPTH: usize = 100;

/// `POST /tickets/{id}/contacts`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowerInput {
    /// The person who follows the ticket.
    pub customer_id: Option<i64>,
}

/// A person following a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Follower {
    /// The person.
    pub customer_id: i64,
    /// Their name, where the reader may see them.
    pub name: Option<String>,
    /// When they started following (RFC 3339 UTC).
    pub added_at: String,
}

/// An agent writing a reply to a ticket now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Replying {
    /// The agent's user id.
    pub user_id: i64,
    /// Their name.
    pub name: String,
    /// Until when this holds unless repeated (RFC 3339 UTC).
    pub until: String,
}

/// `POST /tickets/{id}/presence`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresenceInput {
    /// `true` (the default) while the reply box is in use, `false` once it is left.
    #[serde(default)]
    pub replying: Option<bool>,
}

/// The query of `POST /tickets/{id}/macros/{macro_id}/apply`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApplyQuery {
    /// `true`: render the reply and the ticket as they would be, and change nothing.
    #[serde(default)]
    pub preview: bool,
}

/// What applying a macro did (or, previewed, would do).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MacroApplied {
    /// The reply as posted (or as it would be).
    pub body: String,
    /// Whether it is an internal note.
    pub internal: bool,
    /// The message posted (absent in a preview).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<TicketMessage>,
    /// The ticket after the macro's actions (in a preview, as it would be; not saved).
    pub ticket: Ticket,
    /// Whether this was only a preview.
    pub preview: bool,
}

/// The merge values of a ticket as an agent sees it.
pub fn merge_values(t: &Ticket, customer_email: Option<String>, agent_name: Option<String>) -> MergeValues {
    MergeValues {
        customer_name: t.customer_name.clone(),
        customer_email,
        company_name: t.company_name.clone(),
        ticket_number: t.id,
        ticket_subject: t.data.subject.clone(),
        ticket_status: t.data.status.as_str().to_string(),
        ticket_priority: t.data.priority.as_str().to_string(),
        agent_name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_subject_fits_in_a_subject() {
        assert_eq!(split_subject(7, "Two problems"), "Two problems (split from #7)");
        let long = "x".repeat(200);
        let s = split_subject(123456, &long);
        assert_eq!(s.chars().count(), 200);
        assert!(s.ends_with("… (split from #123456)"), "{s}");
    }
}
