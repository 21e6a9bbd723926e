//! The 360° timeline: what happened around a person, a company or an opportunity, newest
//! first, from every module that records events (activities, stage changes, lead status
//! changes, orders…).
//!
//! Each kind of event comes from its own source in the store; the timeline merges them. Pages
//! follow a keyset cursor over (time, kind, id) — the id is the event's row in its source, unique
//! within its kind — so events with equal times are neither repeated nor skipped across pages.
//! Kinds are compared by their [`EventKind::code`], a number, so that the order is the same in
//! Rust and in either database, whatever its text collation.

use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ValidationErrors;

/// What a timeline is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A person.
    Customer(i64),
    /// A company.
    Company(i64),
    /// An opportunity.
    Opportunity(i64),
}

/// What kind of event an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A task, call, meeting, note or logged email (web-to-lead submissions are notes).
    Activity,
    /// An opportunity was created.
    OpportunityCreated,
    /// An opportunity moved from one stage to another (open, or reopened).
    StageChanged,
    /// An opportunity was won.
    OpportunityWon,
    /// An opportunity was lost.
    OpportunityLost,
    /// A lead's status changed (converting a lead qualifies it).
    LeadStatusChanged,
    /// An order was created.
    OrderCreated,
    /// An order was paid.
    OrderPaid,
    /// An order was shipped.
    OrderShipped,
    /// An order was cancelled.
    OrderCancelled,
    /// A ticket was opened.
    TicketOpened,
    /// A ticket's status changed (assigned, resolved, reopened…).
    TicketStatusChanged,
    /// A ticket's SLA target came near its breach.
    SlaNearBreach,
    /// A ticket's SLA target was breached.
    SlaBreached,
    /// Feedback, a complaint or praise was recorded (outside a ticket).
    FeedbackReceived,
    /// A campaign's message went out to the person.
    MessageSent,
    /// The receiving server accepted it.
    MessageDelivered,
    /// The person opened it (machine opens are left out).
    MessageOpened,
    /// The person clicked a link in it (machine clicks are left out).
    MessageClicked,
    /// It bounced.
    MessageBounced,
    /// The person unsubscribed through it.
    MessageUnsubscribed,
    /// The person marked it as spam.
    MessageComplained,
    /// The person entered a drip sequence.
    SequenceEnrolled,
    /// The person left a drip sequence: finished its steps or taken out.
    SequenceLeft,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 24] = [
        Self::Activity,
        Self::OpportunityCreated,
        Self::StageChanged,
        Self::OpportunityWon,
        Self::OpportunityLost,
        Self::LeadStatusChanged,
        Self::OrderCreated,
        Self::OrderPaid,
        Self::OrderShipped,
        Self::OrderCancelled,
        Self::TicketOpened,
        Self::TicketStatusChanged,
        Self::SlaNearBreach,
        Self::SlaBreached,
        Self::FeedbackReceived,
        Self::MessageSent,
        Self::MessageDelivered,
        Self::MessageOpened,
        Self::MessageClicked,
        Self::MessageBounced,
        Self::MessageUnsubscribed,
        Self::MessageComplained,
        Self::SequenceEnrolled,
        Self::SequenceLeft,
    ];

    /// Name as the API shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Activity => "activity",
            Self::OpportunityCreated => "opportunity_created",
            Self::StageChanged => "stage_changed",
            Self::OpportunityWon => "opportunity_won",
            Self::OpportunityLost => "opportunity_lost",
            Self::LeadStatusChanged => "lead_status_changed",
            Self::OrderCreated => "order_created",
            Self::OrderPaid => "order_paid",
            Self::OrderShipped => "order_shipped",
            Self::OrderCancelled => "order_cancelled",
            Self::TicketOpened => "ticket_opened",
            Self::TicketStatusChanged => "ticket_status_changed",
            Self::SlaNearBreach => "sla_near_breach",
            Self::SlaBreached => "sla_breached",
            Self::FeedbackReceived => "feedback_received",
            Self::MessageSent => "message_sent",
            Self::MessageDelivered => "message_delivered",
            Self::MessageOpened => "message_opened",
            Self::MessageClicked => "message_clicked",
            Self::MessageBounced => "message_bounced",
            Self::MessageUnsubscribed => "message_unsubscribed",
            Self::MessageComplained => "message_complained",
            Self::SequenceEnrolled => "sequence_enrolled",
            Self::SequenceLeft => "sequence_left",
        }
    }

    /// The number the cursor orders kinds by (stable: cursors handed out keep working). Among
    /// events at the same time, the higher code comes first.
    pub fn code(self) -> i64 {
        match self {
            Self::Activity => 1,
            Self::OpportunityCreated => 2,
            Self::StageChanged => 3,
            Self::OpportunityWon => 4,
            Self::OpportunityLost => 5,
            Self::LeadStatusChanged => 6,
            Self::OrderCreated => 7,
            Self::OrderPaid => 8,
            Self::OrderShipped => 9,
            Self::OrderCancelled => 10,
            Self::TicketOpened => 11,
            Self::TicketStatusChanged => 12,
            Self::SlaNearBreach => 13,
            Self::SlaBreached => 14,
            Self::FeedbackReceived => 15,
            Self::MessageSent => 16,
            Self::MessageDelivered => 17,
            Self::MessageOpened => 18,
            Self::MessageClicked => 19,
            Self::MessageBounced => 20,
            Self::MessageUnsubscribed => 21,
            Self::MessageComplained => 22,
            Self::SequenceEnrolled => 23,
            Self::SequenceLeft => 24,
        }
    }

    /// The kind with this code.
    pub fn from_code(code: i64) -> Option<EventKind> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// One entry of a timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TimelineEvent {
    /// When it happened (RFC 3339 UTC).
    pub at: String,
    /// What kind of event.
    pub kind: EventKind,
    /// The event's id within its kind (the activity, the stage change, the order…).
    pub id: i64,
    /// The type of the record it belongs to: `activity`, `opportunity`, `customer`, `order`.
    pub record_type: String,
    /// That record's id.
    pub record_id: i64,
    /// What it is about, in a few words (the activity's subject, the deal's name).
    pub title: String,
    /// What happened, as one line (`Qualification → Proposal`, `call`).
    pub summary: String,
    /// Who did it (`null` for the system or the public web form).
    pub actor_id: Option<i64>,
    /// Their name.
    pub actor_name: Option<String>,
    /// The record's page in the web UI.
    pub link: String,
}

