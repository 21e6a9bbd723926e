//! Targets: quotas per rep or per team for a month or a quarter, and how much of one has been
//! attained — from won opportunities or from paid orders, as each target chooses.
//!
//! Periods are UTC calendar months and quarters, and an item counts in the period that holds
//! its UTC day: a won deal by the day it closed (`closed_at`), a paid order by the day it was
//! paid (`paid_at`), at its net amount (after discounts, before tax: tax is not revenue).
//! Which records are the rep's or the team's (by owner) is the store's query; which of them
//! count, and how, is decided here ([`Achieved::from_opportunity`], [`Achieved::from_order`],
//! [`attainment`]).

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;

use super::apply_currency;
use super::money::{MAX_MINOR, check_amount};
use super::opportunity::OpportunityData;
use super::order::{OrderData, OrderTotals};
use super::pipeline::StageOutcome;
use super::utc_day;
use crate::permissions::Object;
use crate::record::{Field, Kind, RecordSpec};
use crate::{ValidationErrors, double_option};

/// Targets as a record type. They are not owned: who reaches one is decided by whom it is for
/// (the rep, or the team), which the store applies. `starts_on` and `ends_on` follow the period;
/// the attainment fields are computed when read, from the won opportunities or the paid orders
/// (as the measure says) that the reader may see.
pub static SPEC: RecordSpec = RecordSpec {
    name: "target",
    plural: "targets",
    label: "target",
    label_plural: "targets",
    object: Object::Target,
    title: "period",
    owned: false,
    custom: None,
    fields: &[
        Field::new("user_id", "Rep", Kind::Ref("users")).filtered(),
        Field::new("team_id", "Team id", Kind::Int).filtered(),
        // Unique with the rep or team and the measure (one index per kind of target).
        Field::new("period", "Period", Kind::Text).filtered().unique(),
        Field::new("measure", "Measure", Kind::Choice(&["won_opportunities", "paid_orders"])).filtered(),
        Field::new("amount_minor", "Quota", Kind::Money).filtered().sorted(),
        Field::new("currency", "Currency", Kind::Text).filtered(),
        Field::new("starts_on", "Starts", Kind::Date).read_only().filtered().sorted(),
        Field::new("ends_on", "Ends", Kind::Date).read_only().filtered(),
        Field::new("achieved_minor", "Achieved", Kind::Money).computed(),
        Field::new("counted", "Deals counted", Kind::Int).computed(),
        Field::new("other_currency", "In other currencies", Kind::Int).computed(),
    ],
};

/// A calendar month (`2026-03`) or quarter (`2026-Q1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    /// A month, 1 to 12.
    Month {
        /// Year.
        year: i32,
        /// Month, 1 to 12.
        month: u32,
    },
    /// A quarter, 1 to 4 (Q1 is January to March).
    Quarter {
        /// Year.
        year: i32,
        /// Quarter, 1 to 4.
        quarter: u32,
    },
}

const YEARS: std::ops::RangeInclusive<i32> = 1970..=9999;

impl Period {
    /// Parses `YYYY-MM` or `YYYY-Qn` (the `Q` in either case), years 1970 to 9999.
    pub fn parse(raw: &str) -> Result<Period, String> {
        let bad = || format!("'{}' is not a period: write a month like 2026-03 or a quarter like 2026-Q1", raw.trim());
        let s = raw.trim().to_ascii_uppercase();
        let (y, rest) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || !y.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        if !YEARS.contains(&year) {
            return Err(format!("'{}': the year must be from 1970 to 9999", raw.trim()));
        }
        let number =
            |t: &str, len: usize| (t.len() == len && t.chars().all(|c| c.is_ascii_digit())).then(|| t.parse::<u32>().ok()).flatten();
        let p = match rest.strip_prefix('Q') {
            Some(q) => number(q, 1).and_then(|quarter| Period::quarter(year, quarter)),
            None => number(rest, 2).and_then(|month| Period::month(year, month)),
        };
        p.ok_or_else(bad)
    }

    /// The month `month` (1–12) of `year`.
    pub fn month(year: i32, month: u32) -> Option<Period> {
        (YEARS.contains(&year) && (1..=12).contains(&month)).then_some(Period::Month { year, month })
    }

