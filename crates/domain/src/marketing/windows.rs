//! Sending at the recipient's local time (issue 12 §3): a campaign's sending may name a local
//! start time (`09:00 on 1 December` wherever each recipient is) and sending windows (Mon–Fri
//! 09:00–17:00 local); each mail is held until the first instant, in its recipient's time
//! zone, that is at or after the local start and inside a window.
//!
//! Decisions where the issue is silent:
//! - The recipient's zone is the person's custom field `time_zone`, else their company's
//!   custom field `time_zone`, else the sending's `time_zone`, else UTC; a value that is not an
//!   IANA zone is passed over.
//! - A window's end is after its start on the same day (no windows across midnight); several
//!   days share one start and end.
//! - A local time that does not exist (the hour skipped when clocks go forward) is read as
//!   the same wall time an hour later; one that exists twice (clocks going back) as the first.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ValidationErrors;

/// The days' names, Monday first.
pub const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Sending windows as a client writes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowInput {
    /// The days mail may go out: `mon` … `sun`.
    pub days: Vec<String>,
    /// Local opening time, `HH:MM`.
    pub start: String,
    /// Local closing time, `HH:MM`, after `start`.
    pub end: String,
}

/// Checked sending windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    days: [bool; 7],
    start: NaiveTime,
    end: NaiveTime,
}

fn hm(s: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M").ok()
}

impl WindowInput {
    /// The windows, or every problem named under `field` (`window.days[2]`, `window.end`).
    pub fn parse(&self, field: &str, errs: &mut ValidationErrors) -> Option<Window> {
        let mut days = [false; 7];
        if self.days.is_empty() {
            errs.add(format!("{field}.days"), "name at least one day: mon, tue, wed, thu, fri, sat or sun");
        }
        for (i, d) in self.days.iter().enumerate() {
            match DAYS.iter().position(|x| x.eq_ignore_ascii_case(d.trim())) {
                Some(p) => days[p] = true,
                None => errs.add(format!("{field}.days[{i}]"), "use mon, tue, wed, thu, fri, sat or sun"),
            }
        }
        let start = hm(&self.start);
        if start.is_none() {
            errs.add(format!("{field}.start"), "must be a time such as 09:00");
        }
        let end = hm(&self.end);
        match (start, end) {
            (_, None) => errs.add(format!("{field}.end"), "must be a time such as 17:00"),
            (Some(s), Some(e)) if e <= s => errs.add(format!("{field}.end"), "must be after the start on the same day"),
            _ => {}
        }
        match (start, end) {
            (Some(start), Some(end)) if end > start && days.iter().any(|d| *d) => Some(Window { days, start, end }),
            _ => None,
        }
    }
}

impl Window {
    /// The input these windows come from (as stored).
    pub fn input(&self) -> WindowInput {
        WindowInput {
            days: DAYS.iter().zip(self.days).filter(|(_, on)| *on).map(|(d, _)| d.to_string()).collect(),
            start: self.start.format("%H:%M").to_string(),
            end: self.end.format("%H:%M").to_string(),
        }
    }

    fn open_on(&self, day: Weekday) -> bool {
        self.days[day.num_days_from_monday() as usize]
    }

    /// The first instant at or after `t` that is inside a window in `zone`.
    pub fn next_open(&self, zone: Tz, t: DateTime<Utc>) -> DateTime<Utc> {
        let today = t.with_timezone(&zone).date_naive();
        for d in 0..8 {
            let day: NaiveDate = today + Duration::days(d);
            if !self.open_on(day.weekday()) {
                continue;
            }
            let open = utc_of(zone, day.and_time(self.start));
            let close = utc_of(zone, day.and_time(self.end));
            if t < close {
                return t.max(open);
            }
        }
        t
    }
}

/// The instant of wall time `local` in `zone` (a skipped time an hour later, a repeated one
/// the first time).
pub fn utc_of(zone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    for shift in 0..3 {
        let l = local + Duration::hours(shift);
        if let Some(t) = zone.from_local_datetime(&l).earliest() {
            return t.with_timezone(&Utc);
        }
    }
    Utc.from_utc_datetime(&local)
}

/// A zone name, when it is an IANA zone.
pub fn zone(name: Option<&str>) -> Option<Tz> {
    name.and_then(|n| n.trim().parse::<Tz>().ok())
}

