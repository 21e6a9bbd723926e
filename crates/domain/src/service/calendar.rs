//! Working calendars: business hours in a time zone, with several periods a day and holidays,
//! and the arithmetic SLAs need — business seconds between two instants, and the instant a
//! number of business seconds after another falls on.
//!
//! Periods are wall-clock times in the calendar's zone, so across a daylight-saving change a
//! period lasts as long as the wall clock says: 01:00–04:00 on the night the clock jumps from
//! 02:00 to 03:00 holds two hours of work, on the night it falls back four. A wall time that
//! does not exist that night (02:30) starts or ends at the jump; one that exists twice is taken
//! at its first occurrence.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ValidationErrors;

/// Days a search for working time may look ahead before it decides the calendar has none.
const HORIZON_DAYS: i64 = 3 * 366;

/// The weekday names a calendar is written with, Monday first.
pub const WEEKDAYS: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

/// A working period of one day, in minutes after local midnight (`end` may be 1440, midnight at
/// the day's end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Period {
    /// First minute of work.
    pub start: u16,
    /// First minute after work.
    pub end: u16,
}

/// A team's working calendar.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    /// The zone the periods are wall-clock times in.
    pub zone: Tz,
    /// Each weekday's periods, Monday first, sorted and not overlapping.
    pub week: [Vec<Period>; 7],
    /// Local days without work.
    pub holidays: BTreeSet<NaiveDate>,
}

/// A calendar as a client writes it: `{"time_zone": "Europe/Berlin", "week": {"monday":
/// ["09:00-12:00", "13:00-17:30"], …}, "holidays": ["2026-12-25"]}`. Weekdays left out have no
/// working time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CalendarInput {
    /// An IANA time zone name such as `Europe/Berlin` or `America/New_York`.
    pub time_zone: String,
    /// Working periods per weekday (`monday` … `sunday`), each `HH:MM-HH:MM`, `24:00` allowed
    /// as an end.
    #[serde(default)]
    pub week: std::collections::BTreeMap<String, Vec<String>>,
    /// Days off, `YYYY-MM-DD`.
    #[serde(default)]
    pub holidays: Vec<String>,
}

fn minutes(raw: &str) -> Option<u16> {
    let (h, m) = raw.trim().split_once(':')?;
    if m.len() != 2 || h.is_empty() || h.len() > 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (m < 60 && h * 60 + m <= 1440).then_some(h * 60 + m)
}

fn parse_period(raw: &str) -> Result<Period, String> {
    let bad = || format!("'{raw}' is not a period written HH:MM-HH:MM");
    let (a, b) = raw.split_once('-').ok_or_else(bad)?;
    let (start, end) = (minutes(a).ok_or_else(bad)?, minutes(b).ok_or_else(bad)?);
    if start >= end {
        return Err(format!("'{raw}' ends before it starts"));
    }
    Ok(Period { start, end })
}

impl CalendarInput {
    /// The calendar, or every problem named by its field (`time_zone`, `week.monday[1]`,
    /// `holidays[0]`).
    pub fn validate(&self) -> Result<Calendar, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let zone = match self.time_zone.trim().parse::<Tz>() {
            Ok(z) => Some(z),
            Err(_) => {
                errs.add("time_zone", format!("'{}' is not an IANA time zone such as Europe/Berlin", self.time_zone));
                None
            }
        };
        let mut week: [Vec<Period>; 7] = Default::default();
        for (day, periods) in &self.week {
            let Some(i) = WEEKDAYS.iter().position(|d| d.eq_ignore_ascii_case(day.trim())) else {
                errs.add(format!("week.{day}"), "is not a weekday: use monday … sunday");
                continue;
            };
            for (k, raw) in periods.iter().enumerate() {
                if let Some(p) = errs.check(&format!("week.{}[{k}]", WEEKDAYS[i]), parse_period(raw)) {
                    week[i].push(p);
                }
            }
            week[i].sort();
            if let Some(w) = week[i].windows(2).find(|w| w[1].start < w[0].end) {
                let show = |p: &Period| format!("{:02}:{:02}-{:02}:{:02}", p.start / 60, p.start % 60, p.end / 60, p.end % 60);
                errs.add(format!("week.{}", WEEKDAYS[i]), format!("periods {} and {} overlap", show(&w[0]), show(&w[1])));
            }
        }
        let mut holidays = BTreeSet::new();
        for (k, raw) in self.holidays.iter().enumerate() {
            match NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d") {
                Ok(d) => {
                    holidays.insert(d);
                }
                Err(_) => errs.add(format!("holidays[{k}]"), format!("'{raw}' is not a date written YYYY-MM-DD")),
            }
        }
        match zone {
            Some(zone) if errs.0.is_empty() => Ok(Calendar { zone, week, holidays }),
            _ => Err(errs),
        }
    }
}

