//! Sales reports (issue 9, §5): what each one counts, its filter, and its rows.
//!
//! Every report takes the same filter ([`ReportFilter`]): a span of days (`from`/`to`, or a
//! `period` such as `2026-Q3` or `2026-07`), an owner, a team (its members' records) and a
//! pipeline. The store sums in SQL over the records the reader may see, so a rep's report counts
//! only the rep's reach; what each report means is written on its row type. Amounts are per
//! currency: two currencies are never added, each has its own row.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use utoipa::ToSchema;

use super::target::Period;
use crate::ValidationErrors;

/// What a report is narrowed to. Days are UTC calendar days, both ends included.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportFilter {
    /// First day counted.
    pub from: Option<NaiveDate>,
    /// Last day counted.
    pub to: Option<NaiveDate>,
    /// Only records owned by this user.
    pub owner_id: Option<i64>,
    /// Only records owned by members of this team.
    pub team_id: Option<i64>,
    /// Only this pipeline's opportunities.
    pub pipeline_id: Option<i64>,
}

/// The parameters every report takes (besides `format`).
pub const FILTER_PARAMS: [&str; 6] = ["period", "from", "to", "owner_id", "team_id", "pipeline_id"];

impl ReportFilter {
    /// Reads the filter from query pairs; unknown parameters and bad values are named.
    /// `period` and `from`/`to` are alternatives.
    pub fn parse(pairs: &[(String, String)]) -> Result<ReportFilter, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let mut f = ReportFilter::default();
        let mut period = None;
        for (k, v) in pairs {
            let v = v.trim();
            let id = |errs: &mut ValidationErrors| match v.parse::<i64>() {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    errs.add(k.as_str(), format!("'{v}' is not an id"));
                    None
                }
            };
            let day = |errs: &mut ValidationErrors| {
                errs.check(k, NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| "is not a date written YYYY-MM-DD"))
            };
            match k.as_str() {
                "period" => period = errs.check("period", Period::parse(v)),
                "from" => f.from = day(&mut errs),
                "to" => f.to = day(&mut errs),
                "owner_id" => f.owner_id = id(&mut errs),
                "team_id" => f.team_id = id(&mut errs),
                "pipeline_id" => f.pipeline_id = id(&mut errs),
                other => errs.add(other, format!("is not a parameter of this report: use {}", FILTER_PARAMS.join(", "))),
            }
        }
        if let Some(p) = period {
            if f.from.is_some() || f.to.is_some() {
                errs.add("period", "give either period or from/to, not both");
            }
            f.from = Some(p.start());
            f.to = Some(p.end());
        }
        if let (Some(a), Some(b)) = (f.from, f.to)
            && a > b
        {
            errs.add("to", "is before from");
        }
        errs.into_result(f)
    }

    /// The first day as stored text (`2026-07-01`), which sorts before every time of that day.
    pub fn from_text(&self) -> Option<String> {
        self.from.map(|d| d.format("%Y-%m-%d").to_string())
    }

    /// The span as whole calendar months (its first and last `YYYY-MM`, `None` for an open
    /// end), or `None` when an end falls inside a month: what a per-month summary can answer.
    pub fn whole_months(&self) -> Option<(Option<String>, Option<String>)> {
        let starts_month = self.from.is_none_or(|d| d.day() == 1);
        let ends_month = self.to.is_none_or(|d| d.succ_opt().is_none_or(|n| n.day() == 1));
        let month = |d: Option<NaiveDate>| d.map(|d| d.format("%Y-%m").to_string());
        (starts_month && ends_month).then(|| (month(self.from), month(self.to)))
    }

    /// The bound a stored time or day must be below to fall on or before the last day
    /// (`2026-07-31T24`: after every time written on the 31st, before the 1st).
    pub fn to_bound(&self) -> Option<String> {
        self.to.map(|d| format!("{}T24", d.format("%Y-%m-%d")))
    }
}

