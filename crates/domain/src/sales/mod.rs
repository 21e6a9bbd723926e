//! Sales (issue 9): products and orders, pipelines and opportunities, lead status and
//! conversion, activities, targets and the sales reports.
//!
//! Every record type follows the same shape: `XData` holds the validated fields, `XInput` is
//! what a client sends (absent keeps, `null` clears) and its `apply` merges it onto the current
//! data, collecting every problem with its field; `X` is the record as the API returns it. Facts
//! that validation needs from elsewhere (a product's price, a pipeline's stages, the time) come
//! in as plain arguments, so nothing here does I/O.
//!
//! Two kinds of "no" leave this module, and they answer differently:
//! - [`ValidationErrors`]: the input is wrong, field by field (HTTP 422);
//! - [`Refused`]: the input is well formed but the record's state does not allow it now (a won
//!   deal moved without reopening, a lead converted twice, lines edited on a paid order), with
//!   the actions that are allowed instead (HTTP 409).
//!
//! Types whose `apply` can meet both return [`Rejected`], which is either.
//!
//! Money is always an `i64` count of minor units plus an ISO 4217 code (see [`money`]); every
//! amount is kept within [`money::MAX_MINOR`] (2^53 − 1), so JavaScript clients read it exactly.

use std::fmt;

use serde::Serialize;

use crate::ValidationErrors;
use crate::values::bounded_text;

pub mod activity;
pub mod lead;
pub mod money;
pub mod opportunity;
pub mod order;
pub mod pipeline;
pub mod product;
pub mod report;
pub mod target;
pub mod web_lead;

/// A state machine's refusal: the action is not possible in the record's current state. It
/// names what was tried, the state, and the actions that are allowed now, so a client (or a
/// person reading the 409) knows the way forward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refused {
    /// The kind of record: `opportunity`, `order`, `lead`.
    pub object: &'static str,
    /// What was tried: `move`, `confirm`, `convert`, `edit`…
    pub action: &'static str,
    /// The state the record is in: `won`, `paid`, `qualified`…
    pub state: &'static str,
    /// The actions allowed in that state (empty when the state is final).
    pub allowed: Vec<&'static str>,
    /// The input field the refusal is about, when one is (`stage`, `lines`, `lead_status`).
    pub field: Option<&'static str>,
    /// Why, as one sentence without the allowed actions ("a won opportunity must be reopened
    /// before it moves").
    pub reason: String,
}

impl Refused {
    /// A refusal of `action` on an `object` in `state`.
    pub fn new(
        object: &'static str,
        action: &'static str,
        state: &'static str,
        allowed: Vec<&'static str>,
        reason: impl Into<String>,
    ) -> Refused {
        Refused { object, action, state, allowed, field: None, reason: reason.into() }
    }

    /// The same refusal, about `field` of the input.
    pub fn on_field(mut self, field: &'static str) -> Refused {
        self.field = Some(field);
        self
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.allowed.is_empty() {
            write!(f, "{}: no action is allowed now", self.reason)
        } else {
            write!(f, "{}: allowed now: {}", self.reason, self.allowed.join(", "))
        }
    }
}

impl std::error::Error for Refused {}