    /// The quarter `quarter` (1–4) of `year`.
    pub fn quarter(year: i32, quarter: u32) -> Option<Period> {
        (YEARS.contains(&year) && (1..=4).contains(&quarter)).then_some(Period::Quarter { year, quarter })
    }

    /// The month holding `date`.
    pub fn month_of(date: NaiveDate) -> Period {
        Period::Month { year: date.year(), month: date.month() }
    }

    /// The quarter holding `date`.
    pub fn quarter_of(date: NaiveDate) -> Period {
        Period::Quarter { year: date.year(), quarter: (date.month() - 1) / 3 + 1 }
    }

    fn first_month(self) -> (i32, u32, u32) {
        match self {
            Period::Month { year, month } => (year, month, 1),
            Period::Quarter { year, quarter } => (year, (quarter - 1) * 3 + 1, 3),
        }
    }

    /// The first day.
    pub fn start(self) -> NaiveDate {
        let (year, month, _) = self.first_month();
        NaiveDate::from_ymd_opt(year, month, 1).expect("a Period is a valid month")
    }

    /// The last day (inclusive).
    pub fn end(self) -> NaiveDate {
        let (year, month, months) = self.first_month();
        let next = month + months;
        let (y, m) = if next > 12 { (year + 1, next - 12) } else { (year, next) };
        NaiveDate::from_ymd_opt(y, m, 1).expect("the month after a Period exists").pred_opt().expect("a day before the first")
    }

    /// Whether `date` falls in the period.
    pub fn contains(self, date: NaiveDate) -> bool {
        self.start() <= date && date <= self.end()
    }

    /// Whether a stored time or day falls in the period, by its UTC day.
    pub fn contains_time(self, stored: &str) -> bool {
        utc_day(stored).is_some_and(|d| self.contains(d))
    }

    /// The period after this one, of the same length.
    pub fn next(self) -> Option<Period> {
        match self {
            Period::Month { year, month: 12 } => Period::month(year + 1, 1),
            Period::Month { year, month } => Period::month(year, month + 1),
            Period::Quarter { year, quarter: 4 } => Period::quarter(year + 1, 1),
            Period::Quarter { year, quarter } => Period::quarter(year, quarter + 1),
        }
    }
}

impl fmt::Display for Period {
    /// `2026-03` or `2026-Q1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Month { year, month } => write!(f, "{year:04}-{month:02}"),
            Period::Quarter { year, quarter } => write!(f, "{year:04}-Q{quarter}"),
        }
    }
}

impl Serialize for Period {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Period, D::Error> {
        let s = String::deserialize(d)?;
        Period::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// What a target counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetMeasure {
    /// The amounts of opportunities won in the period.
    #[default]
    WonOpportunities,
    /// The net amounts of orders paid in the period.
    PaidOrders,
}

impl TargetMeasure {
    /// Name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetMeasure::WonOpportunities => "won_opportunities",
            TargetMeasure::PaidOrders => "paid_orders",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<TargetMeasure> {
        [TargetMeasure::WonOpportunities, TargetMeasure::PaidOrders].into_iter().find(|m| m.as_str() == s)
    }
}

/// A target's editable fields, always valid (built by [`TargetInput::apply`]). One target per
/// user or team, period and measure is the store's unique key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TargetData {
    /// The rep the quota is for (exactly one of `user_id` and `team_id` is set).
    pub user_id: Option<i64>,
    /// The team the quota is for.
    pub team_id: Option<i64>,
    /// `2026-03` or `2026-Q1`.
    pub period: String,
    /// The quota in minor units of `currency`, more than 0.
    pub amount_minor: i64,
    /// ISO 4217 code; only amounts in it count.
    pub currency: String,
    /// What counts toward it.
    pub measure: TargetMeasure,
}

impl TargetData {
    /// The period.
    pub fn period(&self) -> Option<Period> {
        Period::parse(&self.period).ok()
    }
}

