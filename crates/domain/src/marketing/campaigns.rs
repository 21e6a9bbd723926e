//! Marketing campaigns: channel, budget and actual spend, dates, status, audience, goal and an
//! optional parent campaign.
//!
//! Status is a state machine: planned → active → completed, and planned or active →
//! cancelled. A step it does not allow is [`Refused`] (409) naming the steps that are.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::customer::{apply_name, apply_text};
use crate::permissions::Object;
use crate::record::{Field, Kind, RecordSpec};
use crate::sales::{Refused, Rejected, apply_amount, apply_currency, parse_day};
use crate::{ValidationErrors, double_option};

/// The channels a campaign can run through.
pub const CHANNELS: &[&str] = &["email", "sms", "social", "event", "paid_ads", "other"];

/// Campaigns as a record type: owned (record visibility follows the owner), searched by name
/// and goal.
pub static SPEC: RecordSpec = RecordSpec {
    name: "campaign",
    plural: "campaigns",
    label: "campaign",
    label_plural: "campaigns",
    object: Object::Campaign,
    title: "name",
    owned: true,
    custom: None,
    fields: &[
        Field::new("name", "Name", Kind::Text).searched().sorted(),
        Field::new("channel", "Channel", Kind::Choice(CHANNELS)).filtered().sorted(),
        Field::new("status", "Status", Kind::Choice(CampaignStatus::NAMES)).filtered().sorted(),
        Field::new("budget_minor", "Budget", Kind::Money).filtered().sorted(),
        Field::new("actual_spend_minor", "Actual spend", Kind::Money).filtered().sorted(),
        Field::new("currency", "Currency", Kind::Text).filtered(),
        Field::new("starts_on", "Starts", Kind::Date).filtered().sorted(),
        Field::new("ends_on", "Ends", Kind::Date).filtered().sorted(),
        Field::new("segment_id", "Audience", Kind::Ref("segments")).filtered().shown_as("segment_name"),
        Field::new("parent_id", "Parent campaign", Kind::Ref("campaigns")).filtered().shown_as("parent_name"),
        Field::new("goal", "Goal", Kind::LongText).searched(),
        Field::new("owner_id", "Owner", Kind::Ref("users")).filtered(),
        Field::new("members_count", "Members", Kind::Int).computed(),
    ],
};

/// Where a campaign is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    /// Being prepared.
    #[default]
    Planned,
    /// Running.
    Active,
    /// Ran to its end (final).
    Completed,
    /// Stopped before or while running (final).
    Cancelled,
}

impl CampaignStatus {
    /// Every status's name, in life order.
    pub const NAMES: &'static [&'static str] = &["planned", "active", "completed", "cancelled"];

    /// The status's name.
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Planned => "planned",
            CampaignStatus::Active => "active",
            CampaignStatus::Completed => "completed",
            CampaignStatus::Cancelled => "cancelled",
        }
    }

    /// The status named `s`.
    pub fn parse(s: &str) -> Option<CampaignStatus> {
        match s.trim() {
            "planned" => Some(CampaignStatus::Planned),
            "active" => Some(CampaignStatus::Active),
            "completed" => Some(CampaignStatus::Completed),
            "cancelled" => Some(CampaignStatus::Cancelled),
            _ => None,
        }
    }

    /// The statuses a campaign in this one may move to.
    pub fn next(self) -> &'static [CampaignStatus] {
        use CampaignStatus::*;
        match self {
            Planned => &[Active, Cancelled],
            Active => &[Completed, Cancelled],
            Completed | Cancelled => &[],
        }
    }

    /// Moves to `to`, or refuses naming the statuses allowed now.
    pub fn transition(self, to: CampaignStatus) -> Result<CampaignStatus, Refused> {
        if to == self || self.next().contains(&to) {
            return Ok(to);
        }
        let allowed: Vec<&'static str> = self.next().iter().map(|s| s.as_str()).collect();
        let reason = match self {
            CampaignStatus::Completed | CampaignStatus::Cancelled => format!("a {} campaign stays {}", self.as_str(), self.as_str()),
            _ => format!("a {} campaign cannot become {}", self.as_str(), to.as_str()),
        };
        Err(Refused::new("campaign", "status", self.as_str(), allowed, reason).on_field("status"))
    }
}

