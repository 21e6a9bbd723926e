//! Opportunities: deals moving through a pipeline's stages, and the rules for moving them.
//!
//! An opportunity's `status` is the outcome of its stage. Its stage changes by four actions
//! ([`OpportunityAction`]): `move` to another open stage, `win`, `lose` (which needs a lost
//! reason) and `reopen`. A closed (won or lost) opportunity does not move until it is reopened
//! into an open stage, so a won deal never silently becomes lost or open again; the refusal
//! names `reopen` as the way forward. Every stage change is recorded as a [`StageChange`], and
//! time in stage and cycle length are measured from that history ([`time_in_stages`],
//! [`cycle_length`]).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::pipeline::{PipelineData, StageData, StageOutcome};
use super::{Refused, Rejected, apply_amount, apply_currency, apply_day, instant};
use crate::customer::{apply_name, apply_text};
use crate::permissions::Object;
use crate::record::{Field, Kind, RecordSpec};
use crate::values::bounded_text;
use crate::{ValidationErrors, double_option, text};

/// Opportunities as a record type. `status` and `closed_at` follow the stage (the input has
/// no such fields); `stage_entered_at` is written by the store with each stage change;
/// `stage_name` and `probability` come from the pipeline when read.
pub static SPEC: RecordSpec = RecordSpec {
    name: "opportunity",
    plural: "opportunities",
    label: "deal",
    label_plural: "deals",
    object: Object::Opportunity,
    title: "name",
    owned: true,
    custom: None,
    fields: &[
        Field::new("name", "Name", Kind::Text).searched().sorted(),
        Field::new("amount_minor", "Amount", Kind::Money).filtered().sorted(),
        Field::new("currency", "Currency", Kind::Text).filtered(),
        Field::new("expected_close_date", "Expected close", Kind::Date).filtered().sorted(),
        Field::new("owner_id", "Owner", Kind::Ref("users")).filtered(),
        Field::new("customer_id", "Person", Kind::Ref("customers")).filtered().shown_as("customer_name"),
        Field::new("company_id", "Company", Kind::Ref("companies")).filtered().shown_as("company_name"),
        Field::new("campaign_id", "Campaign", Kind::Int).filtered(),
        Field::new("pipeline_id", "Pipeline", Kind::Ref("pipelines")).filtered().shown_as("pipeline_name"),
        Field::new("stage", "Stage key", Kind::Text).filtered(),
        Field::new("status", "Status", Kind::Choice(&["open", "won", "lost"])).filtered(),
        Field::new("next_step", "Next step", Kind::Text).searched(),
        Field::new("lost_reason", "Lost reason", Kind::Text),
        Field::new("closed_at", "Closed", Kind::Time).filtered().sorted(),
        Field::new("description", "Description", Kind::LongText),
        Field::new("external_id", "External id", Kind::Text).unique().filtered(),
        Field::new("stage_entered_at", "In stage since", Kind::Time).read_only().sorted(),
        Field::new("stage_name", "Stage", Kind::Text).computed(),
        Field::new("probability", "Probability %", Kind::Int).computed(),
    ],
};

/// What can be done to an opportunity's stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OpportunityAction {
    /// To another open stage.
    Move,
    /// To the won stage.
    Win,
    /// To a lost stage (with a lost reason).
    Lose,
    /// Out of a closed stage, back into an open one.
    Reopen,
}

impl OpportunityAction {
    /// Every action.
    pub const ALL: [OpportunityAction; 4] = [Self::Move, Self::Win, Self::Lose, Self::Reopen];

    /// Name as shown in refusals.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Move => "move",
            Self::Win => "win",
            Self::Lose => "lose",
            Self::Reopen => "reopen",
        }
    }
}

