//! The service reports (issue 11 §9): what each counts, the filter they share, and the link
//! from each number to the tickets behind it.
//!
//! Decisions where the issue is silent:
//! - Times are business hours of the ticket's team calendar (else the default calendar; round
//!   the clock when there is none), counted only in the states whose SLA clock runs, exactly
//!   as the SLA measures them; each row says `"clock": "business"`.
//! - The backlog is the open tickets now (every state but resolved and closed), by the age of
//!   the ticket; a span narrows it by creation day. Times, the reopen rate and the trend count
//!   tickets by their creation or resolution day in the span; CSAT and NPS count answers by
//!   the day they were given, and their agent is the one credited with the rating.
//! - The reopen rate is the share of the tickets resolved in the span that were reopened at
//!   least once.
//! - A comparison side is `agent:ID`, `team:ID` or `period:YYYY-MM` / `period:YYYY-Qn`; the
//!   other filters narrow both sides.

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use super::ticket::Priority;
use crate::ValidationErrors;
use crate::sales::target::Period;

/// What a service report is narrowed to. Days are UTC calendar days, both ends included.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceFilter {
    /// First day counted.
    pub from: Option<NaiveDate>,
    /// Last day counted.
    pub to: Option<NaiveDate>,
    /// Only this team's tickets.
    pub team_id: Option<i64>,
    /// Only this agent's tickets (for CSAT and NPS: the ratings credited to them).
    pub agent_id: Option<i64>,
    /// Only this category.
    pub category: Option<String>,
    /// Only this priority.
    pub priority: Option<Priority>,
    /// Only this company's tickets.
    pub company_id: Option<i64>,
}

/// The parameters every service report takes (besides `format`).
pub const FILTER_PARAMS: [&str; 8] = ["period", "from", "to", "team_id", "agent_id", "category", "priority", "company_id"];

fn id(errs: &mut ValidationErrors, k: &str, v: &str) -> Option<i64> {
    match v.parse::<i64>() {
        Ok(n) if n > 0 => Some(n),
        _ => {
            errs.add(k, format!("'{v}' is not an id"));
            None
        }
    }
}

impl ServiceFilter {
    /// Reads the filter from query pairs, naming unknown parameters and bad values; those in
    /// `also` are left for the caller.
    pub fn parse(pairs: &[(String, String)], also: &[&str]) -> Result<ServiceFilter, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let mut f = ServiceFilter::default();
        let mut period = None;
        for (k, v) in pairs {
            let v = v.trim();
            let day = |errs: &mut ValidationErrors| {
                errs.check(k, NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| "is not a date written YYYY-MM-DD"))
            };
            match k.as_str() {
                "period" => period = errs.check("period", Period::parse(v)),
                "from" => f.from = day(&mut errs),
                "to" => f.to = day(&mut errs),
                "team_id" => f.team_id = id(&mut errs, k, v),
                "agent_id" => f.agent_id = id(&mut errs, k, v),
                "company_id" => f.company_id = id(&mut errs, k, v),
                "category" if !v.is_empty() => f.category = Some(v.to_string()),
                "category" => errs.add(k, "is empty"),
                "priority" => match Priority::NAMES.iter().position(|p| *p == v) {
                    Some(i) => f.priority = Some([Priority::Low, Priority::Normal, Priority::High, Priority::Urgent][i]),
                    None => errs.add(k, format!("use {}", crate::query::or_list(Priority::NAMES))),
                },
                other if also.contains(&other) => {}
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

    /// The first day as stored text, which sorts before every time of that day.
    pub fn from_text(&self) -> Option<String> {
        self.from.map(|d| d.format("%Y-%m-%d").to_string())
    }

    /// A bound that sorts after every stored time of the last day.
    pub fn to_bound(&self) -> Option<String> {
        self.to.map(|d| format!("{}T24", d.format("%Y-%m-%d")))
    }

    /// `/api/v1/tickets` narrowed by this filter and `extra` (`status=open` is not a list
    /// filter, so callers name one status); `span` names the time field the span applies to.
    pub fn tickets_link(&self, span: Option<&str>, extra: &[(&str, String)]) -> String {
        let mut q: Vec<(String, String)> = vec![];
        if let Some(t) = self.team_id {
            q.push(("team_id".into(), t.to_string()));
        }
        if let Some(a) = self.agent_id {
            q.push(("owner_id".into(), a.to_string()));
        }
        if let Some(c) = &self.category {
            q.push(("category".into(), c.clone()));
        }
        if let Some(p) = self.priority {
            q.push(("priority".into(), p.as_str().into()));
        }
        if let Some(c) = self.company_id {
            q.push(("company_id".into(), c.to_string()));
        }
        match span {
            Some("created_at") => {
                if let Some(d) = self.from {
                    q.push(("created_after".into(), d.format("%Y-%m-%d").to_string()));
                }
                if let Some(d) = self.to.and_then(|d| d.succ_opt()) {
                    q.push(("created_before".into(), d.format("%Y-%m-%d").to_string()));
                }
            }
            Some(field) => {
                if let Some(d) = self.from {
                    q.push((format!("{field}.gte"), format!("{}T00:00:00Z", d.format("%Y-%m-%d"))));
                }
                if let Some(d) = self.to {
                    q.push((format!("{field}.lte"), format!("{}T23:59:59.999999Z", d.format("%Y-%m-%d"))));
                }
            }
            None => {}
        }
        for (k, v) in extra {
            q.retain(|(have, _)| have != k);
            q.push((k.to_string(), v.clone()));
        }
        let mut link = "/api/v1/tickets".to_string();
        for (i, (k, v)) in q.iter().enumerate() {
            link.push(if i == 0 { '?' } else { '&' });
            link.push_str(k);
            link.push('=');
            link.push_str(&encode(v));
        }
        link
    }
}

/// Percent-encodes a query value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The age buckets of the backlog, youngest first: a label and the bucket's upper age in hours
/// (`None`: older than the one before).
pub const AGE_BUCKETS: [(&str, Option<i64>); 5] =
    [("under 1 day", Some(24)), ("1–3 days", Some(72)), ("3–7 days", Some(168)), ("7–30 days", Some(720)), ("over 30 days", None)];

/// Open tickets of one age bucket, priority and status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct BacklogRow {
    /// The age bucket's label (see [`AGE_BUCKETS`]).
    pub age: String,
    /// Priority.
    pub priority: String,
    /// Status.
    pub status: String,
    /// How many.
    pub count: i64,
    /// The tickets list narrowed to them.
    pub link: String,
}