/// A campaign's editable fields, always valid (built by [`CampaignInput::apply`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CampaignData {
    /// Name, 1 to 200 characters.
    pub name: String,
    /// One of `email`, `sms`, `social`, `event`, `paid_ads`, `other`.
    pub channel: String,
    /// `planned`, `active`, `completed` or `cancelled`.
    pub status: CampaignStatus,
    /// Budget in minor units of `currency`.
    pub budget_minor: i64,
    /// What was actually spent so far, in minor units of `currency`.
    pub actual_spend_minor: i64,
    /// ISO 4217 code of the budget and spend.
    pub currency: String,
    /// First day (YYYY-MM-DD).
    pub starts_on: String,
    /// Last day (YYYY-MM-DD), not before the first.
    pub ends_on: String,
    /// The audience: a segment's id.
    pub segment_id: Option<i64>,
    /// The campaign this one is part of.
    pub parent_id: Option<i64>,
    /// What the campaign is for.
    pub goal: Option<String>,
    /// The user responsible.
    pub owner_id: Option<i64>,
}

/// A campaign as the API returns it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Campaign {
    /// Identifier.
    pub id: i64,
    /// Editable fields.
    #[serde(flatten)]
    pub data: CampaignData,
    /// The audience segment's name, where the reader may see it.
    #[serde(default)]
    pub segment_name: Option<String>,
    /// The parent campaign's name, where the reader may see it.
    #[serde(default)]
    pub parent_name: Option<String>,
    /// Number of members (read-only).
    #[serde(default)]
    pub members_count: i64,
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

impl Campaign {
    /// What a sync listing shows of a deleted campaign: that it is gone, and nothing else.
    pub fn tombstone(self) -> Campaign {
        Campaign { data: CampaignData::default(), segment_name: None, parent_name: None, members_count: 0, ..self }
    }
}

/// What a client sends to create (`name`, `channel`, `currency`, `starts_on` and `ends_on`
/// required) or update a campaign: only the fields sent change.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignInput {
    /// Name.
    pub name: Option<String>,
    /// Channel.
    pub channel: Option<String>,
    /// Status; changes follow planned → active → completed, or → cancelled.
    pub status: Option<String>,
    /// Budget in minor units, 0 or more.
    pub budget_minor: Option<i64>,
    /// Actual spend in minor units, 0 or more.
    pub actual_spend_minor: Option<i64>,
    /// ISO 4217 code.
    pub currency: Option<String>,
    /// First day.
    pub starts_on: Option<String>,
    /// Last day.
    pub ends_on: Option<String>,
    /// Audience segment id, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub segment_id: Option<Option<i64>>,
    /// Parent campaign id, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub parent_id: Option<Option<i64>>,
    /// Goal, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub goal: Option<Option<String>>,
    /// Owner's user id, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub owner_id: Option<Option<i64>>,
}

fn apply_required_day(errs: &mut ValidationErrors, field: &str, input: Option<String>, creating: bool, target: &mut String) {
    match input {
        Some(s) => {
            if let Some(d) = errs.check(field, parse_day(&s)) {
                *target = d;
            }
        }
        None if creating => errs.add(field, "is required: a date written YYYY-MM-DD"),
        None => {}
    }
}

