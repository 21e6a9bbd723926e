//! Campaign members and their response states.
//!
//! A member's `status` is the furthest state reached along sent → delivered → opened → clicked →
//! responded → converted; each milestone keeps the time it was first reached. Unsubscribed,
//! bounced and complained end the path: from any state a member may reach one of them, and
//! from one of them nothing follows. Recording a state the member already passed is accepted
//! and changes nothing (the email machinery reports events late and twice).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::sales::Refused;

/// A response state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResponseState {
    /// Added, nothing sent yet.
    Member,
    /// A message went out.
    Sent,
    /// The receiving server accepted it.
    Delivered,
    /// A person opened it.
    Opened,
    /// A person clicked a link in it.
    Clicked,
    /// Replied, registered, answered.
    Responded,
    /// Became a customer or bought.
    Converted,
    /// Asked for no more (final).
    Unsubscribed,
    /// The address does not take mail (final).
    Bounced,
    /// Marked the mail as spam (final).
    Complained,
}

impl ResponseState {
    /// Every state's name.
    pub const NAMES: &'static [&'static str] =
        &["member", "sent", "delivered", "opened", "clicked", "responded", "converted", "unsubscribed", "bounced", "complained"];
    /// Every state.
    pub const ALL: [ResponseState; 10] = [
        ResponseState::Member,
        ResponseState::Sent,
        ResponseState::Delivered,
        ResponseState::Opened,
        ResponseState::Clicked,
        ResponseState::Responded,
        ResponseState::Converted,
        ResponseState::Unsubscribed,
        ResponseState::Bounced,
        ResponseState::Complained,
    ];

    /// The state's name (also its column's prefix: `opened` → `opened_at`).
    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// The state named `s`.
    pub fn parse(s: &str) -> Option<ResponseState> {
        Self::ALL.into_iter().find(|r| r.as_str() == s.trim())
    }

    /// Whether the state ends the path.
    pub fn is_terminal(self) -> bool {
        matches!(self, ResponseState::Unsubscribed | ResponseState::Bounced | ResponseState::Complained)
    }

    /// The column keeping when the state was first reached (none for `member`).
    pub fn column(self) -> Option<&'static str> {
        match self {
            ResponseState::Member => None,
            ResponseState::Sent => Some("sent_at"),
            ResponseState::Delivered => Some("delivered_at"),
            ResponseState::Opened => Some("opened_at"),
            ResponseState::Clicked => Some("clicked_at"),
            ResponseState::Responded => Some("responded_at"),
            ResponseState::Converted => Some("converted_at"),
            ResponseState::Unsubscribed => Some("unsubscribed_at"),
            ResponseState::Bounced => Some("bounced_at"),
            ResponseState::Complained => Some("complained_at"),
        }
    }

    /// The states a member in this one may still record as new.
    pub fn allowed(self) -> Vec<&'static str> {
        if self.is_terminal() {
            return vec![];
        }
        Self::ALL.into_iter().filter(|s| *s > self).map(|s| s.as_str()).collect()
    }

    /// What recording `to` does to a member in this state: the new status (`None`: nothing
    /// changes, the state was already passed), or a refusal once the path has ended.
    pub fn record(self, to: ResponseState) -> Result<Option<ResponseState>, Refused> {
        if to == self || (to < self && !to.is_terminal() && !self.is_terminal()) {
            return Ok(None);
        }
        if self.is_terminal() {
            return Err(Refused::new(
                "campaign member",
                "respond",
                self.as_str(),
                vec![],
                format!("a member who {} receives nothing more", self.as_str()),
            )
            .on_field("state"));
        }
        if to == ResponseState::Member {
            return Ok(None);
        }
        Ok(Some(to))
    }
}

/// A campaign member as the API lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Member {
    /// The campaign.
    pub campaign_id: i64,
    /// The person.
    pub person_id: i64,
    /// The person's name.
    pub person_name: String,
    /// The furthest state reached.
    pub status: ResponseState,
    /// How they joined: `manual`, `segment`, `list`.
    pub source: String,
    /// When they joined.
    pub added_at: String,
    /// When each state was first reached, by state name.
    pub reached: std::collections::BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::ResponseState::*;

    #[test]
    fn states_advance_only_forward_and_terminal_ones_end_the_path() {
        assert_eq!(Sent.record(Opened), Ok(Some(Opened)));
        assert_eq!(Clicked.record(Opened), Ok(None), "an open reported after the click changes nothing");
        assert_eq!(Opened.record(Bounced), Ok(Some(Bounced)));
        assert_eq!(Member.record(Complained), Ok(Some(Complained)));
        let r = Unsubscribed.record(Clicked).unwrap_err();
        assert_eq!(r.state, "unsubscribed");
        assert!(r.allowed.is_empty());
        assert_eq!(Bounced.record(Bounced), Ok(None));
        assert!(Bounced.record(Complained).is_err());
        assert_eq!(Delivered.allowed()[0], "opened");
    }
}
