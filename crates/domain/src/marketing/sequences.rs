//! Drip sequences (issue 12 §7): ordered steps (send a template, wait, branch, add to a list,
//! notify the owner) that people enter by joining a segment or list, by signing up, or by
//! hand. Each person's position is an enrollment the store advances.
//!
//! Decisions where the issue is silent:
//! - A sequence belongs to one email campaign: its mails count in that campaign's funnel
//!   (people it mails become members, opens and clicks move them) and branch on "converted"
//!   reads that membership.
//! - A branch only jumps forward (to a later step, or to the end), so no person loops and no
//!   step runs twice for one person; a person enters a sequence once.
//! - "Opened" and "clicked" are of the last mail the sequence sent the person, human ones only
//!   (machine opens and clicks never count); with no mail sent yet they are false.
//! - Entry `segment` enrolls everyone in the segment (a list's members, a dynamic segment's
//!   matches) while the sequence is active, including those already in it at activation;
//!   entry `signup` enrolls people who grant consent (the sequence's topic or the global one)
//!   after the sequence was activated.
//! - Sequences are shared marketing data, as templates are: every role that reads campaigns
//!   reads them, marketers and admins change them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ValidationErrors;
use crate::marketing::email::valid_topic;
use crate::sales::Refused;

/// The most steps a sequence has.
pub const MAX_STEPS: usize = 50;

/// What a branch looks at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// The person opened the last mail of the sequence (a human open).
    Opened,
    /// The person clicked a link of the last mail of the sequence (a human click).
    Clicked,
    /// The person converted in the sequence's campaign.
    Converted,
    /// The person is in the segment now (its rules compiled to SQL, or its list).
    InSegment {
        /// The segment.
        segment_id: i64,
    },
}

/// One step of a sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Sends an email template through the marketing send path (suppression, consent and the
    /// frequency cap apply).
    SendEmail {
        /// The template.
        template_id: i64,
    },
    /// Waits before the next step.
    Wait {
        /// Days, 0 to 365.
        #[serde(default)]
        days: i64,
        /// Hours, 0 to 8760.
        #[serde(default)]
        hours: i64,
    },
    /// Goes on at `then_step` when the condition holds, else at `else_step`: step numbers
    /// (from 0) after this one, or the number of steps to end; absent means the next step.
    Branch {
        /// What to look at.
        condition: Condition,
        /// Where to go on when it holds.
        #[serde(default)]
        then_step: Option<usize>,
        /// Where to go on when it does not.
        #[serde(default)]
        else_step: Option<usize>,
    },
    /// Adds the person to a static segment (a list).
    AddToList {
        /// The list.
        segment_id: i64,
    },
    /// Notifies the sequence's owner that the person reached this step.
    NotifyOwner {
        /// The notification's text (a default names the sequence and the person).
        #[serde(default)]
        message: Option<String>,
    },
}

impl Step {
    /// The step's type as stored in step runs.
    pub fn kind(&self) -> &'static str {
        match self {
            Step::SendEmail { .. } => "send_email",
            Step::Wait { .. } => "wait",
            Step::Branch { .. } => "branch",
            Step::AddToList { .. } => "add_to_list",
            Step::NotifyOwner { .. } => "notify_owner",
        }
    }

    /// How long a wait step waits (zero for every other step).
    pub fn wait(&self) -> chrono::Duration {
        match self {
            Step::Wait { days, hours } => chrono::Duration::days(*days) + chrono::Duration::hours(*hours),
            _ => chrono::Duration::zero(),
        }
    }

    /// Where a branch at `index` goes on, given whether its condition `held`; the next step
    /// for every other step.
    pub fn next(&self, index: usize, held: bool) -> usize {
        match self {
            Step::Branch { then_step, else_step, .. } => (if held { *then_step } else { *else_step }).unwrap_or(index + 1),
            _ => index + 1,
        }
    }

    /// The segments the step names (checked by the store), with the field naming each.
    pub fn segments(&self) -> Option<(i64, &'static str)> {
        match self {
            Step::AddToList { segment_id } => Some((*segment_id, "segment_id")),
            Step::Branch { condition: Condition::InSegment { segment_id }, .. } => Some((*segment_id, "condition.segment_id")),
            _ => None,
        }
    }
}

