//! The ticket workflow: an explicit state machine.
//!
//! ```text
//!            assign            start
//!   new ───────────▶ assigned ───────▶ in_progress ◀──────────────┐
//!    ▲                  │                 │   ▲  ▲                │ resume / customer_reply
//!    │ unassign         │ wait_on_…       │   │  └─ wake ─ snoozed│
//!    └──────────────────┴──────────▶ waiting_on_customer / waiting_on_third_party
//!                                          │
//!                       resolve (from any open state but new)
//!                                          ▼
//!        reopened ◀── reopen / customer_reply ── resolved ── confirm / auto_close ──▶ closed
//!           │ start ▶ in_progress
//! ```
//!
//! Decisions where the issue is silent:
//! - A new ticket has no assignee, so it cannot be started or resolved before it is assigned
//!   (assignment rules hand it to an agent at once when a team uses them).
//! - `unassign` returns an open ticket to its team's queue (`new`), for an agent who leaves the
//!   team or is deactivated; the SLA clock keeps running.
//! - A customer's reply moves a ticket that waits for them, or is snoozed or waiting on a third
//!   party, back to `in_progress`, and reopens a resolved one; on a ticket already being worked
//!   it changes nothing. A reply to a closed ticket opens a new ticket (the mail layer decides).
//! - Only the customer confirms a resolution (survey or status page) and only the system closes
//!   after the configured days; `closed` is final.
//! - The SLA clock stops while the customer is the one we wait for (`waiting_on_customer`) and
//!   once resolved; waiting on a third party or snoozing is our delay, so the clock runs.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::sales::Refused;

/// Where a ticket stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketState {
    /// Submitted, in the team's queue, nobody assigned.
    #[default]
    New,
    /// An agent owns it but has not started.
    Assigned,
    /// Being worked on.
    InProgress,
    /// Waiting for the customer's answer (the SLA clock pauses).
    WaitingOnCustomer,
    /// Waiting for a supplier or another team.
    WaitingOnThirdParty,
    /// Put aside until a date (`snoozed_until`), then back in progress.
    Snoozed,
    /// The agent says it is solved; the customer may confirm or reopen.
    Resolved,
    /// Resolved, then reopened by the customer or an agent.
    Reopened,
    /// Confirmed by the customer or closed automatically; final.
    Closed,
}

/// Who is acting: some actions belong to the customer or to the system alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// A signed-in agent (or an API client acting as one).
    Agent,
    /// The customer, through the ticket's secret link, a survey or an email.
    Customer,
    /// Background jobs: auto-close, snooze wake-up, queue return.
    System,
}

impl Actor {
    /// Name as stored (a message's author).
    pub fn as_str(self) -> &'static str {
        match self {
            Actor::Agent => "agent",
            Actor::Customer => "customer",
            Actor::System => "system",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Actor> {
        [Actor::Agent, Actor::Customer, Actor::System].into_iter().find(|a| a.as_str() == s)
    }
}

/// What can be done to a ticket's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketAction {
    /// Give the ticket to an agent (new → assigned).
    Assign,
    /// Return it to the team queue (any open state → new).
    Unassign,
    /// Start working (assigned or reopened → in_progress).
    Start,
    /// Ask the customer and wait for the answer.
    WaitOnCustomer,
    /// Wait for a third party.
    WaitOnThirdParty,
    /// Continue after waiting (→ in_progress).
    Resume,
    /// Put aside until a date.
    Snooze,
    /// The snooze date came, or an agent takes it up early (→ in_progress).
    Wake,
    /// The customer wrote: resumes a waiting ticket, reopens a resolved one.
    CustomerReply,
    /// Mark solved (→ resolved).
    Resolve,
    /// The customer confirms the resolution (→ closed).
    Confirm,
    /// Closed after the configured days without an answer (→ closed).
    AutoClose,
    /// Not solved after all (resolved → reopened).
    Reopen,
}

impl TicketAction {
    /// Every action.
    pub const ALL: [TicketAction; 13] = [
        Self::Assign,
        Self::Unassign,
        Self::Start,
        Self::WaitOnCustomer,
        Self::WaitOnThirdParty,
        Self::Resume,
        Self::Snooze,
        Self::Wake,
        Self::CustomerReply,
        Self::Resolve,
        Self::Confirm,
        Self::AutoClose,
        Self::Reopen,
    ];

