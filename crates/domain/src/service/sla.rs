//! SLA clocks: how much of a target's business time a ticket has used, given the states it went
//! through, and where it stands now.
//!
//! A target (first response, next response, resolution) measures from a start (the ticket's
//! creation, or the customer message awaiting an answer) to a stop (the agent's reply, the
//! resolution), counting only business time ([`super::calendar::Calendar`]) spent in states whose clock runs
//! ([`TicketState::sla_clock_runs`]): waiting for the customer pauses it.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::business_time::BusinessTime;
use super::workflow::TicketState;

/// The ticket entered `state` at `at`. A history is these in time order, the first one the
/// ticket's creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// When.
    pub at: DateTime<Utc>,
    /// The state entered.
    pub state: TicketState,
}

/// Where one target stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Standing {
    /// Running, due at `due`, with more than the warning margin left.
    Running {
        /// When the target falls due if the clock keeps running.
        due: DateTime<Utc>,
    },
    /// Running with at most the warning margin left.
    NearBreach {
        /// When the target falls due.
        due: DateTime<Utc>,
    },
    /// Past the target and not yet met.
    Breached {
        /// Business seconds over the target.
        over_seconds: i64,
    },
    /// The clock is paused (waiting for the customer) with time left.
    Paused {
        /// Business seconds left.
        left_seconds: i64,
    },
    /// Met in time.
    Met {
        /// Business seconds it took.
        seconds: i64,
    },
    /// Met late.
    Missed {
        /// Business seconds over the target.
        over_seconds: i64,
    },
}

impl Standing {
    /// Whether the target was or is being missed.
    pub fn is_breach(self) -> bool {
        matches!(self, Standing::Breached { .. } | Standing::Missed { .. })
    }
}

/// Business seconds the clock ran within `[from, to)`.
pub fn elapsed(calendar: &impl BusinessTime, history: &[Change], from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    history
        .iter()
        .enumerate()
        .filter(|(_, c)| c.state.sla_clock_runs())
        .map(|(i, c)| {
            let end = history.get(i + 1).map_or(to, |n| n.at.min(to));
            calendar.business_seconds(c.at.max(from), end)
        })
        .sum()
}