/// Why an input was not applied: wrong fields (422) or a state that does not allow it (409).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Rejected {
    /// The input is wrong; every problem is named with its field.
    #[error("{0}")]
    Invalid(#[from] ValidationErrors),
    /// The record's state does not allow the change now.
    #[error("{0}")]
    Refused(#[from] Refused),
}

impl Rejected {
    /// The field errors, if this is [`Rejected::Invalid`].
    pub fn invalid(&self) -> Option<&ValidationErrors> {
        match self {
            Rejected::Invalid(e) => Some(e),
            Rejected::Refused(_) => None,
        }
    }

    /// The refusal, if this is [`Rejected::Refused`].
    pub fn refused(&self) -> Option<&Refused> {
        match self {
            Rejected::Refused(r) => Some(r),
            Rejected::Invalid(_) => None,
        }
    }
}

/// Parses a calendar day written `YYYY-MM-DD` (surrounding spaces allowed) into that canonical
/// form.
pub fn parse_day(raw: &str) -> Result<String, String> {
    chrono::NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map(|d| d.format("%Y-%m-%d").to_string())
        .map_err(|_| format!("'{raw}' is not a date written YYYY-MM-DD"))
}

/// A stored RFC 3339 time as a UTC instant.
pub(crate) fn instant(stored: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(stored.trim()).ok().map(|t| t.with_timezone(&chrono::Utc))
}

/// The UTC calendar day of a stored time or day (`2026-03-10T23:30:00Z` → 2026-03-10), for
/// rules that count in days.
pub(crate) fn utc_day(stored: &str) -> Option<chrono::NaiveDate> {
    let t = crate::query::parse_time(stored.trim()).ok()?;
    chrono::NaiveDate::parse_from_str(t.get(..10)?, "%Y-%m-%d").ok()
}

/// Applies a nullable day field: absent keeps, null clears, a value must be `YYYY-MM-DD`.
pub(crate) fn apply_day(errs: &mut ValidationErrors, field: &str, input: Option<Option<String>>, target: &mut Option<String>) {
    if let Some(v) = input {
        *target = v.filter(|s| !s.trim().is_empty()).and_then(|s| errs.check(field, parse_day(&s)));
    }
}

/// Applies a nullable time field: absent keeps, null clears, a value is a day or an RFC 3339
/// time, stored as canonical UTC text.
pub(crate) fn apply_time(errs: &mut ValidationErrors, field: &str, input: Option<Option<String>>, target: &mut Option<String>) {
    if let Some(v) = input {
        *target = v.filter(|s| !s.trim().is_empty()).and_then(|s| errs.check(field, crate::query::parse_time(s.trim())));
    }
}

/// Applies a currency code: required when creating, validated against ISO 4217, upper-cased.
pub(crate) fn apply_currency(errs: &mut ValidationErrors, field: &str, input: Option<String>, creating: bool, target: &mut String) {
    match input {
        Some(c) => {
            if let Some(c) = errs.check(field, money::Currency::parse(&c)) {
                *target = c.code().to_string();
            }
        }
        None if creating => errs.add(field, "is required: an ISO 4217 code such as USD or EUR"),
        None => {}
    }
}

/// Applies an amount in minor units: not negative and at most [`money::MAX_MINOR`].
pub(crate) fn apply_amount(errs: &mut ValidationErrors, field: &str, input: Option<i64>, target: &mut i64) {
    if let Some(a) = input {
        match money::check_amount(a) {
            Ok(a) => *target = a,
            Err(m) => errs.add(field, m),
        }
    }
}

/// Validates required free text that must not be empty (1 to `max` characters).
pub(crate) fn required_text(raw: &str, max: usize) -> Result<String, String> {
    match bounded_text(raw, max)? {
        Some(t) => Ok(t),
        None => Err("cannot be empty".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_allowed_actions_or_say_the_state_is_final() {
        let r = Refused::new("opportunity", "move", "won", vec!["reopen"], "a won opportunity must be reopened before it moves");
        assert_eq!(r.to_string(), "a won opportunity must be reopened before it moves: allowed now: reopen");
        let r = Refused::new("order", "cancel", "shipped", vec![], "a shipped order cannot be cancelled");
        assert_eq!(r.to_string(), "a shipped order cannot be cancelled: no action is allowed now");
        assert_eq!(r.clone().on_field("status").field, Some("status"));
        let rejected: Rejected = r.clone().into();
        assert_eq!(rejected.refused(), Some(&r));
        assert!(rejected.invalid().is_none());
    }

    #[test]
    fn days_and_times_are_canonical() {
        assert_eq!(parse_day(" 2026-03-01 ").unwrap(), "2026-03-01");
        for bad in ["2026-02-30", "03/01/2026", "2026-3-1x", ""] {
            assert!(parse_day(bad).is_err(), "{bad}");
        }
        assert_eq!(utc_day("2026-03-10T23:30:00-02:00"), chrono::NaiveDate::from_ymd_opt(2026, 3, 11));
        assert_eq!(utc_day("2026-03-10"), chrono::NaiveDate::from_ymd_opt(2026, 3, 10));
        assert_eq!(utc_day("soon"), None);
        let mut errs = ValidationErrors::default();
        let mut t = None;
        apply_time(&mut errs, "at", Some(Some("2026-03-10T10:00:00+01:00".into())), &mut t);
        assert_eq!(t.as_deref(), Some("2026-03-10T09:00:00.000000Z"));
        apply_time(&mut errs, "at", None, &mut t);
        assert!(t.is_some(), "absent keeps");
        apply_time(&mut errs, "at", Some(None), &mut t);
        assert_eq!(t, None, "null clears");
        apply_time(&mut errs, "at", Some(Some("later".into())), &mut t);
        assert_eq!(errs.0[0].field, "at");
    }
}
