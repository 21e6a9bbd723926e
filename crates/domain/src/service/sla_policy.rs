//! SLA policies: which targets a ticket must meet (first response, next response, resolution,
//! in business minutes of its team's calendar), chosen by the first policy in order whose
//! conditions (priority, category, channel, company) all hold, and where each target stands.
//!
//! First response is the first public reply by an agent (internal notes do not answer the
//! customer); next response runs from the first customer message after the latest agent reply
//! once the ticket was first answered; resolution runs from creation to the resolution. All
//! three pause in the states whose clock stops ([`super::workflow::TicketState::sla_clock_runs`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::business_time::BusinessTime;
use super::sla::{Change, Standing, standing};
use super::ticket::{Channel, Priority, TicketData};
use crate::values::bounded_text;
use crate::{ValidationErrors, double_option};

/// The longest target, in minutes: a year of business minutes is far beyond any real SLA.
pub const MAX_MINUTES: i64 = 525_600;

/// What a policy promises. Named `SlaTarget` in the API document: `Target` is a sales quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = SlaTarget)]
pub enum Target {
    /// The first public agent reply.
    FirstResponse,
    /// An agent's reply to the customer's latest message.
    NextResponse,
    /// The resolution.
    Resolution,
}

impl Target {
    /// Every target.
    pub const ALL: [Target; 3] = [Target::FirstResponse, Target::NextResponse, Target::Resolution];

    /// Name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::FirstResponse => "first_response",
            Target::NextResponse => "next_response",
            Target::Resolution => "resolution",
        }
    }

    /// The target named so.
    pub fn parse(s: &str) -> Option<Target> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// As people read it.
    pub fn label(self) -> &'static str {
        match self {
            Target::FirstResponse => "first response",
            Target::NextResponse => "next response",
            Target::Resolution => "resolution",
        }
    }
}

/// A policy's conditions and targets, always valid (built by [`SlaPolicyInput::apply`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SlaPolicyData {
    /// Name, unique.
    pub name: String,
    /// Policies are tried lowest position first; the first that matches applies.
    pub position: i64,
    /// Only tickets of this priority.
    pub priority: Option<Priority>,
    /// Only tickets of this category (case ignored).
    pub category: Option<String>,
    /// Only tickets from this channel.
    pub channel: Option<Channel>,
    /// Only tickets of this company.
    pub company_id: Option<i64>,
    /// First response within this many business minutes.
    pub first_response_minutes: Option<i64>,
    /// Each next response within this many business minutes.
    pub next_response_minutes: Option<i64>,
    /// Resolution within this many business minutes.
    pub resolution_minutes: Option<i64>,
    /// A target is near breach once this share of it is used (1–99, default 80).
    pub near_breach_percent: i64,
}

/// A policy as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SlaPolicy {
    /// Identifier.
    pub id: i64,
    /// Conditions and targets.
    #[serde(flatten)]
    pub data: SlaPolicyData,
    /// Creation time (RFC 3339 UTC).
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// Optimistic-concurrency version.
    pub version: i64,
}

/// What a client sends to create (`name` and a target required) or change a policy; a
/// condition sent as null is dropped.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaPolicyInput {
    /// Name, 1 to 100 characters.
    pub name: Option<String>,
    /// Order among the policies (default: after the last).
    pub position: Option<i64>,
    /// `low`, `normal`, `high` or `urgent`, or null for any.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub priority: Option<Option<String>>,
    /// A category, or null for any.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub category: Option<Option<String>>,
    /// `email`, `phone`, `web_form`, `chat` or `api`, or null for any.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub channel: Option<Option<String>>,
    /// A company id, or null for any.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub company_id: Option<Option<i64>>,
    /// Business minutes, 1 to 525,600, or null for no such target.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub first_response_minutes: Option<Option<i64>>,
    /// Business minutes, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub next_response_minutes: Option<Option<i64>>,
    /// Business minutes, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub resolution_minutes: Option<Option<i64>>,
    /// 1 to 99.
    pub near_breach_percent: Option<i64>,
}

