//! Working calendars as the admin keeps them: a named [`CalendarInput`] for one team, or the
//! default for teams without their own. A ticket's SLA clocks run on its team's calendar, the
//! default one when its team has none, and round the clock when there is no default either.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::calendar::{Calendar, CalendarInput};
use crate::values::bounded_text;
use crate::{ValidationErrors, double_option};

/// A stored calendar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WorkCalendar {
    /// Identifier.
    pub id: i64,
    /// Name, unique.
    pub name: String,
    /// The team it belongs to (one calendar per team).
    pub team_id: Option<i64>,
    /// The calendar of teams without their own (at most one).
    pub is_default: bool,
    /// Zone, periods per weekday and holidays.
    #[serde(flatten)]
    pub hours: CalendarInput,
    /// Creation time (RFC 3339 UTC).
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// Optimistic-concurrency version.
    pub version: i64,
}

/// What a client sends to create (`name` and `time_zone` required) or change a calendar.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkCalendarInput {
    /// Name, 1 to 100 characters.
    pub name: Option<String>,
    /// The team, or null for none.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub team_id: Option<Option<i64>>,
    /// Whether it is the default calendar.
    pub is_default: Option<bool>,
    /// An IANA time zone such as `Europe/Berlin`.
    pub time_zone: Option<String>,
    /// Periods per weekday: `{"monday": ["09:00-12:00", "13:00-17:00"], …}`.
    pub week: Option<std::collections::BTreeMap<String, Vec<String>>>,
    /// Days off, `YYYY-MM-DD`.
    pub holidays: Option<Vec<String>>,
}

/// A calendar's fields once checked.
#[derive(Debug, Clone, PartialEq)]
pub struct CalendarChanges {
    /// Name.
    pub name: String,
    /// Team.
    pub team_id: Option<i64>,
    /// Default flag.
    pub is_default: bool,
    /// Hours as written (normalised: holidays sorted).
    pub hours: CalendarInput,
}

impl WorkCalendarInput {
    /// The calendar after this input is applied to `before`, or every field that is wrong.
    pub fn apply(&self, before: Option<&WorkCalendar>) -> Result<CalendarChanges, ValidationErrors> {
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
        let time_zone = match (&self.time_zone, before) {
            (Some(z), _) => z.trim().to_string(),
            (None, Some(b)) => b.hours.time_zone.clone(),
            (None, None) => {
                errs.add("time_zone", "is required: an IANA time zone such as Europe/Berlin");
                String::new()
            }
        };
        let hours = CalendarInput {
            time_zone,
            week: self.week.clone().or(before.map(|b| b.hours.week.clone())).unwrap_or_default(),
            holidays: self.holidays.clone().or(before.map(|b| b.hours.holidays.clone())).unwrap_or_default(),
        };
        if !hours.time_zone.is_empty()
            && let Err(e) = hours.validate()
        {
            errs.0.extend(e.0);
        }
        let mut hours = hours;
        hours.holidays = hours.holidays.iter().map(|h| h.trim().to_string()).collect();
        hours.holidays.sort();
        hours.holidays.dedup();
        hours.week =
            hours.week.into_iter().map(|(d, p)| (d.trim().to_lowercase(), p.iter().map(|p| p.trim().to_string()).collect())).collect();
        errs.into_result(CalendarChanges {
            name,
            team_id: self.team_id.unwrap_or(before.and_then(|b| b.team_id)),
            is_default: self.is_default.or(before.map(|b| b.is_default)).unwrap_or(false),
            hours,
        })
    }
}

impl WorkCalendar {
    /// The calendar to compute with (stored calendars were checked when saved; one that no
    /// longer parses, say after a time zone left the database, counts round the clock).
    pub fn calendar(&self) -> Calendar {
        self.hours.validate().unwrap_or_else(|_| Calendar::always())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_calendar_needs_a_name_and_a_zone_and_names_each_bad_period() {
        let input: WorkCalendarInput = serde_json::from_value(serde_json::json!({
            "week": {"monday": ["09:00-12:00", "13:00-12:00"], "funday": []}, "holidays": ["2026-02-30"]
        }))
        .unwrap();
        let fields: Vec<String> = input.apply(None).unwrap_err().0.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["name", "time_zone"]);
        let input = WorkCalendarInput { name: Some("Berlin".into()), time_zone: Some("Mars/Olympus".into()), ..input };
        let fields: Vec<String> = input.apply(None).unwrap_err().0.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["time_zone", "week.funday", "week.monday[1]", "holidays[0]"]);
        let ok = WorkCalendarInput {
            name: Some(" Berlin ".into()),
            time_zone: Some("Europe/Berlin".into()),
            week: Some([("Monday".to_string(), vec![" 09:00-17:00".to_string()])].into()),
            holidays: Some(vec!["2026-12-25".into(), "2026-01-01".into(), "2026-12-25".into()]),
            ..WorkCalendarInput::default()
        };
        let c = ok.apply(None).unwrap();
        assert_eq!((c.name.as_str(), c.hours.holidays.clone()), ("Berlin", vec!["2026-01-01".to_string(), "2026-12-25".to_string()]));
        assert_eq!(c.hours.week["monday"], ["09:00-17:00"]);
    }
}