impl StageOutcome {
    /// The actions an opportunity with this status may take: an open one moves, wins or loses;
    /// a closed one may only be reopened.
    pub fn allowed_actions(self) -> Vec<&'static str> {
        match self {
            StageOutcome::Open => vec!["move", "win", "lose"],
            StageOutcome::Won | StageOutcome::Lost => vec!["reopen"],
        }
    }

    /// The status after `action`, or the refusal naming what is allowed instead.
    pub fn transition(self, action: OpportunityAction) -> Result<StageOutcome, Refused> {
        use OpportunityAction::*;
        use StageOutcome::*;
        let refuse = |reason: String| Err(Refused::new("opportunity", action.as_str(), self.as_str(), self.allowed_actions(), reason));
        match (self, action) {
            (Open, Move) => Ok(Open),
            (Open, Win) => Ok(Won),
            (Open, Lose) => Ok(Lost),
            (Open, Reopen) => refuse("an open opportunity has nothing to reopen".into()),
            (Won | Lost, Reopen) => Ok(Open),
            (Won | Lost, Move | Win | Lose) => refuse(format!("a {} opportunity must be reopened before it moves", self.as_str())),
        }
    }
}

/// An accepted stage move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageMove {
    /// The stage key before.
    pub from: String,
    /// The stage key after.
    pub to: String,
    /// The action taken; `None` when the opportunity stays where it is.
    pub action: Option<OpportunityAction>,
    /// The status after the move.
    pub outcome: StageOutcome,
    /// The trimmed lost reason, kept only when the opportunity ends lost.
    pub lost_reason: Option<String>,
}

/// Decides a stage move inside `pipeline`, from stage `from` to stage `to`.
///
/// - `to` must be a stage of the pipeline (else an error on `stage`);
/// - an open opportunity moves anywhere; into a lost stage only with a `lost_reason` (else an
///   error on `lost_reason`);
/// - a closed one stays put, or moves only with `reopen` and only into an open stage; moving it
///   otherwise is [`Refused`] (field `stage`) with `reopen` as the allowed action, and
///   reopening an open one is refused (field `reopen`);
/// - a `from` the pipeline no longer has is treated as open, so such an opportunity can be
///   moved back into a real stage.
pub fn move_to(pipeline: &PipelineData, from: &str, to: &str, reopen: bool, lost_reason: Option<&str>) -> Result<StageMove, Rejected> {
    let from_outcome = pipeline.stage(from).map(|s| s.outcome).unwrap_or_default();
    move_from(from_outcome, from, pipeline, to, reopen, lost_reason)
}

/// [`move_to`] from a stage with a known outcome (possibly of another pipeline).
fn move_from(
    from_outcome: StageOutcome,
    from: &str,
    pipeline: &PipelineData,
    to: &str,
    reopen: bool,
    lost_reason: Option<&str>,
) -> Result<StageMove, Rejected> {
    let stage_list = |stages: Vec<&str>| stages.join(", ");
    let Some(target) = pipeline.stage(to) else {
        let keys: Vec<&str> = pipeline.stages.iter().map(|s| s.key.as_str()).collect();
        return Err(
            ValidationErrors::single("stage", format!("'{to}' is not a stage of this pipeline: use one of {}", stage_list(keys))).into()
        );
    };
    let reason = match lost_reason.map(|r| bounded_text(r, 500)) {
        Some(Err(m)) => return Err(ValidationErrors::single("lost_reason", m).into()),
        Some(Ok(r)) => r,
        None => None,
    };
    let lost_needs_reason = || ValidationErrors::single("lost_reason", "is required when an opportunity is lost").into();
    let done = |action| {
        let lost = target.outcome == StageOutcome::Lost;
        Ok(StageMove {
            from: from.to_string(),
            to: to.to_string(),
            action,
            outcome: target.outcome,
            lost_reason: reason.clone().filter(|_| lost),
        })
    };
    if from == to && !reopen {
        if target.outcome == StageOutcome::Lost && reason.is_none() {
            return Err(lost_needs_reason());
        }
        return done(None);
    }
    let action = match (reopen, target.outcome) {
        (true, _) => OpportunityAction::Reopen,
        (false, StageOutcome::Open) => OpportunityAction::Move,
        (false, StageOutcome::Won) => OpportunityAction::Win,
        (false, StageOutcome::Lost) => OpportunityAction::Lose,
    };
    from_outcome.transition(action).map_err(|r| r.on_field(if reopen { "reopen" } else { "stage" }))?;
    if reopen && target.outcome.is_closed() {
        let open = pipeline.keys_with(StageOutcome::Open);
        return Err(ValidationErrors::single(
            "stage",
            format!("a reopened opportunity goes to an open stage: use one of {}", stage_list(open)),
        )
        .into());
    }
    if target.outcome == StageOutcome::Lost && reason.is_none() {
        return Err(lost_needs_reason());
    }
    done(Some(action))
}