/// A report as JSON: the span it covers and its rows.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Report<T> {
    /// First day counted (null: since the beginning).
    pub from: Option<String>,
    /// Last day counted (null: up to now).
    pub to: Option<String>,
    /// The rows (the CSV form has the same columns, in this order, under a header row).
    pub rows: Vec<T>,
}

impl<T> Report<T> {
    /// The rows of a report over `filter`'s span.
    pub fn new(filter: &ReportFilter, rows: Vec<T>) -> Report<T> {
        let day = |d: Option<NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string());
        Report { from: day(filter.from), to: day(filter.to), rows }
    }
}

/// Basis points of `part` in `whole` (10,000 = 100 %), rounded down; `None` when `whole` is 0.
pub fn basis_points(part: i64, whole: i64) -> Option<i64> {
    (whole > 0).then(|| (part as i128 * 10_000 / whole as i128) as i64)
}

/// Pipeline by stage: the live opportunities in each stage (all stages, closed ones too), per
/// currency, whose expected close day is in the span (any, without one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PipelineRow {
    /// Pipeline.
    pub pipeline_id: i64,
    /// Its name.
    pub pipeline_name: String,
    /// Stage key.
    pub stage: String,
    /// Stage name.
    pub stage_name: String,
    /// Stage position on the board (0 first).
    pub position: i64,
    /// `open`, `won` or `lost`.
    pub outcome: String,
    /// The stage's fixed win probability, 0–100.
    pub probability: i64,
    /// ISO 4217 code of the amounts.
    pub currency: String,
    /// Opportunities.
    pub count: i64,
    /// Their amounts summed, in minor units.
    pub amount_minor: i64,
    /// The sum weighted by the stage's probability, rounded half away from zero.
    pub weighted_minor: i64,
}

/// Win rate: opportunities closed in the span (by the day they closed), per owner, and a total
/// row with `owner_id` null. The rate counts deals, not amounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct WinRateRow {
    /// Owner; null on the total row (and for unowned deals' row, named "Unowned").
    pub owner_id: Option<i64>,
    /// The owner's name, "Unowned", or "All".
    pub owner_name: String,
    /// Won.
    pub won: i64,
    /// Lost.
    pub lost: i64,
    /// Won ÷ (won + lost) in basis points, rounded down; null when none closed.
    pub win_rate_bp: Option<i64>,
}

/// Average cycle length: for opportunities closed in the span, from their creation (the first
/// entry of their stage history) to their close, by outcome, and over both (`all`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CycleRow {
    /// `won`, `lost` or `all`.
    pub outcome: String,
    /// Closed opportunities measured.
    pub count: i64,
    /// Their average cycle in seconds, rounded down; null when none.
    pub average_seconds: Option<i64>,
    /// The same in days, to one decimal.
    pub average_days: Option<f64>,
}

/// Stage-to-stage conversion: of the opportunities created in the span (by the first entry of
/// their stage history, so imported deals keep their real start), how many reached each
/// stage of their pipeline or a later one (by their stage history; lost stages are exits, not
/// steps), and which share of those went on to the next step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FunnelRow {
    /// Pipeline.
    pub pipeline_id: i64,
    /// Stage key (open stages in board order, then the won stage).
    pub stage: String,
    /// Stage name.
    pub stage_name: String,
    /// Stage position.
    pub position: i64,
    /// Opportunities that reached this stage or a later one.
    pub reached: i64,
    /// Reached the next step ÷ reached this one, in basis points; null on the last step or
    /// when none reached this one.
    pub to_next_bp: Option<i64>,
}

/// Leaderboard: per rep and currency, the opportunities won in the span (closed in it) against
/// the rep's `won_opportunities` targets whose periods lie inside the span (summed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LeaderRow {
    /// The rep.
    pub user_id: i64,
    /// Their name.
    pub name: String,
    /// ISO 4217 code.
    pub currency: String,
    /// Deals won.
    pub deals_won: i64,
    /// Their amounts summed, in minor units.
    pub won_minor: i64,
    /// The rep's targets in this currency, summed; null without one.
    pub target_minor: Option<i64>,
    /// Won ÷ target in basis points, rounded down; null without a target.
    pub attainment_bp: Option<i64>,
}