/// A target of `target_seconds` business seconds measured from `from` and met at `stop` (if it
/// was), evaluated at `now`; `warn_seconds` is the margin that counts as near breach.
pub fn standing(
    calendar: &impl BusinessTime,
    history: &[Change],
    from: DateTime<Utc>,
    stop: Option<DateTime<Utc>>,
    target_seconds: i64,
    warn_seconds: i64,
    now: DateTime<Utc>,
) -> Standing {
    let used = elapsed(calendar, history, from, stop.unwrap_or(now));
    let left = target_seconds - used;
    if stop.is_some() {
        return if left >= 0 { Standing::Met { seconds: used } } else { Standing::Missed { over_seconds: -left } };
    }
    if left < 0 {
        return Standing::Breached { over_seconds: -left };
    }
    let running = history.iter().rev().find(|c| c.at <= now).is_some_and(|c| c.state.sla_clock_runs());
    if !running {
        return Standing::Paused { left_seconds: left };
    }
    match calendar.add_business_seconds(now, left) {
        Some(due) if left <= warn_seconds => Standing::NearBreach { due },
        Some(due) => Standing::Running { due },
        // No working time ahead: the target can never be met.
        None => Standing::Breached { over_seconds: 0 },
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::service::calendar::{Calendar, Period};

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// Monday to Friday, 09:00–17:00 UTC.
    fn office() -> Calendar {
        let day = vec![Period { start: 9 * 60, end: 17 * 60 }];
        Calendar {
            zone: chrono_tz::Tz::UTC,
            week: [day.clone(), day.clone(), day.clone(), day.clone(), day, vec![], vec![]],
            holidays: BTreeSet::new(),
        }
    }

    fn history(changes: &[(&str, TicketState)]) -> Vec<Change> {
        changes.iter().map(|(t, s)| Change { at: at(t), state: *s }).collect()
    }

    const H: i64 = 3600;

    /// Opened Monday 7 December 10:00, waiting for the customer Monday 12:00 to Tuesday 10:00,
    /// resolved Tuesday 15:00: two hours on Monday and five on Tuesday count.
    fn worked() -> Vec<Change> {
        use TicketState::*;
        history(&[
            ("2026-12-07T10:00:00Z", New),
            ("2026-12-07T10:30:00Z", Assigned),
            ("2026-12-07T11:00:00Z", InProgress),
            ("2026-12-07T12:00:00Z", WaitingOnCustomer),
            ("2026-12-08T10:00:00Z", InProgress),
            ("2026-12-08T15:00:00Z", Resolved),
        ])
    }

    #[test]
    fn waiting_for_the_customer_and_resolved_time_do_not_count() {
        let h = worked();
        let c = office();
        assert_eq!(elapsed(&c, &h, h[0].at, at("2026-12-09T12:00:00Z")), 7 * H);
        let done = Some(at("2026-12-08T15:00:00Z"));
        assert_eq!(standing(&c, &h, h[0].at, done, 8 * H, H, at("2026-12-10T00:00:00Z")), Standing::Met { seconds: 7 * H });
        assert_eq!(standing(&c, &h, h[0].at, done, 6 * H, H, at("2026-12-10T00:00:00Z")), Standing::Missed { over_seconds: H });
    }

    #[test]
    fn an_open_target_is_running_near_breach_breached_or_paused() {
        let h = &worked()[..5]; // still in progress since Tuesday 10:00
        let c = office();
        let from = h[0].at;
        // Tuesday 11:00: 2 + 1 hours used of 8; 5 left → due Tuesday 16:00.
        assert_eq!(
            standing(&c, h, from, None, 8 * H, H, at("2026-12-08T11:00:00Z")),
            Standing::Running { due: at("2026-12-08T16:00:00Z") }
        );
        // Tuesday 15:30: 7.5 used, 30 minutes left, within the hour's warning.
        assert_eq!(
            standing(&c, h, from, None, 8 * H, H, at("2026-12-08T15:30:00Z")),
            Standing::NearBreach { due: at("2026-12-08T16:00:00Z") }
        );
        // Wednesday 10:00: 2 + 7 + 1 = 10 used of 8.
        assert_eq!(standing(&c, h, from, None, 8 * H, H, at("2026-12-09T10:00:00Z")), Standing::Breached { over_seconds: 2 * H });
        // Monday 15:00, while waiting on the customer: paused with 6 hours left.
        assert_eq!(standing(&c, &h[..4], from, None, 8 * H, H, at("2026-12-07T15:00:00Z")), Standing::Paused { left_seconds: 6 * H });
    }

    #[test]
    fn a_next_response_target_measures_from_the_customer_message_it_answers() {
        let h = worked();
        // The customer wrote Tuesday 10:00; measured from then, the answer at 11:30 took 1.5 h.
        let s = standing(&office(), &h, at("2026-12-08T10:00:00Z"), Some(at("2026-12-08T11:30:00Z")), 2 * H, 0, at("2026-12-08T12:00:00Z"));
        assert_eq!(s, Standing::Met { seconds: 3 * H / 2 });
        assert!(!s.is_breach());
        assert!(Standing::Missed { over_seconds: 1 }.is_breach());
    }

    #[test]
    fn without_working_time_ahead_the_target_is_breached() {
        let none = Calendar { zone: chrono_tz::Tz::UTC, week: Default::default(), holidays: BTreeSet::new() };
        let h = history(&[("2026-12-07T10:00:00Z", TicketState::New)]);
        assert_eq!(standing(&none, &h, h[0].at, None, H, 0, at("2026-12-07T11:00:00Z")), Standing::Breached { over_seconds: 0 });
    }
}