/// How people enter a sequence.
pub const ENTRIES: &[&str] = &["manual", "segment", "signup"];

/// A sequence's editable fields, always valid (built by [`SequenceInput::apply`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SequenceData {
    /// Name, 1 to 200 characters.
    pub name: String,
    /// The email campaign its mails count for.
    pub campaign_id: i64,
    /// The consent topic of its mails.
    pub topic: String,
    /// `manual`, `segment` (joining `segment_id`) or `signup` (granting consent).
    pub entry: String,
    /// The segment or list people enter by (entry `segment`).
    pub segment_id: Option<i64>,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// Who is notified by `notify_owner` steps.
    pub owner_id: Option<i64>,
}

/// What a client sends to create (every field but the optional ones) or change (only the
/// fields sent) a sequence.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SequenceInput {
    /// Name, 1 to 200 characters.
    #[serde(default)]
    pub name: Option<String>,
    /// The email campaign its mails count for.
    #[serde(default)]
    pub campaign_id: Option<i64>,
    /// The consent topic of its mails (default `newsletter`).
    #[serde(default)]
    pub topic: Option<String>,
    /// `manual` (default), `segment` or `signup`.
    #[serde(default)]
    pub entry: Option<String>,
    /// The segment or list people enter by (entry `segment`); `null` clears it.
    #[serde(default, deserialize_with = "crate::double_option")]
    #[schema(value_type = Option<i64>)]
    pub segment_id: Option<Option<i64>>,
    /// The steps, in order (1 to 50).
    #[serde(default)]
    pub steps: Option<Vec<Step>>,
    /// Who `notify_owner` steps notify (default: the creator).
    #[serde(default, deserialize_with = "crate::double_option")]
    #[schema(value_type = Option<i64>)]
    pub owner_id: Option<Option<i64>>,
}

impl SequenceInput {
    /// The fields sent over `current` (none when creating), checked: every problem named by
    /// its field (`steps[2].then_step`).
    pub fn apply(self, current: Option<&SequenceData>) -> Result<SequenceData, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let name = self.name.map(|n| n.trim().to_string()).or_else(|| current.map(|c| c.name.clone())).unwrap_or_default();
        if name.is_empty() || name.chars().count() > 200 {
            errs.add("name", "must be 1 to 200 characters");
        }
        let campaign_id = self.campaign_id.or(current.map(|c| c.campaign_id)).unwrap_or(0);
        if campaign_id <= 0 {
            errs.add("campaign_id", "name the email campaign the sequence's mails count for");
        }
        let topic = self.topic.or_else(|| current.map(|c| c.topic.clone())).unwrap_or_else(|| "newsletter".into());
        if !valid_topic(&topic) {
            errs.add("topic", "must be 1 to 50 lower-case letters, digits, - or _");
        }
        let entry = self.entry.or_else(|| current.map(|c| c.entry.clone())).unwrap_or_else(|| "manual".into());
        if !ENTRIES.contains(&entry.as_str()) {
            errs.add("entry", "must be manual, segment or signup");
        }
        let segment_id = match self.segment_id {
            Some(s) => s,
            None => current.and_then(|c| c.segment_id),
        };
        if entry == "segment" && segment_id.is_none() {
            errs.add("segment_id", "a sequence entered by joining a segment names the segment");
        }
        let steps = self.steps.or_else(|| current.map(|c| c.steps.clone())).unwrap_or_default();
        check_steps(&steps, &mut errs);
        let owner_id = match self.owner_id {
            Some(o) => o,
            None => current.and_then(|c| c.owner_id),
        };
        errs.into_result(SequenceData { name, campaign_id, topic, entry, segment_id, steps, owner_id })
    }
}