/// Monthly sales: per UTC month and currency, the orders paid in the span (paid or shipped
/// since, by the day they were paid), their net revenue (after discounts, before tax: tax is not
/// revenue) and how many distinct customers bought. The pipeline filter does not apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct MonthlySalesRow {
    /// `2026-07`.
    pub month: String,
    /// ISO 4217 code.
    pub currency: String,
    /// Net revenue in minor units.
    pub revenue_minor: i64,
    /// Orders paid.
    pub orders: i64,
    /// Distinct customers among them (orders without a customer are not counted here).
    pub customers: i64,
}

impl MonthlySalesRow {
    /// The CSV header: the fields in order.
    pub const COLUMNS: &'static [&'static str] = &["month", "currency", "revenue_minor", "orders", "customers"];
}

impl PipelineRow {
    /// The CSV header: the fields in order.
    pub const COLUMNS: &'static [&'static str] = &[
        "pipeline_id",
        "pipeline_name",
        "stage",
        "stage_name",
        "position",
        "outcome",
        "probability",
        "currency",
        "count",
        "amount_minor",
        "weighted_minor",
    ];
}

impl WinRateRow {
    /// The CSV header: the fields in order.
    pub const COLUMNS: &'static [&'static str] = &["owner_id", "owner_name", "won", "lost", "win_rate_bp"];
}

impl CycleRow {
    /// The CSV header: the fields in order.
    pub const COLUMNS: &'static [&'static str] = &["outcome", "count", "average_seconds", "average_days"];
}

impl FunnelRow {
    /// The CSV header: the fields in order.
    pub const COLUMNS: &'static [&'static str] = &["pipeline_id", "stage", "stage_name", "position", "reached", "to_next_bp"];
}

impl LeaderRow {
    /// The CSV header: the fields in order.
    pub const COLUMNS: &'static [&'static str] =
        &["user_id", "name", "currency", "deals_won", "won_minor", "target_minor", "attainment_bp"];
}

