//! Satisfaction surveys (issue 11 §8): when a ticket is resolved the customer gets a link; on
//! it they rate the help (CSAT 1–5, optionally NPS 0–10 and a comment) and either confirm the
//! resolution (the ticket closes) or reopen it.
//!
//! Decisions where the issue is silent:
//! - One survey per ticket, made at its first resolution; a ticket resolved again keeps the
//!   same link, and an answer given after that replaces the earlier one (so every ticket counts
//!   once in the reports, with the customer's latest word).
//! - The rating is credited to the agent whose public reply was the last before the answer,
//!   or to the assignee when no agent replied publicly.
//! - A rating is "satisfied" at 4 or 5, the usual CSAT convention.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::workflow::{TicketAction, TicketState};
use crate::ValidationErrors;
use crate::values::bounded_text;

/// The lowest CSAT rating counted as satisfied.
pub const SATISFIED_FROM: u8 = 4;

/// The longest survey comment kept, in characters.
pub const MAX_COMMENT: usize = 5_000;

/// What the customer decides about the resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The problem is solved: the ticket closes.
    Confirm,
    /// It is not: the ticket reopens.
    Reopen,
}

impl Decision {
    /// Name as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Confirm => "confirm",
            Decision::Reopen => "reopen",
        }
    }

    /// Parses a stored or sent name.
    pub fn parse(s: &str) -> Option<Decision> {
        [Decision::Confirm, Decision::Reopen].into_iter().find(|d| d.as_str() == s)
    }

    /// The workflow action the decision takes on a resolved ticket.
    pub fn action(self) -> TicketAction {
        match self {
            Decision::Confirm => TicketAction::Confirm,
            Decision::Reopen => TicketAction::Reopen,
        }
    }

    /// Whether a ticket in `status` already stands where this decision put it (an answer
    /// changed after the first one then leaves the status alone).
    pub fn reflected_in(self, status: TicketState) -> bool {
        match self {
            Decision::Confirm => status == TicketState::Closed,
            Decision::Reopen => status.is_open() && status != TicketState::Resolved,
        }
    }
}

/// What the survey form sends (all as text: it is an HTML form).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct SurveyInput {
    /// 1 (very unsatisfied) to 5 (very satisfied); required.
    pub csat: Option<String>,
    /// How likely they are to recommend us, 0 to 10; optional.
    pub nps: Option<String>,
    /// Free text, up to 5,000 characters.
    pub comment: Option<String>,
    /// `confirm` or `reopen`; required.
    pub decision: Option<String>,
}

/// A valid answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SurveyAnswer {
    /// 1 to 5.
    pub csat: u8,
    /// 0 to 10, when given.
    pub nps: Option<u8>,
    /// The comment, when given.
    pub comment: Option<String>,
    /// Confirm or reopen.
    pub decision: Decision,
}

fn score(errs: &mut ValidationErrors, field: &str, raw: Option<&str>, lo: u8, hi: u8, required: bool) -> Option<u8> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None if required => {
            errs.add(field, format!("is required: a rating from {lo} to {hi}"));
            None
        }
        None => None,
        Some(s) => match s.parse::<u8>() {
            Ok(n) if (lo..=hi).contains(&n) => Some(n),
            _ => {
                errs.add(field, format!("must be a whole number from {lo} to {hi}"));
                None
            }
        },
    }
}

impl SurveyInput {
    /// Validates the answer, naming every wrong field.
    pub fn apply(&self) -> Result<SurveyAnswer, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let csat = score(&mut errs, "csat", self.csat.as_deref(), 1, 5, true);
        let nps = score(&mut errs, "nps", self.nps.as_deref(), 0, 10, false);
        let comment = match self.comment.as_deref().map(|c| bounded_text(c, MAX_COMMENT)) {
            Some(Ok(c)) => c,
            Some(Err(m)) => {
                errs.add("comment", m);
                None
            }
            None => None,
        };
        let decision = match self.decision.as_deref().map(str::trim) {
            Some(d) if !d.is_empty() => Decision::parse(d).or_else(|| {
                errs.add("decision", "must be confirm or reopen");
                None
            }),
            _ => {
                errs.add("decision", "is required: confirm the resolution or reopen the ticket");
                None
            }
        };
        match (csat, decision) {
            (Some(csat), Some(decision)) if errs.0.is_empty() => Ok(SurveyAnswer { csat, nps, comment, decision }),
            _ => Err(errs),
        }
    }
}

/// A ticket's survey as agents read it (`GET /tickets/{id}/survey`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SurveyResponse {
    /// The ticket.
    pub ticket_id: i64,
    /// When the survey was made (the ticket's first resolution).
    pub created_at: String,
    /// The current answer, when the customer gave one.
    pub answer: Option<SurveyAnswer>,
    /// The agent credited with the rating.
    pub agent_id: Option<i64>,
    /// When the current answer was given.
    pub answered_at: Option<String>,
    /// How many times the customer answered (a later answer replaces the earlier one).
    pub answers: i64,
}

/// What the survey page shows the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PublicSurveyView {
    /// The ticket's number.
    pub ticket_id: i64,
    /// Its subject.
    pub subject: String,
    /// Where it stands.
    pub status: TicketState,
    /// Their earlier answer, to change.
    pub answer: Option<SurveyAnswer>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(csat: &str, nps: &str, decision: &str) -> SurveyInput {
        SurveyInput { csat: Some(csat.into()), nps: Some(nps.into()), comment: Some("  ".into()), decision: Some(decision.into()) }
    }

    #[test]
    fn an_answer_names_every_wrong_field() {
        let fields = |i: SurveyInput| i.apply().unwrap_err().0.into_iter().map(|e| e.field).collect::<Vec<_>>();
        assert_eq!(fields(SurveyInput::default()), ["csat", "decision"]);
        assert_eq!(fields(input("0", "11", "maybe")), ["csat", "nps", "decision"]);
        assert_eq!(fields(input("6", "x", "confirm")), ["csat", "nps"]);
        assert_eq!(fields(input("4.5", "", "reopen")), ["csat"]);
        let ok = input(" 5 ", "", "reopen").apply().unwrap();
        assert_eq!(ok, SurveyAnswer { csat: 5, nps: None, comment: None, decision: Decision::Reopen });
        assert_eq!(input("1", "0", "confirm").apply().unwrap().nps, Some(0));
        let long = SurveyInput { comment: Some("x".repeat(MAX_COMMENT + 1)), ..input("3", "7", "confirm") };
        assert_eq!(fields(long), ["comment"]);
    }

    #[test]
    fn a_decision_knows_where_it_leaves_a_ticket() {
        assert_eq!(Decision::Confirm.action(), TicketAction::Confirm);
        assert!(Decision::Confirm.reflected_in(TicketState::Closed) && !Decision::Confirm.reflected_in(TicketState::Resolved));
        assert!(Decision::Reopen.reflected_in(TicketState::Reopened) && Decision::Reopen.reflected_in(TicketState::InProgress));
        assert!(!Decision::Reopen.reflected_in(TicketState::Resolved) && !Decision::Reopen.reflected_in(TicketState::Closed));
    }
}
