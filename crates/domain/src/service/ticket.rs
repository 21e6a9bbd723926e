//! Tickets as a record type: what a customer asked for, who works on it, and where it stands
//! in the workflow ([`super::workflow`]).
//!
//! The assignee is the record's owner (`owner_id`). Who reaches a ticket follows its team and
//! its assignee (see [`super::assignment`]): agents and managers see their teams' queues, what
//! is assigned to them and the general inbox; a rep with own-visibility sees the tickets
//! assigned to them and the unassigned queue, as for people and deals. `status` is never written by a client directly: it moves
//! by [`TicketData::perform`] (the `actions` endpoint), and giving an unassigned ticket an
//! assignee (or taking it away) through an ordinary edit is the `assign` (`unassign`) action.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::workflow::{Actor, TicketAction, TicketState};
use crate::customer::{apply_tags, apply_text};
use crate::permissions::Object;
use crate::record::{Field, Kind, RecordSpec};
use crate::sales::{Refused, Rejected, required_text};
use crate::{ValidationErrors, double_option};

/// Tickets as a record type, searched by subject and description (descriptions hold what the
/// customer wrote, which agents search for). The status and its times are the domain's to
/// write (through [`TicketData::perform`] and the assignment rule of [`TicketInput::apply`]):
/// no client input carries them.
pub static SPEC: RecordSpec = RecordSpec {
    name: "ticket",
    plural: "tickets",
    label: "ticket",
    label_plural: "tickets",
    object: Object::Ticket,
    title: "subject",
    owned: true,
    custom: None,
    fields: &[
        Field::new("subject", "Subject", Kind::Text).searched().sorted(),
        Field::new("description", "Description", Kind::LongText).searched(),
        Field::new("status", "Status", Kind::Choice(TicketState::NAMES)).filtered(),
        Field::new("priority", "Priority", Kind::Choice(Priority::NAMES)).filtered(),
        Field::new("category", "Category", Kind::Text).filtered(),
        Field::new("channel", "Channel", Kind::Choice(Channel::NAMES)).filtered(),
        Field::new("customer_id", "Person", Kind::Ref("customers")).filtered().shown_as("customer_name"),
        Field::new("company_id", "Company", Kind::Ref("companies")).filtered().shown_as("company_name"),
        Field::new("owner_id", "Assignee", Kind::Ref("users")).filtered(),
        Field::new("team_id", "Team", Kind::Int).filtered(),
        Field::new("tags", "Tags", Kind::Tags).filtered(),
        Field::new("snoozed_until", "Snoozed until", Kind::Time).filtered().sorted(),
        Field::new("status_changed_at", "Status changed", Kind::Time).filtered().sorted(),
        Field::new("resolved_at", "Resolved", Kind::Time).filtered().sorted(),
        Field::new("closed_at", "Closed", Kind::Time).filtered().sorted(),
        Field::new("parent_id", "Parent ticket", Kind::Int).filtered().read_only(),
        Field::new("merged_into_id", "Merged into", Kind::Int).read_only(),
        Field::new("external_id", "External id", Kind::Text).unique().filtered(),
    ],
};

/// How urgent a ticket is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Can wait.
    Low,
    /// The default.
    #[default]
    Normal,
    /// Soon.
    High,
    /// Now.
    Urgent,
}

impl Priority {
    /// Names, lowest first.
    pub const NAMES: &'static [&'static str] = &["low", "normal", "high", "urgent"];

    /// Name as stored and shown.
    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// Where a ticket came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// An email to the support address.
    Email,
    /// A call, logged by an agent.
    Phone,
    /// The public ticket form.
    WebForm,
    /// A chat.
    Chat,
    /// Created through the API (the default).
    #[default]
    Api,
}

impl Channel {
    /// Names.
    pub const NAMES: &'static [&'static str] = &["email", "phone", "web_form", "chat", "api"];

    /// Name as stored and shown.
    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// A ticket's fields, always valid (built by [`TicketInput::apply`] and [`TicketData::perform`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TicketData {
    /// Subject, 1 to 200 characters.
    pub subject: String,
    /// What the customer asked, up to 20,000 characters.
    pub description: Option<String>,
    /// Where it stands (read-only: changed by actions).
    pub status: TicketState,
    /// How urgent.
    pub priority: Priority,
    /// Free category (`billing`, `shipping`), up to 100 characters.
    pub category: Option<String>,
    /// Where it came from (fixed once created).
    pub channel: Channel,
    /// The person who asked (required).
    pub customer_id: Option<i64>,
    /// Their company.
    pub company_id: Option<i64>,
    /// The assigned agent (the record's owner); none while in the team queue.
    pub owner_id: Option<i64>,
    /// The team whose queue it is in.
    pub team_id: Option<i64>,
    /// Tags.
    pub tags: Vec<String>,
    /// While snoozed: when it wakes (read-only, set by `snooze`).
    pub snoozed_until: Option<String>,
    /// When the status last changed (read-only).
    pub status_changed_at: Option<String>,
    /// When it was last resolved (read-only).
    pub resolved_at: Option<String>,
    /// When it was closed (read-only).
    pub closed_at: Option<String>,
    /// The ticket's id in the help desk it came from (unique among live tickets): batch calls
    /// and imports upsert by it.
    #[serde(default)]
    pub external_id: Option<String>,
}