fn choice<T: Copy>(errs: &mut ValidationErrors, field: &str, raw: Option<&str>, names: &[&str], all: impl Fn(usize) -> T) -> Option<T> {
    let raw = raw?.trim();
    match names.iter().position(|n| *n == raw) {
        Some(i) => Some(all(i)),
        None => {
            errs.add(field, format!("'{raw}' is not one of {}", names.join(", ")));
            None
        }
    }
}

impl SlaPolicyInput {
    /// The policy after this input is applied to `before` (none when creating), or every field
    /// that is wrong. `next_position` is where a new policy goes when it names none.
    pub fn apply(&self, before: Option<&SlaPolicyData>, next_position: i64) -> Result<SlaPolicyData, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let name = match (&self.name, before) {
            (Some(n), _) => match bounded_text(n, 100) {
                Ok(Some(n)) => n,
                Ok(None) => {
                    errs.add("name", "cannot be empty");
                    String::new()
                }
                Err(m) => {
                    errs.add("name", m);
                    String::new()
                }
            },
            (None, Some(b)) => b.name.clone(),
            (None, None) => {
                errs.add("name", "is required");
                String::new()
            }
        };
        let position = self.position.or(before.map(|b| b.position)).unwrap_or(next_position);
        if position < 0 {
            errs.add("position", "must be 0 or more");
        }
        let priority = match &self.priority {
            Some(p) => choice(&mut errs, "priority", p.as_deref(), Priority::NAMES, |i| PRIORITIES[i]),
            None => before.and_then(|b| b.priority),
        };
        let channel = match &self.channel {
            Some(c) => choice(&mut errs, "channel", c.as_deref(), Channel::NAMES, |i| CHANNELS[i]),
            None => before.and_then(|b| b.channel),
        };
        let category = match &self.category {
            Some(c) => match c.as_deref().map(|c| bounded_text(c, 100)) {
                Some(Ok(c)) => c,
                Some(Err(m)) => {
                    errs.add("category", m);
                    None
                }
                None => None,
            },
            None => before.and_then(|b| b.category.clone()),
        };
        let company_id = self.company_id.unwrap_or(before.and_then(|b| b.company_id));
        let mut minutes = |field: &str, given: Option<Option<i64>>, old: Option<i64>| {
            let m = given.unwrap_or(old);
            if let Some(m) = m
                && !(1..=MAX_MINUTES).contains(&m)
            {
                errs.add(field, format!("must be 1 to {MAX_MINUTES} business minutes"));
            }
            m
        };
        let first = minutes("first_response_minutes", self.first_response_minutes, before.and_then(|b| b.first_response_minutes));
        let next = minutes("next_response_minutes", self.next_response_minutes, before.and_then(|b| b.next_response_minutes));
        let resolution = minutes("resolution_minutes", self.resolution_minutes, before.and_then(|b| b.resolution_minutes));
        if first.is_none() && next.is_none() && resolution.is_none() {
            errs.add("resolution_minutes", "a policy needs at least one target (first response, next response or resolution)");
        }
        let near_breach_percent = self.near_breach_percent.or(before.map(|b| b.near_breach_percent)).unwrap_or(80);
        if !(1..=99).contains(&near_breach_percent) {
            errs.add("near_breach_percent", "must be 1 to 99");
        }
        errs.into_result(SlaPolicyData {
            name,
            position,
            priority,
            category,
            channel,
            company_id,
            first_response_minutes: first,
            next_response_minutes: next,
            resolution_minutes: resolution,
            near_breach_percent,
        })
    }
}

const PRIORITIES: [Priority; 4] = [Priority::Low, Priority::Normal, Priority::High, Priority::Urgent];
const CHANNELS: [Channel; 5] = [Channel::Email, Channel::Phone, Channel::WebForm, Channel::Chat, Channel::Api];