/// Where a page of a timeline starts: after the event with this time, kind and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineCursor {
    /// The event's time.
    pub at: String,
    /// Its kind's code.
    pub kind: i64,
    /// Its id within the kind.
    pub id: i64,
}

impl TimelineCursor {
    /// The cursor that continues after `e`.
    pub fn after(e: &TimelineEvent) -> TimelineCursor {
        TimelineCursor { at: e.at.clone(), kind: e.kind.code(), id: e.id }
    }

    /// The opaque text handed to clients.
    pub fn encode(&self) -> String {
        let v = serde_json::json!({"t": self.at, "k": self.kind, "id": self.id});
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    }

    /// Reads a cursor a client sent back; a field error on `cursor` otherwise.
    pub fn decode(raw: &str) -> Result<TimelineCursor, ValidationErrors> {
        let bad = || ValidationErrors::single("cursor", "is not a timeline cursor: request the first page again without cursor");
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| bad())?;
        let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        let at = v["t"].as_str().filter(|t| crate::query::parse_time(t).is_ok()).ok_or_else(bad)?;
        let kind = v["k"].as_i64().filter(|k| EventKind::from_code(*k).is_some()).ok_or_else(bad)?;
        Ok(TimelineCursor { at: at.to_string(), kind, id: v["id"].as_i64().ok_or_else(bad)? })
    }

    /// The order of events, newest first: whether `e` comes after this cursor's event.
    pub fn precedes(&self, e: &TimelineEvent) -> bool {
        sort_key(e) < (self.at.as_str(), self.kind, self.id)
    }
}

/// The key events are ordered by, descending.
fn sort_key(e: &TimelineEvent) -> (&str, i64, i64) {
    (e.at.as_str(), e.kind.code(), e.id)
}

/// The most a page holds, and what it holds when not told.
pub const MAX_LIMIT: usize = 200;
/// The page size without `limit`.
pub const DEFAULT_LIMIT: usize = 50;