fn check_steps(steps: &[Step], errs: &mut ValidationErrors) {
    if steps.is_empty() || steps.len() > MAX_STEPS {
        errs.add("steps", format!("a sequence has 1 to {MAX_STEPS} steps"));
    }
    let end = steps.len();
    for (i, s) in steps.iter().enumerate() {
        let at = |f: &str| format!("steps[{i}].{f}");
        match s {
            Step::SendEmail { template_id } if *template_id <= 0 => errs.add(at("template_id"), "name a template"),
            Step::Wait { days, hours } => {
                if !(0..=365).contains(days) {
                    errs.add(at("days"), "must be 0 to 365");
                }
                if !(0..=8760).contains(hours) {
                    errs.add(at("hours"), "must be 0 to 8760");
                }
                if *days == 0 && *hours == 0 {
                    errs.add(at("days"), "a wait waits at least one hour");
                }
            }
            Step::Branch { then_step, else_step, .. } => {
                for (f, t) in [("then_step", then_step), ("else_step", else_step)] {
                    if let Some(t) = t
                        && (*t <= i || *t > end)
                    {
                        errs.add(
                            at(f),
                            format!("a branch goes on at a later step: {} to {end} (the number of steps ends the sequence)", i + 1),
                        );
                    }
                }
            }
            Step::NotifyOwner { message: Some(m) } if m.chars().count() > 500 => errs.add(at("message"), "at most 500 characters"),
            _ => {}
        }
        if let Some((id, f)) = s.segments()
            && id <= 0
        {
            errs.add(at(f), "name a segment");
        }
    }
}

/// Where a sequence is in its life: `draft` → `active` ⇄ `paused`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SequenceState {
    /// Being built: nobody is enrolled by the job, nothing runs.
    Draft,
    /// Enrolling (by its entry) and advancing people.
    Active,
    /// Nothing runs and no mail of it goes out until resumed; people keep their positions.
    Paused,
}

impl SequenceState {
    /// Name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Active => "active",
            Self::Paused => "paused",
        }
    }

    /// The state named `s`.
    pub fn parse(s: &str) -> Option<SequenceState> {
        match s {
            "draft" => Some(Self::Draft),
            "active" => Some(Self::Active),
            "paused" => Some(Self::Paused),
            _ => None,
        }
    }

    /// The actions allowed in this state.
    pub fn allowed_actions(self) -> &'static [&'static str] {
        match self {
            Self::Draft => &["activate"],
            Self::Active => &["pause"],
            Self::Paused => &["resume"],
        }
    }

    /// The state `action` leads to, or a refusal naming the actions allowed now.
    pub fn act(self, action: &str) -> Result<SequenceState, Refused> {
        let (act, to): (&'static str, SequenceState) = match action {
            "activate" => ("activate", Self::Active),
            "pause" => ("pause", Self::Paused),
            "resume" => ("resume", Self::Active),
            _ => {
                return Err(Refused::new(
                    "sequence",
                    "act",
                    self.as_str(),
                    self.allowed_actions().to_vec(),
                    "use activate, pause or resume",
                )
                .on_field("action"));
            }
        };
        if self.allowed_actions().contains(&act) {
            Ok(to)
        } else {
            Err(Refused::new(
                "sequence",
                act,
                self.as_str(),
                self.allowed_actions().to_vec(),
                format!("a {} sequence cannot {act}", self.as_str()),
            ))
        }
    }
}

/// A stored sequence.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Sequence {
    /// Id.
    pub id: i64,
    /// The editable fields.
    #[serde(flatten)]
    pub data: SequenceData,
    /// `draft`, `active` or `paused`.
    pub state: SequenceState,
    /// When it was first activated (entry `signup` enrolls consent granted since).
    pub activated_at: Option<String>,
    /// People enrolled, per enrollment state.
    pub enrolled: std::collections::BTreeMap<String, i64>,
    /// Created (RFC 3339 UTC).
    pub created_at: String,
    /// Last changed.
    pub updated_at: String,
    /// Version, for `If-Match`.
    pub version: i64,
}

/// One step a person ran.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct StepRun {
    /// The step's number (from 0).
    pub step: i64,
    /// Its type.
    pub kind: String,
    /// What it did: `queued mail 12`, `no email address`, `then`, `else`, `added`, `notified`, `waiting until …`.
    pub outcome: String,
    /// When it ran.
    pub at: String,
}

