//! Business time over a span of days computed once: the breach job evaluates every open ticket
//! on the few calendars there are, so each calendar's working intervals over the days the
//! tickets span are laid out once, with running totals, and each question is then two binary
//! searches instead of a walk over the days with time-zone conversions.

use chrono::{DateTime, NaiveDate, Utc};

use super::calendar::Calendar;

/// What the SLA clocks ask of a calendar.
pub trait BusinessTime {
    /// Business seconds in `[from, to)` (zero when `to` is not after `from`).
    fn business_seconds(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64;
    /// The instant `seconds` business seconds after `from`, or `None` without working time
    /// ahead.
    fn add_business_seconds(&self, from: DateTime<Utc>, seconds: i64) -> Option<DateTime<Utc>>;
}

impl BusinessTime for Calendar {
    fn business_seconds(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        Calendar::business_seconds(self, from, to)
    }
    fn add_business_seconds(&self, from: DateTime<Utc>, seconds: i64) -> Option<DateTime<Utc>> {
        Calendar::add_business_seconds(self, from, seconds)
    }
}

/// A calendar's working intervals between two instants, as Unix seconds with the business
/// seconds before each, answering exactly as the [`Calendar`] does inside that span and asking
/// the calendar itself outside it.
#[derive(Debug, Clone)]
pub struct CalendarSpan {
    calendar: Calendar,
    lo: i64,
    hi: i64,
    /// (start, end, business seconds before start), in time order.
    intervals: Vec<(i64, i64, i64)>,
}

impl CalendarSpan {
    /// Lays out `calendar` over `[from, to]`.
    pub fn new(calendar: Calendar, from: DateTime<Utc>, to: DateTime<Utc>) -> CalendarSpan {
        let (lo, hi) = (from.timestamp(), to.timestamp().max(from.timestamp()));
        let mut intervals = Vec::new();
        let mut before = 0;
        let first = from.date_naive().pred_opt().and_then(|d| d.pred_opt()).unwrap_or(NaiveDate::MIN);
        let last = to.date_naive().succ_opt().and_then(|d| d.succ_opt()).unwrap_or(NaiveDate::MAX);
        for day in first.iter_days().take_while(|d| *d <= last) {
            for (a, b) in calendar.day_intervals(day) {
                let (a, b) = (a.timestamp().max(lo), b.timestamp().min(hi));
                if a < b {
                    intervals.push((a, b, before));
                    before += b - a;
                }
            }
        }
        CalendarSpan { calendar, lo, hi, intervals }
    }

    /// Business seconds in `[lo, t)`, for `t` inside the span.
    fn before(&self, t: i64) -> i64 {
        // The last interval starting at or before t.
        let k = self.intervals.partition_point(|(a, _, _)| *a <= t);
        match k.checked_sub(1).map(|k| self.intervals[k]) {
            Some((a, b, before)) => before + (t.min(b) - a),
            None => 0,
        }
    }

    fn inside(&self, t: DateTime<Utc>) -> bool {
        (self.lo..=self.hi).contains(&t.timestamp())
    }
}

fn instant(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl BusinessTime for CalendarSpan {
    fn business_seconds(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        if to <= from {
            return 0;
        }
        if !self.inside(from) || !self.inside(to) || from.timestamp_subsec_nanos() != 0 || to.timestamp_subsec_nanos() != 0 {
            return self.calendar.business_seconds(from, to);
        }
        self.before(to.timestamp()) - self.before(from.timestamp())
    }

    fn add_business_seconds(&self, from: DateTime<Utc>, seconds: i64) -> Option<DateTime<Utc>> {
        if seconds <= 0 {
            return Some(from);
        }
        if !self.inside(from) || from.timestamp_subsec_nanos() != 0 {
            return self.calendar.add_business_seconds(from, seconds);
        }
        let goal = self.before(from.timestamp()) + seconds;
        // The first interval whose end holds the goal.
        let k = self.intervals.partition_point(|(a, b, before)| before + (b - a) < goal);
        match self.intervals.get(k) {
            Some((a, _, before)) => Some(instant(a + (goal - before))),
            // Past the span: carry on from its end with what is left.
            None => {
                let used = self.intervals.last().map_or(0, |(a, b, before)| before + (b - a)) - self.before(from.timestamp());
                self.calendar.add_business_seconds(instant(self.hi), seconds - used)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::service::calendar::CalendarInput;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// Berlin office hours in two periods with a holiday, across the October clock change.
    fn berlin() -> Calendar {
        let day = vec!["08:00-12:00".to_string(), "13:00-17:30".to_string()];
        let week = ["monday", "tuesday", "wednesday", "thursday", "friday"].iter().map(|d| (d.to_string(), day.clone())).collect();
        CalendarInput { time_zone: "Europe/Berlin".into(), week, holidays: vec!["2026-10-28".into()] }.validate().unwrap()
    }

    #[test]
    fn a_span_answers_as_its_calendar_does() {
        let c = berlin();
        let (from, to) = (at("2026-10-20T00:00:00Z"), at("2026-11-10T00:00:00Z"));
        let span = CalendarSpan::new(c.clone(), from, to);
        let points: Vec<DateTime<Utc>> = (0..200).map(|k| from + Duration::seconds(k * 9_173)).collect();
        for (i, a) in points.iter().enumerate() {
            for b in points.iter().skip(i).step_by(7) {
                assert_eq!(span.business_seconds(*a, *b), c.business_seconds(*a, *b), "{a} → {b}");
            }
            for s in [1, 3_600, 30_600, 100_000, 2_000_000] {
                assert_eq!(span.add_business_seconds(*a, s), c.add_business_seconds(*a, s), "{a} + {s}");
            }
        }
        // Outside the span it asks the calendar.
        let early = at("2026-10-01T09:00:00Z");
        assert_eq!(span.business_seconds(early, at("2026-10-21T09:00:00Z")), c.business_seconds(early, at("2026-10-21T09:00:00Z")));
    }
}
