//! Who works a ticket: a team's assignment rule (by hand, round-robin or least-open), the
//! per-agent cap on open tickets, the queue filters of the ticket list (`assignee=me`,
//! `queue=team`) and what a bulk assignment asks for.
//!
//! Choosing an agent is a pure function of the team's eligible agents (active, not away, under
//! the cap) and the last one the team gave a ticket to: the store reads those inside the write
//! transaction that assigns, holding the team's row, so two servers never pick from the same
//! turn.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::ValidationErrors;

/// How a team hands out the tickets of its queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentMode {
    /// Agents take tickets, or a lead gives them; nothing is assigned automatically.
    #[default]
    Manual,
    /// Each new ticket goes to the next agent in turn (by user id, after the last one served).
    RoundRobin,
    /// Each new ticket goes to the agent with the fewest open tickets (ties in turn order).
    LeastOpen,
}

impl AssignmentMode {
    /// Names as stored and shown.
    pub const NAMES: &'static [&'static str] = &["manual", "round_robin", "least_open"];

    /// Name as stored.
    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<AssignmentMode> {
        [Self::Manual, Self::RoundRobin, Self::LeastOpen].into_iter().find(|m| m.as_str() == s)
    }
}

/// A team's assignment settings as the API shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TeamAssignment {
    /// The team.
    pub team_id: i64,
    /// How its queue is handed out.
    pub mode: AssignmentMode,
    /// Most open tickets an agent holds before automatic assignment skips them (none: no cap).
    pub max_open_per_agent: Option<i64>,
    /// The agent who got the team's last automatic assignment (where round-robin resumes).
    pub last_assigned_id: Option<i64>,
    /// The team's members as assignment sees them.
    pub agents: Vec<AgentLoad>,
}

/// One member of a team, as automatic assignment sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AgentLoad {
    /// User id.
    pub user_id: i64,
    /// Name.
    pub name: String,
    /// Whether the user's role works tickets (support agents and custom roles that may update
    /// tickets); admins and managers lead teams and are not in the rotation.
    pub agent: bool,
    /// Marked away: skipped by automatic assignment.
    pub away: bool,
    /// Deactivated users are never assigned.
    pub active: bool,
    /// Open tickets assigned to them (every team's).
    pub open: i64,
}

impl AgentLoad {
    /// Whether automatic assignment may give this member a ticket under `cap`.
    pub fn eligible(&self, cap: Option<i64>) -> bool {
        self.agent && self.active && !self.away && cap.is_none_or(|c| self.open < c)
    }
}

/// What a client sends to change a team's assignment settings.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamAssignmentInput {
    /// How the queue is handed out.
    pub mode: Option<AssignmentMode>,
    /// The cap, 1 to 10,000, or null for none.
    #[serde(default, deserialize_with = "crate::double_option")]
    #[schema(value_type = Option<i64>)]
    pub max_open_per_agent: Option<Option<i64>>,
}

impl TeamAssignmentInput {
    /// Checks the cap's range.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        match self.max_open_per_agent {
            Some(Some(n)) if !(1..=10_000).contains(&n) => {
                Err(ValidationErrors::single("max_open_per_agent", "must be from 1 to 10000, or null for no cap"))
            }
            _ => Ok(()),
        }
    }
}

/// Marks a user away (skipped by automatic assignment) or back.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AwayInput {
    /// Away or not.
    pub away: bool,
}

/// The agent that `mode` gives the next ticket to, among `members` (any order) after `last`,
/// or none when no member is eligible (or the team assigns by hand).
pub fn pick(mode: AssignmentMode, members: &[AgentLoad], cap: Option<i64>, last: Option<i64>) -> Option<i64> {
    let mut turn: Vec<&AgentLoad> = members.iter().filter(|m| m.eligible(cap)).collect();
    turn.sort_by_key(|m| m.user_id);
    // Turn order: the agents after the last one served, then from the start.
    let split = last.map_or(0, |l| turn.iter().position(|m| m.user_id > l).unwrap_or(turn.len()));
    turn.rotate_left(split);
    match mode {
        AssignmentMode::Manual => None,
        AssignmentMode::RoundRobin => turn.first().map(|m| m.user_id),
        // min_by_key keeps the first of equals: ties go in turn order.
        AssignmentMode::LeastOpen => turn.iter().min_by_key(|m| m.open).map(|m| m.user_id),
    }
}