/// A person's position in a sequence.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Enrollment {
    /// Id.
    pub id: i64,
    /// The sequence.
    pub sequence_id: i64,
    /// The person.
    pub person_id: i64,
    /// Their name.
    pub person_name: String,
    /// The next step to run (the number of steps once done).
    pub step: i64,
    /// `active` or `done`.
    pub state: String,
    /// When the next step runs.
    pub next_run_at: String,
    /// How they entered: `manual`, `segment` or `signup`.
    pub source: String,
    /// The steps run so far, in order.
    pub history: Vec<StepRun>,
    /// Enrolled.
    pub created_at: String,
    /// Last advanced.
    pub updated_at: String,
}

/// What a client sends to enroll people by hand.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrollInput {
    /// The people (1 to 1000).
    pub person_ids: Vec<i64>,
}

/// What one pass of the sequence job did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SequenceRun {
    /// People enrolled by segments and sign-ups.
    pub enrolled: u64,
    /// Steps run.
    pub steps: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> SequenceInput {
        SequenceInput {
            name: Some("Welcome".into()),
            campaign_id: Some(1),
            steps: Some(vec![Step::SendEmail { template_id: 1 }, Step::Wait { days: 2, hours: 0 }]),
            ..SequenceInput::default()
        }
    }

    #[test]
    fn branches_jump_forward_only() {
        let mut i = base();
        i.steps = Some(vec![
            Step::SendEmail { template_id: 1 },
            Step::Branch { condition: Condition::Opened, then_step: Some(0), else_step: Some(3) },
        ]);
        let e = i.apply(None).unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["steps[1].then_step", "steps[1].else_step"]);
        let b = Step::Branch { condition: Condition::Clicked, then_step: Some(3), else_step: None };
        assert_eq!(b.next(1, true), 3);
        assert_eq!(b.next(1, false), 2);
    }

    #[test]
    fn a_patch_keeps_what_was_not_sent_and_checks_entry() {
        let d = base().apply(None).unwrap();
        assert_eq!((d.topic.as_str(), d.entry.as_str()), ("newsletter", "manual"));
        let e = SequenceInput { entry: Some("segment".into()), ..SequenceInput::default() }.apply(Some(&d)).unwrap_err();
        assert_eq!(e.0[0].field, "segment_id");
        let d2 = SequenceInput { name: Some("Renamed".into()), ..SequenceInput::default() }.apply(Some(&d)).unwrap();
        assert_eq!((d2.name.as_str(), d2.steps.len()), ("Renamed", 2));
        let e =
            SequenceInput { steps: Some(vec![Step::Wait { days: 0, hours: 0 }]), ..SequenceInput::default() }.apply(Some(&d)).unwrap_err();
        assert_eq!(e.0[0].field, "steps[0].days");
    }

    #[test]
    fn states_move_draft_active_paused() {
        assert_eq!(SequenceState::Draft.act("activate").unwrap(), SequenceState::Active);
        assert_eq!(SequenceState::Active.act("pause").unwrap(), SequenceState::Paused);
        assert_eq!(SequenceState::Paused.act("resume").unwrap(), SequenceState::Active);
        assert_eq!(SequenceState::Paused.act("pause").unwrap_err().allowed, vec!["resume"]);
    }

    #[test]
    fn steps_read_as_tagged_json() {
        let s: Vec<Step> = serde_json::from_value(serde_json::json!([
            {"type": "send_email", "template_id": 4},
            {"type": "wait", "days": 3},
            {"type": "branch", "condition": {"kind": "in_segment", "segment_id": 2}, "else_step": 4},
            {"type": "add_to_list", "segment_id": 5},
            {"type": "notify_owner"}
        ]))
        .unwrap();
        assert_eq!(s[1].wait(), chrono::Duration::days(3));
        assert_eq!(s[2].segments(), Some((2, "condition.segment_id")));
        assert!(serde_json::from_value::<Step>(serde_json::json!({"type": "wait", "weeks": 1})).is_err());
    }
}