impl SlaPolicyData {
    /// Whether every condition of the policy holds for the ticket.
    pub fn matches(&self, t: &TicketData) -> bool {
        self.priority.is_none_or(|p| p == t.priority)
            && self.channel.is_none_or(|c| c == t.channel)
            && self.company_id.is_none_or(|c| Some(c) == t.company_id)
            && self.category.as_deref().is_none_or(|c| t.category.as_deref().is_some_and(|tc| tc.eq_ignore_ascii_case(c)))
    }

    /// The target's length in business seconds, if the policy sets it.
    pub fn seconds(&self, target: Target) -> Option<i64> {
        let m = match target {
            Target::FirstResponse => self.first_response_minutes,
            Target::NextResponse => self.next_response_minutes,
            Target::Resolution => self.resolution_minutes,
        };
        m.map(|m| m * 60)
    }
}

/// The policy that applies to a ticket: the first in position order (then id) that matches.
pub fn choose<'a>(policies: &'a [SlaPolicy], t: &TicketData) -> Option<&'a SlaPolicy> {
    policies.iter().filter(|p| p.data.matches(t)).min_by_key(|p| (p.data.position, p.id))
}

/// What a ticket's clocks are measured from: its status history and the moments its
/// conversation answered or awaited an answer.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// Status changes, oldest first, the first the creation.
    pub history: Vec<Change>,
    /// The first public agent reply.
    pub first_reply: Option<DateTime<Utc>>,
    /// The first customer message after the latest public agent reply (once there was one).
    pub awaiting_since: Option<DateTime<Utc>>,
    /// When it was resolved, if it is resolved or closed now.
    pub resolved_at: Option<DateTime<Utc>>,
}

/// Where one of a ticket's targets stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TargetStanding {
    /// Which target.
    pub target: Target,
    /// When its clock started (RFC 3339 UTC): the creation, or the customer message awaiting
    /// an answer.
    #[schema(value_type = String)]
    pub started_at: DateTime<Utc>,
    /// The target in business minutes.
    pub minutes: i64,
    /// `running` (with `due`), `near_breach` (with `due`), `breached` (with `over_seconds`),
    /// `paused` (with `left_seconds`), `met` (with `seconds`) or `missed` (with `over_seconds`).
    #[schema(value_type = Object)]
    pub standing: Standing,
}

/// A ticket's SLA: the policy that applies, the calendar its clocks run on, and each target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SlaStanding {
    /// The policy.
    pub policy_id: i64,
    /// Its name.
    pub policy_name: String,
    /// The calendar (the team's, else the default); null when the clocks run round the clock.
    pub calendar_id: Option<i64>,
    /// Its name.
    pub calendar_name: Option<String>,
    /// Each target the policy sets (next response only while a customer message awaits an
    /// answer).
    pub targets: Vec<TargetStanding>,
}

/// Where each target the policy sets stands for the ticket at `now`.
pub fn evaluate(time: &impl BusinessTime, policy: &SlaPolicyData, clock: &Clock, now: DateTime<Utc>) -> Vec<TargetStanding> {
    let Some(created) = clock.history.first().map(|c| c.at) else {
        return vec![];
    };
    let mut out = Vec::with_capacity(3);
    for target in Target::ALL {
        let Some(seconds) = policy.seconds(target) else { continue };
        let (from, stop) = match target {
            Target::FirstResponse => (created, clock.first_reply),
            Target::NextResponse => match (clock.first_reply, clock.awaiting_since) {
                (Some(_), Some(since)) => (since, None),
                _ => continue,
            },
            Target::Resolution => (created, clock.resolved_at),
        };
        let warn = seconds * (100 - policy.near_breach_percent) / 100;
        let standing = standing(time, &clock.history, from, stop, seconds, warn, now);
        out.push(TargetStanding { target, started_at: from, minutes: seconds / 60, standing });
    }
    out
}

#[cfg(test)]
#[path = "sla_policy_tests.rs"]
mod tests;