/// A ticket as the API returns it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Ticket {
    /// Identifier; also the ticket number customers see (`#123`).
    pub id: i64,
    /// Fields.
    #[serde(flatten)]
    pub data: TicketData,
    /// Name of the person, where the reader may see them (read-only).
    #[serde(default)]
    pub customer_name: Option<String>,
    /// Name of the company, where the reader may see it (read-only).
    #[serde(default)]
    pub company_name: Option<String>,
    /// Creation time (RFC 3339 UTC).
    pub created_at: String,
    /// Last change (RFC 3339 UTC).
    pub updated_at: String,
    /// Set on tombstones in sync listings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// The ticket this one was split off (read-only; children: `?parent_id=`).
    #[serde(default)]
    pub parent_id: Option<i64>,
    /// On a tombstone of a merged ticket: the survivor it was merged into (read-only).
    #[serde(default)]
    pub merged_into_id: Option<i64>,
    /// Other agents writing a reply now (`GET /tickets/{id}` only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replying: Vec<super::links::Replying>,
}

impl Ticket {
    /// What a sync listing shows of a deleted ticket: that it is gone, and nothing else.
    pub fn tombstone(self) -> Ticket {
        Ticket { data: TicketData::default(), customer_name: None, company_name: None, ..self }
    }
}

/// What a client sends to create (`subject` and `customer_id` required) or update a ticket.
/// The status is not among the fields: it moves by actions.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketInput {
    /// Subject.
    pub subject: Option<String>,
    /// Description, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// Priority.
    pub priority: Option<Priority>,
    /// Category, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub category: Option<Option<String>>,
    /// Channel; only when creating.
    pub channel: Option<Channel>,
    /// Person id.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub customer_id: Option<Option<i64>>,
    /// Company id, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub company_id: Option<Option<i64>>,
    /// Assignee's user id, or null for the team queue (assigning moves a new ticket to
    /// `assigned`, null returns an open one to `new`).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub owner_id: Option<Option<i64>>,
    /// Team id, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub team_id: Option<Option<i64>>,
    /// Tags (replaces the list).
    pub tags: Option<Vec<String>>,
    /// The ticket's id in another help desk, unique among live tickets (batch upserts use it).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub external_id: Option<Option<String>>,
}

/// An action as a client sends it to `POST /tickets/{id}/actions`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketActionInput {
    /// What to do.
    pub action: TicketAction,
    /// `assign`: the agent (the caller when absent).
    #[serde(default)]
    pub owner_id: Option<i64>,
    /// `snooze`: when to wake (a time, or a day meaning its start in UTC); must be in the future.
    #[serde(default)]
    pub until: Option<String>,
}

impl TicketInput {
    /// Merges onto `current` (or a new ticket) and validates; `now` stamps a status change
    /// that an assignment makes.
    pub fn apply(self, current: Option<&TicketData>, now: &str) -> Result<TicketData, Rejected> {
        let mut errs = ValidationErrors::default();
        let creating = current.is_none();
        let mut d = current.cloned().unwrap_or_default();
        match self.subject.map(|s| required_text(&s, 200)) {
            Some(Ok(s)) => d.subject = s,
            Some(Err(m)) => errs.add("subject", m),
            None if creating => errs.add("subject", "is required"),
            None => {}
        }
        apply_text(&mut errs, "description", self.description, &mut d.description, 20_000);
        if let Some(p) = self.priority {
            d.priority = p;
        }
        apply_text(&mut errs, "category", self.category, &mut d.category, 100);
        match (self.channel, current) {
            (Some(c), None) => d.channel = c,
            (Some(c), Some(cur)) if c != cur.channel => errs.add("channel", "cannot change: it says where the ticket came from"),
            _ => {}
        }
        if let Some(c) = self.customer_id {
            d.customer_id = c;
        }
        if d.customer_id.is_none() && (creating || self.customer_id.is_some()) {
            errs.add("customer_id", "is required: the person who asked");
        }
        if let Some(c) = self.company_id {
            d.company_id = c;
        }
        if let Some(t) = self.team_id {
            d.team_id = t;
        }
        apply_tags(&mut errs, self.tags, &mut d.tags);
        apply_text(&mut errs, "external_id", self.external_id, &mut d.external_id, 100);
        errs.into_result(())?;
        if creating {
            d.status = TicketState::New;
            d.status_changed_at = Some(now.to_string());
        }
        if let Some(owner) = self.owner_id {
            let before = d.owner_id;
            d.owner_id = owner;
            d = d.follow_assignment(before, now)?;
        }
        Ok(d)
    }
}