    /// Name as sent and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Assign => "assign",
            Self::Unassign => "unassign",
            Self::Start => "start",
            Self::WaitOnCustomer => "wait_on_customer",
            Self::WaitOnThirdParty => "wait_on_third_party",
            Self::Resume => "resume",
            Self::Snooze => "snooze",
            Self::Wake => "wake",
            Self::CustomerReply => "customer_reply",
            Self::Resolve => "resolve",
            Self::Confirm => "confirm",
            Self::AutoClose => "auto_close",
            Self::Reopen => "reopen",
        }
    }

    /// Parses a sent name.
    pub fn parse(s: &str) -> Option<TicketAction> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// Who may take the action.
    pub fn permitted(self, actor: Actor) -> bool {
        use TicketAction::*;
        match self {
            Confirm => actor == Actor::Customer,
            AutoClose => actor == Actor::System,
            CustomerReply => actor != Actor::Agent,
            Reopen => true,
            Assign | Unassign | Wake | Start | WaitOnCustomer | WaitOnThirdParty | Resume | Snooze | Resolve => actor != Actor::Customer,
        }
    }
}

impl TicketState {
    /// Every state, in workflow order.
    pub const ALL: [TicketState; 9] = [
        Self::New,
        Self::Assigned,
        Self::InProgress,
        Self::WaitingOnCustomer,
        Self::WaitingOnThirdParty,
        Self::Snoozed,
        Self::Resolved,
        Self::Reopened,
        Self::Closed,
    ];

    /// Names as stored and shown, in [`TicketState::ALL`] order.
    pub const NAMES: &'static [&'static str] =
        &["new", "assigned", "in_progress", "waiting_on_customer", "waiting_on_third_party", "snoozed", "resolved", "reopened", "closed"];

    /// Name as stored and shown.
    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<TicketState> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether the ticket still needs work (counts in queues and backlog).
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Resolved | Self::Closed)
    }

    /// Whether the SLA clock runs in this state (see the module notes).
    pub fn sla_clock_runs(self) -> bool {
        !matches!(self, Self::WaitingOnCustomer | Self::Resolved | Self::Closed)
    }

    /// The state `action` leads to from here, or `None` when it is not allowed here. A
    /// customer's reply to a ticket already being worked leaves the state as it is.
    fn next(self, action: TicketAction) -> Option<TicketState> {
        use TicketAction::*;
        use TicketState::*;
        let working = matches!(self, Assigned | InProgress | WaitingOnCustomer | WaitingOnThirdParty | Snoozed | Reopened);
        Some(match (self, action) {
            (New, Assign) => Assigned,
            (_, Unassign) if working => New,
            (Assigned | Reopened, Start) => InProgress,
            (Assigned | InProgress | WaitingOnThirdParty | Reopened, WaitOnCustomer) => WaitingOnCustomer,
            (Assigned | InProgress | WaitingOnCustomer | Reopened, WaitOnThirdParty) => WaitingOnThirdParty,
            (WaitingOnCustomer | WaitingOnThirdParty, Resume) => InProgress,
            (Assigned | InProgress | WaitingOnCustomer | WaitingOnThirdParty | Reopened, Snooze) => Snoozed,
            (Snoozed, Wake) => InProgress,
            (WaitingOnCustomer | WaitingOnThirdParty | Snoozed, CustomerReply) => InProgress,
            (Resolved, CustomerReply | Reopen) => Reopened,
            (New | Assigned | InProgress | Reopened, CustomerReply) => self,
            (_, Resolve) if working => Resolved,
            (Resolved, Confirm | AutoClose) => Closed,
            _ => return None,
        })
    }

    /// The actions `actor` may take now, in [`TicketAction::ALL`] order: exactly the buttons
    /// the ticket page shows.
    pub fn allowed_actions(self, actor: Actor) -> Vec<&'static str> {
        TicketAction::ALL.into_iter().filter(|a| a.permitted(actor) && self.next(*a).is_some()).map(TicketAction::as_str).collect()
    }

    /// The state after `actor` takes `action`, or the refusal naming what is allowed instead.
    pub fn transition(self, action: TicketAction, actor: Actor) -> Result<TicketState, Refused> {
        let refuse =
            |reason: String| Refused::new("ticket", action.as_str(), self.as_str(), self.allowed_actions(actor), reason).on_field("status");
        if !action.permitted(actor) {
            let who = match action {
                TicketAction::Confirm => "only the customer confirms a resolution",
                TicketAction::AutoClose => "only the system closes a ticket automatically",
                TicketAction::CustomerReply => "a customer reply comes from the customer",
                _ => "the customer cannot do this",
            };
            return Err(refuse(who.into()));
        }
        self.next(action).ok_or_else(|| {
            refuse(match self {
                TicketState::Closed => "a closed ticket is final; a new message opens a new ticket".into(),
                TicketState::New if matches!(action, TicketAction::Start | TicketAction::Resolve) => {
                    "a new ticket must be assigned first".into()
                }
                _ => format!("a ticket that is {} cannot {}", self.as_str().replace('_', " "), action.as_str().replace('_', " ")),
            })
        })
    }
}

#[cfg(test)]
#[path = "workflow_tests.rs"]
mod tests;