/// An opportunity's editable fields, always valid (built by [`OpportunityInput::apply`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OpportunityData {
    /// Name, 1 to 200 characters.
    pub name: String,
    /// Expected value in minor units of `currency`, 0 or more.
    pub amount_minor: i64,
    /// ISO 4217 code of the amount.
    pub currency: String,
    /// When the deal is expected to close (YYYY-MM-DD).
    pub expected_close_date: Option<String>,
    /// The user working the deal.
    pub owner_id: Option<i64>,
    /// The person the deal is with.
    pub customer_id: Option<i64>,
    /// The company the deal is with.
    pub company_id: Option<i64>,
    /// The campaign the deal came from.
    pub campaign_id: Option<i64>,
    /// The pipeline; always set once stored.
    pub pipeline_id: Option<i64>,
    /// Key of the current stage in the pipeline.
    pub stage: String,
    /// Open, won or lost: the outcome of the stage (read-only, follows `stage`).
    pub status: StageOutcome,
    /// What happens next.
    pub next_step: Option<String>,
    /// Why the deal was lost; present exactly when `status` is lost.
    pub lost_reason: Option<String>,
    /// When the deal closed (RFC 3339 UTC), while it is won or lost (read-only; set when it
    /// closes, cleared on reopen; an import may give it when creating a closed deal).
    pub closed_at: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// The deal's id in the system it came from (unique among live opportunities): batch calls
    /// and imports upsert by it.
    #[serde(default)]
    pub external_id: Option<String>,
}

impl OpportunityData {
    /// The current stage as `pipeline` defines it.
    pub fn stage_in<'a>(&self, pipeline: &'a PipelineData) -> Option<&'a StageData> {
        pipeline.stage(&self.stage)
    }

    /// The amount weighted by a win probability (0–100 %), rounded half away from zero: what a
    /// forecast counts for this deal.
    pub fn weighted_amount_minor(&self, probability: i64) -> i64 {
        super::money::div_round_half_away(self.amount_minor as i128 * probability.clamp(0, 100) as i128, 100) as i64
    }

    /// The folded text full-text search indexes: name and next step.
    pub fn search_name(&self) -> String {
        let parts = [Some(&self.name), self.next_step.as_ref()];
        text::fold(&parts.into_iter().flatten().cloned().collect::<Vec<_>>().join(" "))
    }
}

/// An opportunity as the API returns it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Opportunity {
    /// Identifier.
    pub id: i64,
    /// Editable fields.
    #[serde(flatten)]
    pub data: OpportunityData,
    /// The person's name, where the reader may see the person (read-only).
    #[serde(default)]
    pub customer_name: Option<String>,
    /// The company's name, where the reader may see the company (read-only).
    #[serde(default)]
    pub company_name: Option<String>,
    /// The pipeline's name (read-only).
    #[serde(default)]
    pub pipeline_name: Option<String>,
    /// Name of the current stage (read-only, from the pipeline).
    pub stage_name: Option<String>,
    /// Win probability of the current stage, 0–100 (read-only, from the pipeline).
    pub probability: Option<i64>,
    /// When the opportunity entered its current stage (read-only, from the stage history).
    pub stage_entered_at: Option<String>,
    /// Creation time (RFC 3339 UTC).
    pub created_at: String,
    /// Last change (RFC 3339 UTC).
    pub updated_at: String,
    /// Set on tombstones in sync listings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
    /// Optimistic-concurrency version.
    pub version: i64,
}

impl Opportunity {
    /// What a sync listing shows of a deleted opportunity: that it is gone, and nothing else.
    pub fn tombstone(self) -> Opportunity {
        Opportunity {
            data: OpportunityData::default(),
            customer_name: None,
            company_name: None,
            pipeline_name: None,
            stage_name: None,
            probability: None,
            stage_entered_at: None,
            ..self
        }
    }
}