impl CampaignInput {
    /// Merges onto `current` (or a new, planned campaign) and validates; a status change the
    /// machine does not allow is refused (field errors come first).
    pub fn apply(self, current: Option<&CampaignData>) -> Result<CampaignData, Rejected> {
        let mut errs = ValidationErrors::default();
        let creating = current.is_none();
        let mut d = current.cloned().unwrap_or_default();
        apply_name(&mut errs, self.name, creating, &mut d.name);
        match self.channel {
            Some(c) if CHANNELS.contains(&c.trim()) => d.channel = c.trim().to_string(),
            Some(_) => errs.add("channel", format!("use one of: {}", CHANNELS.join(", "))),
            None if creating => errs.add("channel", format!("is required: one of {}", CHANNELS.join(", "))),
            None => {}
        }
        let mut status = None;
        if let Some(s) = self.status {
            match CampaignStatus::parse(&s) {
                Some(s) => status = Some(s),
                None => errs.add("status", format!("use one of: {}", CampaignStatus::NAMES.join(", "))),
            }
        }
        apply_amount(&mut errs, "budget_minor", self.budget_minor, &mut d.budget_minor);
        apply_amount(&mut errs, "actual_spend_minor", self.actual_spend_minor, &mut d.actual_spend_minor);
        apply_currency(&mut errs, "currency", self.currency, creating, &mut d.currency);
        apply_required_day(&mut errs, "starts_on", self.starts_on, creating, &mut d.starts_on);
        apply_required_day(&mut errs, "ends_on", self.ends_on, creating, &mut d.ends_on);
        if !d.starts_on.is_empty() && !d.ends_on.is_empty() && d.ends_on < d.starts_on && !errs.0.iter().any(|e| e.field.ends_with("_on")) {
            errs.add("ends_on", "must not be before starts_on");
        }
        if let Some(s) = self.segment_id {
            d.segment_id = s;
        }
        if let Some(p) = self.parent_id {
            d.parent_id = p;
        }
        apply_text(&mut errs, "goal", self.goal, &mut d.goal, 5000);
        if let Some(o) = self.owner_id {
            d.owner_id = o;
        }
        let mut d = errs.into_result(d)?;
        if let Some(to) = status {
            // A new campaign may start in any status (past campaigns are recorded as completed).
            d.status = if creating { to } else { d.status.transition(to)? };
        }
        Ok(d)
    }
}

impl CampaignData {
    /// The campaign's budget spread evenly over the days it runs, summed per calendar month
    /// (`YYYY-MM`), in major units.
    pub fn spend_by_month(&self) -> Vec<(String, f64)> {
        let (Ok(a), Ok(b)) =
            (chrono::NaiveDate::parse_from_str(&self.starts_on, "%Y-%m-%d"), chrono::NaiveDate::parse_from_str(&self.ends_on, "%Y-%m-%d"))
        else {
            return vec![];
        };
        let days = (b - a).num_days() + 1;
        let per_day = self.budget_minor as f64 / 100.0 / days as f64;
        let mut out: Vec<(String, f64)> = vec![];
        for d in a.iter_days().take(days as usize) {
            let m = d.format("%Y-%m").to_string();
            match out.last_mut() {
                Some((lm, v)) if *lm == m => *v += per_day,
                _ => out.push((m, per_day)),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(start: &str, end: &str, budget: i64) -> CampaignInput {
        CampaignInput {
            name: Some("Spring".into()),
            channel: Some("email".into()),
            budget_minor: Some(budget),
            currency: Some("usd".into()),
            starts_on: Some(start.into()),
            ends_on: Some(end.into()),
            ..Default::default()
        }
    }

    #[test]
    fn spend_is_spread_over_the_days_it_runs() {
        let spend = input("2025-01-22", "2025-02-10", 20_000).apply(None).unwrap().spend_by_month();
        assert_eq!(spend.len(), 2);
        assert!((spend[0].1 - 100.0).abs() < 1e-9 && (spend[1].1 - 100.0).abs() < 1e-9, "{spend:?}");
    }

    #[test]
    fn bad_campaigns_name_their_fields() {
        let e = input("2025-02-01", "2025-01-01", -1).apply(None).unwrap_err();
        let fields: Vec<&str> = e.invalid().unwrap().0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["budget_minor", "ends_on"]);
    }

    #[test]
    fn status_moves_forward_or_is_cancelled_and_ends_there() {
        let d = input("2025-01-01", "2025-01-31", 0).apply(None).unwrap();
        assert_eq!(d.status, CampaignStatus::Planned);
        let to = |d: &CampaignData, s: &str| CampaignInput { status: Some(s.into()), ..Default::default() }.apply(Some(d));
        let err = to(&d, "completed").unwrap_err();
        assert_eq!(err.refused().unwrap().allowed, ["active", "cancelled"]);
        let active = to(&d, "active").unwrap();
        let done = to(&active, "completed").unwrap();
        assert_eq!(to(&done, "active").unwrap_err().refused().unwrap().allowed, Vec::<&str>::new());
        assert!(to(&active, "cancelled").is_ok());
        assert_eq!(to(&d, "later").unwrap_err().invalid().unwrap().0[0].field, "status");
    }
}