impl Calendar {
    /// Round the clock, every day: business time is plain elapsed time.
    pub fn always() -> Calendar {
        Calendar { zone: Tz::UTC, week: std::array::from_fn(|_| vec![Period { start: 0, end: 1440 }]), holidays: BTreeSet::new() }
    }

    /// The instant a wall-clock time of a local day falls on (see the module notes for the
    /// nights the clock changes).
    fn instant(&self, day: NaiveDate, minute: u16) -> DateTime<Utc> {
        let wall = |m: i64| -> NaiveDateTime { day.and_time(NaiveTime::MIN) + Duration::minutes(m) };
        let mut m = i64::from(minute);
        loop {
            match self.zone.from_local_datetime(&wall(m)) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => return t.with_timezone(&Utc),
                // Inside a jump forward: the first wall minute that exists is the jump itself.
                LocalResult::None => m += 1,
            }
        }
    }

    /// The working intervals of a local day, as instants (none on a holiday).
    fn intervals(&self, day: NaiveDate) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> + '_ {
        let periods: &[Period] = if self.holidays.contains(&day) { &[] } else { &self.week[day.weekday().num_days_from_monday() as usize] };
        periods.iter().map(move |p| (self.instant(day, p.start), self.instant(day, p.end))).filter(|(a, b)| a < b)
    }

    /// The working intervals of a local day (see [`super::business_time::CalendarSpan`]).
    pub(super) fn day_intervals(&self, day: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        self.intervals(day).collect()
    }

    fn local_day(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.zone).date_naive()
    }

    /// Business seconds in `[from, to)` (zero when `to` is not after `from`).
    pub fn business_seconds(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        if to <= from {
            return 0;
        }
        // A day's intervals may start before its local midnight in UTC terms; look one day to
        // each side.
        let (first, last) =
            (self.local_day(from).pred_opt().unwrap_or(NaiveDate::MIN), self.local_day(to).succ_opt().unwrap_or(NaiveDate::MAX));
        first
            .iter_days()
            .take_while(|d| *d <= last)
            .flat_map(|d| self.intervals(d).collect::<Vec<_>>())
            .map(|(a, b)| (b.min(to) - a.max(from)).num_seconds().max(0))
            .sum()
    }

    /// The instant at which `seconds` business seconds have passed since `from`, or `None`
    /// when the calendar has no working time within three years.
    pub fn add_business_seconds(&self, from: DateTime<Utc>, seconds: i64) -> Option<DateTime<Utc>> {
        if seconds <= 0 {
            return Some(from);
        }
        let mut left = seconds;
        let start = self.local_day(from).pred_opt()?;
        for day in start.iter_days().take(HORIZON_DAYS as usize) {
            for (a, b) in self.intervals(day) {
                if b <= from {
                    continue;
                }
                let a = a.max(from);
                let available = (b - a).num_seconds();
                if left <= available {
                    return Some(a + Duration::seconds(left));
                }
                left -= available;
            }
        }
        None
    }
}

#[cfg(test)]
#[path = "calendar_tests.rs"]
mod tests;