/// What validating an opportunity needs from outside.
pub struct OpportunityContext<'a> {
    /// Looks up a pipeline by id.
    pub pipeline: &'a dyn Fn(i64) -> Option<PipelineData>,
    /// The pipeline new opportunities go to when none is named.
    pub default_pipeline_id: Option<i64>,
    /// The currency new opportunities get when none is named (the installation's currency).
    pub default_currency: Option<&'a str>,
    /// The current time (RFC 3339 UTC), stamped as `closed_at` when a deal closes.
    pub now: &'a str,
}

/// What a client sends to create (`name` and `currency` required, unless a default currency is
/// set) or update an opportunity. Changing `stage` (or `pipeline_id`) moves it by the stage
/// rules; `reopen: true` with an open `stage` reopens a closed one.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpportunityInput {
    /// Name.
    pub name: Option<String>,
    /// Expected value in minor units, 0 or more.
    pub amount_minor: Option<i64>,
    /// ISO 4217 code.
    pub currency: Option<String>,
    /// Expected close day (YYYY-MM-DD), or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub expected_close_date: Option<Option<String>>,
    /// Owner's user id, or null for none.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub owner_id: Option<Option<i64>>,
    /// Person id, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub customer_id: Option<Option<i64>>,
    /// Company id, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub company_id: Option<Option<i64>>,
    /// Campaign id, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub campaign_id: Option<Option<i64>>,
    /// Pipeline id; new opportunities default to the default pipeline.
    pub pipeline_id: Option<i64>,
    /// Stage key; new opportunities default to the pipeline's first open stage, as do ones
    /// moved to another pipeline without a stage.
    pub stage: Option<String>,
    /// Next step, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub next_step: Option<Option<String>>,
    /// Lost reason: required to lose a deal, refused on one that is not lost.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub lost_reason: Option<Option<String>>,
    /// Description, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// The deal's id in another system, unique among live opportunities (batch upserts use it).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub external_id: Option<Option<String>>,
    /// Reopen a closed opportunity into the open `stage` sent with it.
    #[serde(default)]
    pub reopen: bool,
    /// Only when creating a closed opportunity (an import): when it closed.
    pub closed_at: Option<String>,
}