impl LeaderRow {
    /// Best first: by attainment (reps without a target last), then by amount won.
    pub fn rank(rows: &mut [LeaderRow]) {
        rows.sort_by(|a, b| {
            b.attainment_bp
                .is_some()
                .cmp(&a.attainment_bp.is_some())
                .then(b.attainment_bp.cmp(&a.attainment_bp))
                .then(b.won_minor.cmp(&a.won_minor))
                .then(a.name.cmp(&b.name))
                .then(a.currency.cmp(&b.currency))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
        q.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn spans_of_whole_months_are_told_apart() {
        let months = |q: &[(&str, &str)]| ReportFilter::parse(&pairs(q)).unwrap().whole_months();
        let m = |s: &str| Some(s.to_string());
        assert_eq!(months(&[]), Some((None, None)));
        assert_eq!(months(&[("period", "2026-Q4")]), Some((m("2026-10"), m("2026-12"))));
        assert_eq!(months(&[("period", "2028-02")]), Some((m("2028-02"), m("2028-02"))), "a leap February ends on the 29th");
        assert_eq!(months(&[("from", "2026-03-01")]), Some((m("2026-03"), None)));
        assert_eq!(months(&[("from", "2026-03-02")]), None);
        assert_eq!(months(&[("to", "2026-02-27")]), None);
        assert_eq!(months(&[("from", "2026-01-01"), ("to", "2026-02-28")]), Some((m("2026-01"), m("2026-02"))));
    }

    #[test]
    fn filters_read_periods_and_spans() {
        let f = ReportFilter::parse(&pairs(&[("period", "2026-Q3"), ("owner_id", "4"), ("pipeline_id", "2")])).unwrap();
        assert_eq!((f.from_text().as_deref(), f.to_bound().as_deref()), (Some("2026-07-01"), Some("2026-09-30T24")));
        assert_eq!((f.owner_id, f.team_id, f.pipeline_id), (Some(4), None, Some(2)));
        let f = ReportFilter::parse(&pairs(&[("from", "2026-02-01"), ("to", "2026-02-10")])).unwrap();
        assert_eq!(f.to_bound().as_deref(), Some("2026-02-10T24"));
        assert!("2026-02-10T23:59:59.999999Z" < "2026-02-10T24" && "2026-02-11" > "2026-02-10T24");
        assert_eq!(ReportFilter::parse(&[]).unwrap(), ReportFilter::default());
        let fields =
            |q: &[(&str, &str)]| -> Vec<String> { ReportFilter::parse(&pairs(q)).unwrap_err().0.into_iter().map(|e| e.field).collect() };
        assert_eq!(fields(&[("period", "2026-Q5")]), ["period"]);
        assert_eq!(fields(&[("period", "2026-07"), ("from", "2026-07-02")]), ["period"]);
        assert_eq!(fields(&[("from", "2026-07-02"), ("to", "2026-07-01")]), ["to"]);
        assert_eq!(fields(&[("owner_id", "me"), ("team", "1"), ("to", "July")]), ["owner_id", "team", "to"]);
    }

    #[test]
    fn csv_columns_are_the_fields_in_order() {
        fn keys<T: Serialize>(row: &T) -> Vec<String> {
            // serde_json sorts keys; the CSV columns are compared as a set, the order is the
            // struct's (csv serializes fields in declaration order).
            let mut k: Vec<String> = serde_json::to_value(row).unwrap().as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        }
        fn sorted(c: &[&str]) -> Vec<String> {
            let mut c: Vec<String> = c.iter().map(|s| s.to_string()).collect();
            c.sort();
            c
        }
        let p = PipelineRow {
            pipeline_id: 1,
            pipeline_name: String::new(),
            stage: String::new(),
            stage_name: String::new(),
            position: 0,
            outcome: String::new(),
            probability: 0,
            currency: String::new(),
            count: 0,
            amount_minor: 0,
            weighted_minor: 0,
        };
        assert_eq!(keys(&p), sorted(PipelineRow::COLUMNS));
        let w = WinRateRow { owner_id: None, owner_name: String::new(), won: 0, lost: 0, win_rate_bp: None };
        assert_eq!(keys(&w), sorted(WinRateRow::COLUMNS));
        let c = CycleRow { outcome: String::new(), count: 0, average_seconds: None, average_days: None };
        assert_eq!(keys(&c), sorted(CycleRow::COLUMNS));
        let f = FunnelRow { pipeline_id: 1, stage: String::new(), stage_name: String::new(), position: 0, reached: 0, to_next_bp: None };
        assert_eq!(keys(&f), sorted(FunnelRow::COLUMNS));
        let l = LeaderRow {
            user_id: 1,
            name: String::new(),
            currency: String::new(),
            deals_won: 0,
            won_minor: 0,
            target_minor: None,
            attainment_bp: None,
        };
        assert_eq!(keys(&l), sorted(LeaderRow::COLUMNS));
        let m = MonthlySalesRow { month: String::new(), currency: String::new(), revenue_minor: 0, orders: 0, customers: 0 };
        assert_eq!(keys(&m), sorted(MonthlySalesRow::COLUMNS));
    }

    #[test]
    fn rates_and_ranks() {
        assert_eq!((basis_points(1, 3), basis_points(2, 2), basis_points(1, 0)), (Some(3333), Some(10_000), None));
        let row = |name: &str, won: i64, att: Option<i64>| LeaderRow {
            user_id: 1,
            name: name.into(),
            currency: "USD".into(),
            deals_won: 1,
            won_minor: won,
            target_minor: att.map(|_| 100),
            attainment_bp: att,
        };
        let mut rows = vec![row("a", 900, None), row("b", 10, Some(100)), row("c", 50, Some(5000))];
        LeaderRow::rank(&mut rows);
        assert_eq!(rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["c", "b", "a"]);
    }
}