/// Who a bulk or single assignment gives tickets to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignee {
    /// This user.
    User(i64),
    /// Back to the team queue.
    Nobody,
    /// Each ticket by its team's rule.
    Auto,
}

/// `POST /tickets/bulk_assign`: the tickets, and to whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkAssign {
    /// Ticket ids, each once, in the order given.
    pub ids: Vec<i64>,
    /// To whom.
    pub assignee: Assignee,
}

/// Most tickets one bulk assignment changes.
pub const BULK_MAX: usize = 500;

impl BulkAssign {
    /// Reads `{"ids": [..], "assignee": <user id> | "auto" | null}`, naming each bad field.
    pub fn parse(body: &Value) -> Result<BulkAssign, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let Some(obj) = body.as_object() else {
            return Err(ValidationErrors::single("body", "must be an object with ids and assignee"));
        };
        for k in obj.keys().filter(|k| *k != "ids" && *k != "assignee") {
            errs.add(k.as_str(), "is not a field of a bulk assignment (ids, assignee)");
        }
        let mut ids = Vec::new();
        match obj.get("ids").and_then(Value::as_array) {
            None => errs.add("ids", "is required: a list of ticket ids"),
            Some(a) if a.is_empty() => errs.add("ids", "must name at least one ticket"),
            Some(a) if a.len() > BULK_MAX => errs.add("ids", format!("names at most {BULK_MAX} tickets at once")),
            Some(a) => {
                for (n, v) in a.iter().enumerate() {
                    match v.as_i64() {
                        Some(id) if id > 0 && !ids.contains(&id) => ids.push(id),
                        Some(id) if id > 0 => errs.add(format!("ids[{n}]"), format!("ticket {id} is named twice")),
                        _ => errs.add(format!("ids[{n}]"), "must be a ticket id"),
                    }
                }
            }
        }
        let assignee = match obj.get("assignee") {
            None => {
                errs.add("assignee", "is required: a user id, \"auto\", or null for the team queue");
                Assignee::Nobody
            }
            Some(Value::Null) => Assignee::Nobody,
            Some(Value::String(s)) if s == "auto" => Assignee::Auto,
            Some(v) => match v.as_i64() {
                Some(u) if u > 0 => Assignee::User(u),
                _ => {
                    errs.add("assignee", "must be a user id, \"auto\", or null for the team queue");
                    Assignee::Nobody
                }
            },
        };
        errs.into_result(BulkAssign { ids, assignee })
    }
}

/// The queue filters of the ticket list, beyond the record's own fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueFilter {
    /// `assignee=me|unassigned|<id>`.
    pub assignee: Option<Assignee>,
    /// `queue=team`: tickets of the teams the reader belongs to.
    pub my_teams: bool,
}

impl QueueFilter {
    /// Takes `assignee` and `queue` out of a list's query pairs (the rest go to the record
    /// list's parser), resolving `me` to `me`.
    pub fn take(pairs: &mut Vec<(String, String)>, me: Option<i64>) -> Result<QueueFilter, ValidationErrors> {
        let mut f = QueueFilter::default();
        let mut errs = ValidationErrors::default();
        pairs.retain(|(k, v)| {
            let v = v.trim();
            match k.as_str() {
                "assignee" if !v.is_empty() => {
                    f.assignee = match (v, me) {
                        ("me", Some(me)) => Some(Assignee::User(me)),
                        ("unassigned", _) => Some(Assignee::Nobody),
                        (v, _) => match v.parse::<i64>() {
                            Ok(id) if id > 0 => Some(Assignee::User(id)),
                            _ => {
                                errs.add("assignee", "use me, unassigned or a user id");
                                None
                            }
                        },
                    };
                    false
                }
                "queue" if !v.is_empty() => {
                    match v {
                        "team" => f.my_teams = true,
                        "all" => {}
                        _ => errs.add("queue", "use team (the queues of your teams) or all"),
                    }
                    false
                }
                "assignee" | "queue" => false,
                _ => true,
            }
        });
        errs.into_result(f)
    }
}

#[cfg(test)]
#[path = "assignment_tests.rs"]
mod tests;