impl OpportunityInput {
    /// Merges onto `current` (or a new opportunity) and validates, applying the stage rules of
    /// [`move_to`]. Field errors come first ([`Rejected::Invalid`]); a well-formed input that
    /// moves a closed deal without reopening it is [`Rejected::Refused`].
    pub fn apply(self, current: Option<&OpportunityData>, ctx: &OpportunityContext) -> Result<OpportunityData, Rejected> {
        let mut errs = ValidationErrors::default();
        let creating = current.is_none();
        let mut d = current.cloned().unwrap_or_default();
        apply_name(&mut errs, self.name, creating, &mut d.name);
        apply_amount(&mut errs, "amount_minor", self.amount_minor, &mut d.amount_minor);
        let currency = self.currency.or_else(|| ctx.default_currency.filter(|_| creating).map(str::to_string));
        apply_currency(&mut errs, "currency", currency, creating, &mut d.currency);
        apply_day(&mut errs, "expected_close_date", self.expected_close_date, &mut d.expected_close_date);
        for (input, target) in [
            (self.owner_id, &mut d.owner_id),
            (self.customer_id, &mut d.customer_id),
            (self.company_id, &mut d.company_id),
            (self.campaign_id, &mut d.campaign_id),
        ] {
            if let Some(v) = input {
                *target = v;
            }
        }
        apply_text(&mut errs, "next_step", self.next_step, &mut d.next_step, 500);
        apply_text(&mut errs, "description", self.description, &mut d.description, 20000);
        apply_text(&mut errs, "external_id", self.external_id, &mut d.external_id, 100);

        let mut reason_ok = true;
        let reason_sent: Option<Option<String>> = self.lost_reason.map(|v| {
            v.and_then(|s| match bounded_text(&s, 500) {
                Ok(r) => r,
                Err(m) => {
                    reason_ok = false;
                    errs.add("lost_reason", m);
                    None
                }
            })
        });
        let reason = match &reason_sent {
            Some(v) => v.clone(),
            None => d.lost_reason.clone(),
        };

        let mut refusal = None;
        // Whether the stage the input asks for was reached; if not, the errors already say why,
        // and the lost reason is not judged against a stage the deal did not get to.
        let mut stage_ok = true;
        let pipeline_changed = !creating && self.pipeline_id.is_some_and(|id| Some(id) != d.pipeline_id);
        let stage_changed = !creating && self.stage.as_deref().is_some_and(|s| s.trim() != d.stage);
        if creating || pipeline_changed || stage_changed || self.reopen {
            let pipeline_id = self.pipeline_id.or(d.pipeline_id).or(ctx.default_pipeline_id);
            match pipeline_id.map(|id| (id, (ctx.pipeline)(id))) {
                None => {
                    stage_ok = false;
                    errs.add("pipeline_id", "is required: no default pipeline is set")
                }
                Some((id, None)) => {
                    stage_ok = false;
                    errs.add("pipeline_id", format!("there is no pipeline {id}"))
                }
                Some((id, Some(p))) => {
                    let to = match self.stage.as_deref().map(str::trim) {
                        Some(s) => Some(s.to_string()),
                        None if self.reopen => {
                            stage_ok = false;
                            errs.add("stage", "name the open stage to reopen the opportunity in");
                            None
                        }
                        None if creating || pipeline_changed => p.first_open().map(|s| s.key.clone()),
                        None => Some(d.stage.clone()),
                    };
                    if creating && self.reopen {
                        errs.add("reopen", "only a stored, closed opportunity can be reopened");
                    }
                    if let Some(to) = to {
                        // A stage of another pipeline is never "the same stage", even if its
                        // key is; a new opportunity starts from nowhere, as if open.
                        let from = if creating || pipeline_changed { "" } else { d.stage.as_str() };
                        let from_outcome = if creating { StageOutcome::Open } else { d.status };
                        match move_from(from_outcome, from, &p, &to, self.reopen && !creating, reason.as_deref()) {
                            Ok(m) => {
                                let was_closed = !creating && d.status.is_closed() && m.action.is_none();
                                d.pipeline_id = Some(id);
                                d.stage = m.to;
                                d.status = m.outcome;
                                if !m.outcome.is_closed() {
                                    d.closed_at = None;
                                } else if !was_closed {
                                    d.closed_at = Some(ctx.now.to_string());
                                }
                            }
                            Err(Rejected::Invalid(e)) => {
                                stage_ok = false;
                                errs.0.extend(e.0.into_iter().filter(|e| reason_ok || e.field != "lost_reason"))
                            }
                            Err(Rejected::Refused(r)) => {
                                stage_ok = false;
                                refusal = Some(r)
                            }
                        }
                    }
                }
            }
        }

        if let Some(t) = self.closed_at {
            if !creating {
                errs.add("closed_at", "is set when the opportunity closes and cannot be edited");
            } else if !d.status.is_closed() {
                errs.add("closed_at", "only a won or lost opportunity has a close time");
            } else if let Some(t) = errs.check("closed_at", crate::query::parse_time(t.trim())) {
                d.closed_at = Some(t);
            }
        }

        if d.status == StageOutcome::Lost {
            d.lost_reason = reason;
            if d.lost_reason.is_none() && reason_ok && stage_ok && !errs.0.iter().any(|e| e.field == "lost_reason") {
                errs.add("lost_reason", "is required when an opportunity is lost");
            }
        } else {
            if matches!(reason_sent, Some(Some(_))) && stage_ok {
                errs.add("lost_reason", "only a lost opportunity has a lost reason");
            }
            d.lost_reason = None;
        }

        if !errs.0.is_empty() {
            return Err(errs.into());
        }
        match refusal {
            Some(r) => Err(r.into()),
            None => Ok(d),
        }
    }
}