/// Median and 90th percentile of one duration, in hours.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TimeRow {
    /// `first_response` (creation to the first public agent reply) or `resolution` (creation
    /// to the last resolution).
    pub measure: String,
    /// Tickets measured.
    pub count: i64,
    /// Median, in hours (none without tickets).
    pub median_hours: Option<f64>,
    /// 90th percentile (linear interpolation between ranks, as numpy's default), in hours.
    pub p90_hours: Option<f64>,
    /// `business`: business hours of the ticket's calendar, paused states left out (see the
    /// module notes).
    pub clock: String,
    /// The tickets list narrowed to the tickets measured.
    pub link: String,
}

/// One CSAT rating's count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CsatBucket {
    /// 1 to 5.
    pub rating: i64,
    /// Answers with this rating.
    pub count: i64,
}

/// CSAT over the answers given in the span.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CsatReport {
    /// Answers.
    pub count: i64,
    /// Mean rating (1–5), none without answers.
    pub average: Option<f64>,
    /// Percent of answers rated 4 or 5.
    pub satisfied_percent: Option<f64>,
    /// Count per rating, 1 to 5.
    pub distribution: Vec<CsatBucket>,
    /// The tickets list narrowed by the filter (the list has no rating filter).
    pub link: String,
}

/// NPS over the answers given in the span that rated it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct NpsReport {
    /// Answers with an NPS rating.
    pub count: i64,
    /// Ratings 9–10.
    pub promoters: i64,
    /// Ratings 7–8.
    pub passives: i64,
    /// Ratings 0–6.
    pub detractors: i64,
    /// Percent promoters minus percent detractors, −100 to 100; none without answers.
    pub score: Option<f64>,
    /// The tickets list narrowed by the filter.
    pub link: String,
}

/// Reopened share of the tickets resolved in the span.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ReopenReport {
    /// Tickets resolved in the span.
    pub resolved: i64,
    /// Of them, reopened at least once.
    pub reopened: i64,
    /// Percent reopened, none without resolved tickets.
    pub rate_percent: Option<f64>,
    /// The tickets list of the resolved ones.
    pub link: String,
    /// The tickets list of those reopened now.
    pub reopened_link: String,
}