impl TicketData {
    /// A change of assignee made by an edit, as the workflow sees it: a first assignee assigns
    /// a new ticket, none returns an open one to the queue; a closed or resolved ticket keeps
    /// its assignee, who is credited with its resolution.
    fn follow_assignment(self, before: Option<i64>, now: &str) -> Result<TicketData, Rejected> {
        let action = match (before, self.owner_id) {
            (None, Some(_)) if self.status == TicketState::New => TicketAction::Assign,
            (Some(_), None) if self.status.is_open() && self.status != TicketState::New => TicketAction::Unassign,
            (a, b) if a != b && !self.status.is_open() => {
                let state = self.status;
                return Err(Refused::new(
                    "ticket",
                    "assign",
                    state.as_str(),
                    state.allowed_actions(Actor::Agent),
                    "a resolved or closed ticket keeps its assignee",
                )
                .on_field("owner_id")
                .into());
            }
            _ => return Ok(self),
        };
        let mut d = self;
        d.status = d.status.transition(action, Actor::Agent)?;
        d.status_changed_at = Some(now.to_string());
        Ok(d)
    }

    /// Takes `action` as `actor` at `now` (RFC 3339 UTC): the new state with its stamps, or the
    /// refusal naming the actions allowed now. `assign` gives the ticket to `owner` (required),
    /// `snooze` needs `until` after `now`.
    pub fn perform(
        &self,
        action: TicketAction,
        actor: Actor,
        owner: Option<i64>,
        until: Option<&str>,
        now: &str,
    ) -> Result<TicketData, Rejected> {
        let mut d = self.clone();
        d.status = self.status.transition(action, actor)?;
        match action {
            TicketAction::Assign => match owner {
                Some(o) => d.owner_id = Some(o),
                None => return Err(ValidationErrors::single("owner_id", "is required: the agent to assign").into()),
            },
            TicketAction::Unassign => d.owner_id = None,
            TicketAction::Snooze => {
                let until = until.ok_or_else(|| ValidationErrors::single("until", "is required: when the ticket wakes"))?;
                let until = crate::sales::parse_day(until)
                    .map(|day| format!("{day}T00:00:00.000000Z"))
                    .or_else(|_| crate::query::parse_time(until.trim()))
                    .map_err(|m| ValidationErrors::single("until", m))?;
                if until.as_str() <= now {
                    return Err(ValidationErrors::single("until", "must be in the future").into());
                }
                d.snoozed_until = Some(until);
            }
            TicketAction::Resolve => d.resolved_at = Some(now.to_string()),
            TicketAction::Confirm | TicketAction::AutoClose => d.closed_at = Some(now.to_string()),
            _ => {}
        }
        if d.status != TicketState::Snoozed {
            d.snoozed_until = None;
        }
        if d.status != self.status {
            d.status_changed_at = Some(now.to_string());
        }
        Ok(d)
    }
}

/// One step of a ticket's history: the state left and entered, by which action, when and by
/// whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatusChange {
    /// The state before (none at creation).
    pub from_status: Option<TicketState>,
    /// The state entered.
    pub to_status: TicketState,
    /// When (RFC 3339 UTC).
    pub at: String,
    /// Who (a user id; none for the customer or the system).
    pub actor_id: Option<i64>,
    /// For a step that joined this ticket by a merge: the merged ticket it was taken on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_from_id: Option<i64>,
}

impl StatusChange {
    /// The change from `before` to `after`, if the status changed (or the ticket is new).
    pub fn between(before: Option<&TicketData>, after: &TicketData, at: &str, actor_id: Option<i64>) -> Option<StatusChange> {
        let from = before.map(|b| b.status);
        (from != Some(after.status)).then(|| StatusChange {
            from_status: from,
            to_status: after.status,
            at: at.to_string(),
            actor_id,
            merged_from_id: None,
        })
    }
}

#[cfg(test)]
#[path = "ticket_tests.rs"]
mod tests;