/// One entry of an opportunity's stage history: the opportunity entered `to_stage` at `at`,
/// moved by `actor_id`. The first entry (from `None`) is its creation. (Named `from_stage` and
/// `to_stage` because `from` and `to` are SQL keywords.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StageChange {
    /// The pipeline of `to_stage`.
    pub pipeline_id: Option<i64>,
    /// The stage left; `None` on creation.
    pub from_stage: Option<String>,
    /// The stage entered.
    pub to_stage: String,
    /// The outcome of `to_stage` at the time (kept, so history stays readable after the
    /// pipeline changes).
    pub outcome: StageOutcome,
    /// When (RFC 3339 UTC).
    pub at: String,
    /// The user who moved it; `None` for the system.
    pub actor_id: Option<i64>,
}

impl StageChange {
    /// The history entry a write from `before` (`None` when creating) to `after` makes, if it
    /// changed the stage or pipeline.
    pub fn between(before: Option<&OpportunityData>, after: &OpportunityData, at: &str, actor_id: Option<i64>) -> Option<StageChange> {
        if before.is_some_and(|b| b.stage == after.stage && b.pipeline_id == after.pipeline_id) {
            return None;
        }
        Some(StageChange {
            pipeline_id: after.pipeline_id,
            from_stage: before.map(|b| b.stage.clone()),
            to_stage: after.stage.clone(),
            outcome: after.status,
            at: at.to_string(),
            actor_id,
        })
    }
}

/// Time an opportunity spent in one stage, summed over its visits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct StageTime {
    /// The pipeline.
    pub pipeline_id: Option<i64>,
    /// The stage key.
    pub stage: String,
    /// Seconds spent in it, over all visits.
    pub seconds: i64,
    /// How many times the opportunity entered it.
    pub visits: u32,
}

/// History entries with readable times, in time order (entries at the same instant keep their
/// order). Entries whose time cannot be read are left out.
fn timeline(history: &[StageChange]) -> Vec<(chrono::DateTime<chrono::Utc>, &StageChange)> {
    let mut t: Vec<_> = history.iter().filter_map(|c| instant(&c.at).map(|at| (at, c))).collect();
    t.sort_by_key(|(at, _)| *at);
    t
}

/// Time spent in each stage, in order of first entry. An open stage counts until the next
/// change (or `now` for the current stage); a closed stage counts until the opportunity is
/// reopened, and not at all while the deal stays closed (time since closing is not time spent
/// working it). Negative spans (clock skew) count as 0.
pub fn time_in_stages(history: &[StageChange], now: chrono::DateTime<chrono::Utc>) -> Vec<StageTime> {
    let t = timeline(history);
    let mut out: Vec<StageTime> = Vec::new();
    for (i, (at, c)) in t.iter().enumerate() {
        let end = match t.get(i + 1) {
            Some((next, _)) => *next,
            None if c.outcome.is_closed() => *at,
            None => now,
        };
        let seconds = (end - *at).num_seconds().max(0);
        match out.iter_mut().find(|s| s.stage == c.to_stage && s.pipeline_id == c.pipeline_id) {
            Some(s) => {
                s.seconds += seconds;
                s.visits += 1;
            }
            None => out.push(StageTime { pipeline_id: c.pipeline_id, stage: c.to_stage.clone(), seconds, visits: 1 }),
        }
    }
    out
}

/// Seconds since the opportunity entered its current stage; `None` without history.
pub fn time_in_current_stage(history: &[StageChange], now: chrono::DateTime<chrono::Utc>) -> Option<i64> {
    timeline(history).last().map(|(at, _)| (now - *at).num_seconds().max(0))
}

/// The sales cycle in seconds: from creation (the first entry) to the latest close, for a deal
/// that is closed now (a reopened and closed-again deal's cycle runs to the second close);
/// `None` while it is open.
pub fn cycle_length(history: &[StageChange]) -> Option<i64> {
    let t = timeline(history);
    let (first, _) = t.first()?;
    let (last, c) = t.last()?;
    c.outcome.is_closed().then(|| (*last - *first).num_seconds().max(0))
}

#[cfg(test)]
mod tests;