/// One week of the trend (weeks start on Monday, UTC).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TrendRow {
    /// The Monday (YYYY-MM-DD).
    pub week: String,
    /// Tickets opened that week.
    pub created: i64,
    /// Tickets whose (last) resolution fell in that week.
    pub resolved: i64,
    /// Survey answers given that week.
    pub csat_count: i64,
    /// Their mean rating.
    pub csat_average: Option<f64>,
    /// The tickets list of the week's new tickets.
    pub link: String,
}

/// Percentage with one decimal.
pub fn percent(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (1000.0 * part as f64 / whole as f64).round() / 10.0)
}

/// What one side of a comparison narrows the filter to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// One agent's ratings.
    Agent(i64),
    /// One team's tickets.
    Team(i64),
    /// One month or quarter.
    Period(NaiveDate, NaiveDate),
}

impl Side {
    /// Parses `agent:ID`, `team:ID` or `period:YYYY-MM` / `period:YYYY-Qn`.
    pub fn parse(raw: &str) -> Result<Side, String> {
        let bad = || format!("'{raw}' is not a side: write agent:ID, team:ID or period:2026-07 (a month or a quarter)");
        let (kind, v) = raw.trim().split_once(':').ok_or_else(bad)?;
        let id = || v.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(bad);
        match kind {
            "agent" => Ok(Side::Agent(id()?)),
            "team" => Ok(Side::Team(id()?)),
            "period" => Period::parse(v).map(|p| Side::Period(p.start(), p.end())),
            _ => Err(bad()),
        }
    }

    /// The filter narrowed to this side (the side replaces what it names).
    pub fn narrow(self, f: &ServiceFilter) -> ServiceFilter {
        let mut f = f.clone();
        match self {
            Side::Agent(a) => f.agent_id = Some(a),
            Side::Team(t) => f.team_id = Some(t),
            Side::Period(a, b) => (f.from, f.to) = (Some(a), Some(b)),
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(s: &[(&str, &str)]) -> Vec<(String, String)> {
        s.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn the_filter_names_bad_parameters_and_links_to_the_tickets_behind_a_number() {
        let bad = ServiceFilter::parse(&pairs(&[("priority", "soon"), ("agent_id", "x"), ("color", "red"), ("from", "2026-13-01")]), &[]);
        let fields: Vec<String> = bad.unwrap_err().0.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["priority", "agent_id", "color", "from"]);
        let f =
            ServiceFilter::parse(&pairs(&[("period", "2026-07"), ("agent_id", "3"), ("category", "billing & tax"), ("a", "x")]), &["a"])
                .unwrap();
        assert_eq!((f.from_text().as_deref(), f.to_bound().as_deref()), (Some("2026-07-01"), Some("2026-07-31T24")));
        assert_eq!(
            f.tickets_link(Some("created_at"), &[("status", "new".into())]),
            "/api/v1/tickets?owner_id=3&category=billing%20%26%20tax&created_after=2026-07-01&created_before=2026-08-01&status=new"
        );
        assert_eq!(
            f.tickets_link(Some("resolved_at"), &[("owner_id", "4".into())]),
            "/api/v1/tickets?category=billing%20%26%20tax&resolved_at.gte=2026-07-01T00:00:00Z&resolved_at.lte=2026-07-31T23:59:59.999999Z&owner_id=4"
        );
        assert!(ServiceFilter::parse(&pairs(&[("period", "2026-07"), ("to", "2026-07-02")]), &[]).is_err());
    }

    #[test]
    fn a_comparison_side_narrows_the_filter() {
        let f = ServiceFilter { agent_id: Some(9), ..ServiceFilter::default() };
        assert_eq!(Side::parse("agent:2").unwrap().narrow(&f).agent_id, Some(2));
        assert_eq!(Side::parse("team:4").unwrap().narrow(&f).team_id, Some(4));
        let q = Side::parse("period:2026-Q3").unwrap().narrow(&f);
        assert_eq!((q.from_text().unwrap(), q.to.unwrap().to_string()), ("2026-07-01".to_string(), "2026-09-30".to_string()));
        for bad in ["agent", "agent:0", "team:x", "period:2026-13", "boss:1"] {
            assert!(Side::parse(bad).is_err(), "{bad}");
        }
        assert_eq!((percent(1, 3), percent(0, 0)), (Some(33.3), None));
    }
}