/// When a mail to someone in `zone` may go out: not before `not_before`, not before the local
/// start `local_start` (a wall time in their zone) and inside `window`.
pub fn release_at(zone: Tz, local_start: Option<NaiveDateTime>, window: Option<&Window>, not_before: DateTime<Utc>) -> DateTime<Utc> {
    let mut t = not_before;
    if let Some(l) = local_start {
        t = t.max(utc_of(zone, l));
    }
    match window {
        Some(w) => w.next_open(zone, t),
        None => t,
    }
}

/// Parses a local start time, `YYYY-MM-DDTHH:MM` (seconds allowed), without a zone.
pub fn parse_local(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn office() -> Window {
        let input = WindowInput { days: DAYS[..5].iter().map(|d| d.to_string()).collect(), start: "09:00".into(), end: "17:00".into() };
        input.parse("window", &mut ValidationErrors::default()).unwrap()
    }

    #[test]
    fn windows_are_checked_by_field() {
        let mut e = ValidationErrors::default();
        let w = WindowInput { days: vec!["mon".into(), "funday".into()], start: "9".into(), end: "08:00".into() }.parse("window", &mut e);
        assert!(w.is_none());
        let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["window.days[1]", "window.start"]);
        let mut e = ValidationErrors::default();
        WindowInput { days: vec!["sat".into()], start: "10:00".into(), end: "09:00".into() }.parse("window", &mut e);
        assert_eq!(e.0[0].field, "window.end");
        assert_eq!(office().input().days, ["mon", "tue", "wed", "thu", "fri"]);
    }

    #[test]
    fn a_mail_outside_the_window_waits_for_the_next_opening_in_the_recipients_zone() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let w = office();
        // Friday 2026-11-27 18:30 in Berlin (17:30 UTC) → Monday 09:00 Berlin = 08:00 UTC.
        assert_eq!(w.next_open(berlin, utc("2026-11-27T17:30:00Z")), utc("2026-11-30T08:00:00Z"));
        // Inside the window: at once.
        assert_eq!(w.next_open(berlin, utc("2026-11-30T10:00:00Z")), utc("2026-11-30T10:00:00Z"));
        // Before opening on a weekday: that morning.
        assert_eq!(w.next_open(berlin, utc("2026-12-01T05:00:00Z")), utc("2026-12-01T08:00:00Z"));
        // The same instant in New York (Friday 12:30 local) is inside its window.
        let ny: Tz = "America/New_York".parse().unwrap();
        assert_eq!(w.next_open(ny, utc("2026-11-27T17:30:00Z")), utc("2026-11-27T17:30:00Z"));
    }

    #[test]
    fn a_local_start_follows_daylight_saving_time() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let start = parse_local("2026-03-27T09:00").unwrap();
        // Friday 27 March 2026 09:00 in Berlin is CET (UTC+1): 08:00 UTC.
        assert_eq!(release_at(berlin, Some(start), None, utc("2026-03-01T00:00:00Z")), utc("2026-03-27T08:00:00Z"));
        // Clocks go forward on Sunday 29 March: the window's Monday opening is 09:00 CEST = 07:00 UTC.
        assert_eq!(office().next_open(berlin, utc("2026-03-27T16:30:00Z")), utc("2026-03-30T07:00:00Z"));
        // 02:30 on 29 March does not exist in Berlin: read as 03:30 CEST = 01:30 UTC.
        assert_eq!(utc_of(berlin, parse_local("2026-03-29T02:30").unwrap()), utc("2026-03-29T01:30:00Z"));
        // 02:30 on 25 October exists twice: the first (CEST) = 00:30 UTC.
        assert_eq!(utc_of(berlin, parse_local("2026-10-25T02:30").unwrap()), utc("2026-10-25T00:30:00Z"));
        // A start already past waits for nothing; a later `not_before` wins.
        assert_eq!(release_at(berlin, Some(start), None, utc("2026-04-01T10:00:00Z")), utc("2026-04-01T10:00:00Z"));
        // In Sydney the same local 09:00 comes first (AEDT, UTC+11): 22:00 UTC the day before.
        let sydney: Tz = "Australia/Sydney".parse().unwrap();
        assert_eq!(release_at(sydney, Some(start), Some(&office()), utc("2026-03-01T00:00:00Z")), utc("2026-03-26T22:00:00Z"));
    }
}