/// Reads `limit` and `cursor` from a query string's pairs (anything else is refused, naming it).
pub fn parse_query(pairs: &[(String, String)]) -> Result<(usize, Option<TimelineCursor>), ValidationErrors> {
    let mut errs = ValidationErrors::default();
    let (mut limit, mut cursor) = (DEFAULT_LIMIT, None);
    for (k, v) in pairs {
        match k.as_str() {
            "limit" => match v.trim().parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => limit = n,
                _ => errs.add("limit", format!("must be a whole number from 1 to {MAX_LIMIT}")),
            },
            "cursor" => match TimelineCursor::decode(v) {
                Ok(c) => cursor = Some(c),
                Err(e) => errs.0.extend(e.0),
            },
            other => errs.add(other, "is not a parameter of timelines (limit, cursor)"),
        }
    }
    errs.into_result((limit, cursor))
}

/// Merges what each kind's source returned (each newest first, each holding the events after
/// the cursor and at most `limit + 1` of them) into one page of at most `limit` events, newest
/// first, and the cursor of the next page when there is more.
pub fn merge(sources: Vec<Vec<TimelineEvent>>, limit: usize) -> (Vec<TimelineEvent>, Option<String>) {
    let mut all: Vec<TimelineEvent> = sources.into_iter().flatten().collect();
    all.sort_by(|a, b| sort_key(b).cmp(&sort_key(a)));
    let more = all.len() > limit;
    all.truncate(limit);
    let next = if more { all.last().map(|e| TimelineCursor::after(e).encode()) } else { None };
    (all, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(at: &str, kind: EventKind, id: i64) -> TimelineEvent {
        TimelineEvent {
            at: at.into(),
            kind,
            id,
            record_type: "activity".into(),
            record_id: id,
            title: String::new(),
            summary: String::new(),
            actor_id: None,
            actor_name: None,
            link: String::new(),
        }
    }

    #[test]
    fn kinds_have_unique_codes_and_names() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::from_code(k.code()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        let mut codes: Vec<i64> = EventKind::ALL.iter().map(|k| k.code()).collect();
        codes.dedup();
        assert_eq!(codes.len(), EventKind::ALL.len());
    }

    #[test]
    fn pages_merge_newest_first_and_continue_across_equal_times() {
        let t1 = "2026-03-10T12:00:00.000000Z";
        let t2 = "2026-03-11T12:00:00.000000Z";
        let a = vec![ev(t2, EventKind::Activity, 7), ev(t1, EventKind::Activity, 9), ev(t1, EventKind::Activity, 3)];
        let s = vec![ev(t2, EventKind::StageChanged, 1), ev(t1, EventKind::StageChanged, 2)];
        let (page, next) = merge(vec![a.clone(), s.clone()], 3);
        let keys: Vec<(i64, i64)> = page.iter().map(|e| (e.kind.code(), e.id)).collect();
        assert_eq!(keys, [(3, 1), (1, 7), (3, 2)]);
        let c = TimelineCursor::decode(&next.unwrap()).unwrap();
        assert_eq!(c, TimelineCursor { at: t1.into(), kind: 3, id: 2 });
        let rest: Vec<Vec<TimelineEvent>> = [a, s].into_iter().map(|src| src.into_iter().filter(|e| c.precedes(e)).collect()).collect();
        let (page, next) = merge(rest, 3);
        assert_eq!(page.iter().map(|e| e.id).collect::<Vec<_>>(), [9, 3]);
        assert_eq!(next, None);
    }

    #[test]
    fn queries_and_cursors_are_checked() {
        let pairs = |s: &[(&str, &str)]| s.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
        assert_eq!(parse_query(&[]).unwrap(), (DEFAULT_LIMIT, None));
        let c = TimelineCursor { at: "2026-03-10T12:00:00.000000Z".into(), kind: 2, id: 5 };
        assert_eq!(parse_query(&pairs(&[("limit", "5"), ("cursor", &c.encode())])).unwrap(), (5, Some(c)));
        for bad in [("limit", "0"), ("limit", "201"), ("limit", "x"), ("cursor", "nope"), ("sort", "name")] {
            let e = parse_query(&pairs(&[bad])).unwrap_err();
            assert_eq!(e.0[0].field, bad.0, "{bad:?}");
        }
        let wrong_kind = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"t":"2026-03-10T12:00:00Z","k":99,"id":1}"#);
        assert!(TimelineCursor::decode(&wrong_kind).is_err());
    }
}