/// A target as the API returns it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Target {
    /// Identifier.
    pub id: i64,
    /// Editable fields.
    #[serde(flatten)]
    pub data: TargetData,
    /// First day of the period (read-only).
    pub starts_on: String,
    /// Last day of the period (read-only).
    pub ends_on: String,
    /// What counted toward it so far, in minor units of `currency`: the amounts of the won
    /// opportunities closed in the period, or the net amounts of the orders paid in it, of the
    /// rep (or the team's members), as far as the reader may see them (read-only).
    #[serde(default)]
    pub achieved_minor: Option<i64>,
    /// Achieved ÷ quota in basis points, rounded down (10,000 = 100 %; may pass it).
    #[serde(default)]
    pub percent_bp: Option<i64>,
    /// How many items counted.
    #[serde(default)]
    pub counted: Option<i64>,
    /// Items of the period left out because they are in another currency.
    #[serde(default)]
    pub other_currency: Option<i64>,
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

impl Target {
    /// What a sync listing shows of a deleted target: that it is gone, and nothing else.
    pub fn tombstone(self) -> Target {
        Target {
            data: TargetData::default(),
            starts_on: String::new(),
            ends_on: String::new(),
            achieved_minor: None,
            percent_bp: None,
            counted: None,
            other_currency: None,
            ..self
        }
    }
}

/// What a client sends to create (`period`, `amount_minor`, `currency`, `measure` and one of
/// `user_id` / `team_id` required) or update a target.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetInput {
    /// The rep's user id, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub user_id: Option<Option<i64>>,
    /// The team's id, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub team_id: Option<Option<i64>>,
    /// `2026-03` or `2026-Q1`.
    pub period: Option<String>,
    /// The quota in minor units.
    pub amount_minor: Option<i64>,
    /// ISO 4217 code.
    pub currency: Option<String>,
    /// What counts.
    pub measure: Option<TargetMeasure>,
}

impl TargetInput {
    /// Merges onto `current` (or a new target) and validates.
    pub fn apply(self, current: Option<&TargetData>) -> Result<TargetData, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let creating = current.is_none();
        let mut d = current.cloned().unwrap_or_default();
        if let Some(v) = self.user_id {
            d.user_id = v;
        }
        if let Some(v) = self.team_id {
            d.team_id = v;
        }
        match (d.user_id, d.team_id) {
            (Some(_), Some(_)) => errs.add("user_id", "a target is for a user or a team, not both: set the other to null"),
            (None, None) => errs.add("user_id", "is required, or team_id: whose quota this is"),
            _ => {}
        }
        match self.period {
            Some(p) => {
                if let Some(p) = errs.check("period", Period::parse(&p)) {
                    d.period = p.to_string();
                }
            }
            None if creating => errs.add("period", "is required: a month like 2026-03 or a quarter like 2026-Q1"),
            None => {}
        }
        match self.amount_minor {
            Some(0) => errs.add("amount_minor", "must be more than 0"),
            Some(a) => match check_amount(a) {
                Ok(a) => d.amount_minor = a,
                Err(m) => errs.add("amount_minor", m),
            },
            None if creating => errs.add("amount_minor", "is required (in minor units: 1000000 is 10,000.00)"),
            None => {}
        }
        apply_currency(&mut errs, "currency", self.currency, creating, &mut d.currency);
        match self.measure {
            Some(m) => d.measure = m,
            None if creating => errs.add("measure", "is required: won_opportunities or paid_orders"),
            None => {}
        }
        errs.into_result(d)
    }
}

/// One amount that may count toward a target: how much, in which currency, and when (the UTC
/// day of `at` decides the period).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Achieved<'a> {
    /// Amount in minor units.
    pub amount_minor: i64,
    /// Its ISO 4217 code.
    pub currency: &'a str,
    /// When it was achieved (RFC 3339 or a day).
    pub at: &'a str,
}

impl<'a> Achieved<'a> {
    /// A won opportunity's amount, on the day it closed; `None` unless it is won.
    pub fn from_opportunity(o: &'a OpportunityData) -> Option<Achieved<'a>> {
        let at = o.closed_at.as_deref().filter(|_| o.status == StageOutcome::Won)?;
        Some(Achieved { amount_minor: o.amount_minor, currency: &o.currency, at })
    }

    /// A paid (or shipped) order's net amount, on the day it was paid; `None` unless it is a
    /// purchase.
    pub fn from_order(o: &'a OrderData, totals: &OrderTotals) -> Option<Achieved<'a>> {
        let at = o.paid_at.as_deref().filter(|_| o.status.is_purchase())?;
        Some(Achieved { amount_minor: totals.net_minor, currency: &o.currency, at })
    }
}

/// How much of a target is reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Attainment {
    /// The quota.
    pub target_minor: i64,
    /// What counted toward it.
    pub achieved_minor: i64,
    /// What is left to reach it (0 once reached).
    pub remaining_minor: i64,
    /// Achieved ÷ target in basis points, rounded down (10,000 = 100 %; may pass 10,000).
    pub percent_bp: i64,
    /// How many items counted.
    pub counted: usize,
    /// Items of the period left out because they are in another currency (shown, so that a
    /// quota never silently mixes currencies).
    pub other_currency: usize,
}

impl Attainment {
    /// The attainment of a quota of `target_minor` by `achieved_minor` over `counted` items
    /// (sums an aggregate query made), capped at [`MAX_MINOR`].
    pub fn of(target_minor: i64, achieved_minor: i128, counted: usize, other_currency: usize) -> Attainment {
        let achieved = achieved_minor.clamp(0, MAX_MINOR as i128) as i64;
        let percent_bp = if target_minor > 0 { (achieved as i128 * 10_000 / target_minor as i128) as i64 } else { 0 };
        Attainment {
            target_minor,
            achieved_minor: achieved,
            remaining_minor: (target_minor - achieved).max(0),
            percent_bp,
            counted,
            other_currency,
        }
    }
}

/// Sums the items in the target's period and currency. Items outside the period, or whose time
/// cannot be read, are not counted; the sum is capped at [`MAX_MINOR`].
pub fn attainment(target: &TargetData, items: &[Achieved]) -> Attainment {
    let period = target.period();
    let (mut sum, mut counted, mut other_currency) = (0_i128, 0, 0);
    for item in items {
        if !period.is_some_and(|p| p.contains_time(item.at)) {
            continue;
        }
        if !item.currency.eq_ignore_ascii_case(&target.currency) {
            other_currency += 1;
            continue;
        }
        sum += item.amount_minor as i128;
        counted += 1;
    }
    Attainment::of(target.amount_minor, sum, counted, other_currency)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sales::order::{OrderLine, OrderStatus, compute_totals};

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn input(json: &str) -> TargetInput {
        serde_json::from_str(json).unwrap()
    }

    fn fields(e: ValidationErrors) -> Vec<String> {
        e.0.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn periods_parse_and_know_their_days() {
        let m = Period::parse(" 2026-02 ").unwrap();
        assert_eq!(
            (m, m.start(), m.end(), m.to_string()),
            (Period::Month { year: 2026, month: 2 }, day("2026-02-01"), day("2026-02-28"), "2026-02".into())
        );
        assert_eq!(Period::parse("2028-02").unwrap().end(), day("2028-02-29"), "leap year");
        assert_eq!(Period::parse("2026-12").unwrap().end(), day("2026-12-31"));
        let q = Period::parse("2026-q4").unwrap();
        assert_eq!((q.start(), q.end(), q.to_string()), (day("2026-10-01"), day("2026-12-31"), "2026-Q4".into()));
        assert_eq!(
            (Period::parse("2026-Q1").unwrap().start(), Period::parse("2026-Q1").unwrap().end()),
            (day("2026-01-01"), day("2026-03-31"))
        );
        assert_eq!(Period::parse("2026-Q2").unwrap().end(), day("2026-06-30"));
        assert_eq!(Period::parse("9999-12").unwrap().end(), day("9999-12-31"));
        for bad in [
            "",
            "2026",
            "2026-13",
            "2026-00",
            "2026-1",
            "2026-Q0",
            "2026-Q5",
            "2026-Q12",
            "26-03",
            "2026/03",
            "1969-12",
            "2026-03-01",
            "+202-03",
            "２０２６-03",
        ] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
        assert!(Period::parse("1969-12").unwrap_err().contains("1970 to 9999"));
        assert_eq!(serde_json::to_value(q).unwrap(), "2026-Q4");
        assert_eq!(serde_json::from_str::<Period>(r#""2026-q1""#).unwrap(), Period::quarter(2026, 1).unwrap());
        assert!(serde_json::from_str::<Period>(r#""2026-Q9""#).is_err());
    }

    #[test]
    fn periods_contain_days_and_follow_each_other() {
        let q1 = Period::quarter(2026, 1).unwrap();
        assert!(q1.contains(day("2026-01-01")) && q1.contains(day("2026-03-31")));
        assert!(!q1.contains(day("2025-12-31")) && !q1.contains(day("2026-04-01")));
        assert!(q1.contains_time("2026-03-31T23:59:59Z"));
        assert!(!q1.contains_time("2026-03-31T23:30:00-01:00"), "that is April 1st in UTC");
        assert!(!q1.contains_time("whenever"));
        assert_eq!(Period::month_of(day("2026-03-15")), Period::month(2026, 3).unwrap());
        assert_eq!(Period::quarter_of(day("2026-03-15")), q1);
        assert_eq!(Period::quarter_of(day("2026-12-01")), Period::quarter(2026, 4).unwrap());
        assert_eq!(Period::month(2026, 12).unwrap().next(), Period::month(2027, 1));
        assert_eq!(Period::month(2026, 3).unwrap().next(), Period::month(2026, 4));
        assert_eq!(Period::quarter(2026, 4).unwrap().next(), Period::quarter(2027, 1));
        assert_eq!(Period::quarter(2026, 2).unwrap().next(), Period::quarter(2026, 3));
        assert_eq!(Period::month(9999, 12).unwrap().next(), None);
        assert_eq!((Period::month(2026, 0), Period::quarter(2026, 5), Period::month(1969, 1)), (None, None, None));
    }

    #[test]
    fn targets_are_for_exactly_one_user_or_team() {
        let t = input(r#"{"user_id":4,"period":"2026-q1","amount_minor":5000000,"currency":"usd","measure":"won_opportunities"}"#)
            .apply(None)
            .unwrap();
        assert_eq!(
            (t.user_id, t.team_id, t.period.as_str(), t.currency.as_str(), t.measure),
            (Some(4), None, "2026-Q1", "USD", TargetMeasure::WonOpportunities)
        );
        assert_eq!(fields(input(r#"{"user_id":4,"team_id":2}"#).apply(Some(&t)).unwrap_err()), ["user_id"]);
        let team = input(r#"{"user_id":null,"team_id":2,"measure":"paid_orders"}"#).apply(Some(&t)).unwrap();
        assert_eq!((team.user_id, team.team_id, team.measure), (None, Some(2), TargetMeasure::PaidOrders));
        assert_eq!(fields(input(r#"{"team_id":null}"#).apply(Some(&team)).unwrap_err()), ["user_id"]);
        assert_eq!(fields(input("{}").apply(None).unwrap_err()), ["user_id", "period", "amount_minor", "currency", "measure"]);
        let e = input(r#"{"team_id":1,"period":"Q1","amount_minor":0,"currency":"ZZZ"}"#).apply(None).unwrap_err();
        assert_eq!(fields(e), ["period", "amount_minor", "currency", "measure"]);
        assert_eq!(fields(input(r#"{"amount_minor":-5}"#).apply(Some(&t)).unwrap_err()), ["amount_minor"]);
        assert_eq!(fields(input(r#"{"amount_minor":9007199254740992}"#).apply(Some(&t)).unwrap_err()), ["amount_minor"]);
        assert!(serde_json::from_str::<TargetInput>(r#"{"measure":"calls"}"#).is_err());
        assert_eq!(t.period(), Period::quarter(2026, 1));
        for m in [TargetMeasure::WonOpportunities, TargetMeasure::PaidOrders] {
            assert_eq!(TargetMeasure::parse(m.as_str()), Some(m));
            assert_eq!(serde_json::to_value(m).unwrap(), m.as_str());
        }
        let rec = Target {
            id: 1,
            data: t,
            starts_on: "2026-01-01".into(),
            ends_on: "2026-03-31".into(),
            achieved_minor: Some(5),
            percent_bp: Some(0),
            counted: Some(1),
            other_currency: Some(0),
            created_at: "x".into(),
            updated_at: "x".into(),
            deleted_at: None,
            version: 1,
        };
        assert_eq!(serde_json::to_value(&rec).unwrap()["period"], "2026-Q1");
        assert_eq!(rec.tombstone().data, TargetData::default());
    }

    fn target(amount: i64) -> TargetData {
        TargetData {
            user_id: Some(1),
            team_id: None,
            period: "2026-03".into(),
            amount_minor: amount,
            currency: "USD".into(),
            measure: TargetMeasure::WonOpportunities,
        }
    }

    #[test]
    fn attainment_sums_the_period_in_the_targets_currency() {
        let a = |amount_minor, currency, at| Achieved { amount_minor, currency, at };
        let items = [
            a(30_000, "USD", "2026-03-01T00:00:00Z"),
            a(45_000, "usd", "2026-03-31T23:59:59Z"),
            a(99_999, "USD", "2026-04-01T00:00:00Z"),
            a(99_999, "USD", "2026-02-28"),
            a(10_000, "EUR", "2026-03-15"),
            a(99_999, "USD", "unreadable"),
        ];
        let r = attainment(&target(100_000), &items);
        assert_eq!(
            r,
            Attainment {
                target_minor: 100_000,
                achieved_minor: 75_000,
                remaining_minor: 25_000,
                percent_bp: 7500,
                counted: 2,
                other_currency: 1
            }
        );
        let over = attainment(&target(50_000), &items);
        assert_eq!((over.percent_bp, over.remaining_minor), (15_000, 0), "over-achievement shows");
        assert_eq!(attainment(&target(3), &[a(1, "USD", "2026-03-02")]).percent_bp, 3333, "rounded down");
        assert_eq!(attainment(&target(100), &[]).percent_bp, 0);
        let huge = [a(MAX_MINOR, "USD", "2026-03-02"), a(MAX_MINOR, "USD", "2026-03-03")];
        assert_eq!(attainment(&target(1), &huge).achieved_minor, MAX_MINOR, "capped, not overflowed");
        let mut broken = target(100);
        broken.period = "someday".into();
        assert_eq!(attainment(&broken, &items).counted, 0);
    }

    #[test]
    fn what_counts_from_opportunities_and_orders() {
        let mut o = OpportunityData {
            amount_minor: 500,
            currency: "USD".into(),
            status: StageOutcome::Won,
            closed_at: Some("2026-03-05T10:00:00Z".into()),
            ..OpportunityData::default()
        };
        assert_eq!(Achieved::from_opportunity(&o), Some(Achieved { amount_minor: 500, currency: "USD", at: "2026-03-05T10:00:00Z" }));
        o.status = StageOutcome::Lost;
        assert_eq!(Achieved::from_opportunity(&o), None);
        o.status = StageOutcome::Open;
        o.closed_at = None;
        assert_eq!(Achieved::from_opportunity(&o), None);

        let line = OrderLine {
            product_id: 1,
            sku: "A".into(),
            name: "A".into(),
            quantity: 2,
            unit_price_minor: 1000,
            discount_bp: 1000,
            discount_minor: 0,
        };
        let mut order = OrderData {
            currency: "USD".into(),
            lines: vec![line],
            tax_rate_bp: 2000,
            status: OrderStatus::Paid,
            paid_at: Some("2026-03-07T00:00:00Z".into()),
            ..OrderData::default()
        };
        let totals = compute_totals(&order.lines, order.tax_rate_bp).unwrap();
        assert_eq!(Achieved::from_order(&order, &totals).map(|a| a.amount_minor), Some(1800), "net of discount, before tax");
        order.status = OrderStatus::Shipped;
        assert!(Achieved::from_order(&order, &totals).is_some());
        for s in [OrderStatus::Draft, OrderStatus::Confirmed, OrderStatus::Cancelled] {
            order.status = s;
            assert_eq!(Achieved::from_order(&order, &totals), None, "{s:?}");
        }
    }
}
