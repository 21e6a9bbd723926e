//! The timeline card on the person, company and deal pages (newest first, each event linking
//! to its record), and its "show more" pages: `/{customers,companies,opportunities}/{id}/timeline?cursor=…`
//! answers the next page as a page of its own, whose events the page's script appends in place
//! (without the script, the link simply opens that page).

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use rapport_domain::timeline::{DEFAULT_LIMIT, EventKind, Subject, TimelineCursor, TimelineEvent};

use super::short_time;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Path, QueryPairs};
use crate::ui::{UiUser, render};

pub(super) fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/customers/{id}/timeline", get(|s, u, Path(id), q| more(s, u, Subject::Customer(id), q)))
        .route("/companies/{id}/timeline", get(|s, u, Path(id), q| more(s, u, Subject::Company(id), q)))
        .route("/opportunities/{id}/timeline", get(|s, u, Path(id), q| more(s, u, Subject::Opportunity(id), q)))
}

/// One page of a subject's timeline, as the card shows it.
pub struct TimelineCard {
    /// The events, newest first.
    pub events: Vec<TimelineEvent>,
    /// The link to the next page, when there is more.
    pub more: Option<String>,
}

impl TimelineCard {
    /// When an event happened, as people read it (UTC).
    pub fn when(&self, e: &TimelineEvent) -> String {
        short_time(&e.at)
    }

    /// What kind of event it is, in a word.
    pub fn label(&self, e: &TimelineEvent) -> &'static str {
        match e.kind {
            EventKind::Activity => "Activity",
            EventKind::OpportunityCreated => "New deal",
            EventKind::StageChanged => "Stage",
            EventKind::OpportunityWon => "Won",
            EventKind::OpportunityLost => "Lost",
            EventKind::LeadStatusChanged => "Lead",
            EventKind::OrderCreated | EventKind::OrderPaid | EventKind::OrderShipped | EventKind::OrderCancelled => "Order",
            EventKind::TicketOpened | EventKind::TicketStatusChanged => "Ticket",
            EventKind::SlaNearBreach | EventKind::SlaBreached => "SLA",
            EventKind::FeedbackReceived => "Feedback",
            EventKind::MessageSent
            | EventKind::MessageDelivered
            | EventKind::MessageOpened
            | EventKind::MessageClicked
            | EventKind::MessageBounced
            | EventKind::MessageUnsubscribed
            | EventKind::MessageComplained => "Message",
            EventKind::SequenceEnrolled | EventKind::SequenceLeft => "Sequence",
        }
    }
}

fn base(subject: Subject) -> String {
    match subject {
        Subject::Customer(id) => format!("/customers/{id}"),
        Subject::Company(id) => format!("/companies/{id}"),
        Subject::Opportunity(id) => format!("/opportunities/{id}"),
    }
}

/// The card for `subject` from `cursor` on.
pub async fn timeline_card(
    state: &AppState,
    user: &UiUser,
    subject: Subject,
    cursor: Option<&TimelineCursor>,
) -> Result<TimelineCard, ApiError> {
    let page = state.store.timeline(user.actor(), subject, DEFAULT_LIMIT, cursor).await?;
    Ok(TimelineCard { events: page.data, more: page.next_cursor.map(|c| format!("{}/timeline?cursor={c}", base(subject))) })
}

#[derive(Template)]
#[template(path = "timeline_page.html")]
struct MorePage {
    user_name: String,
    csrf: String,
    back: String,
    timeline: TimelineCard,
}

async fn more(State(state): State<AppState>, user: UiUser, subject: Subject, QueryPairs(pairs): QueryPairs) -> Result<Response, ApiError> {
    let (_, cursor) = rapport_domain::timeline::parse_query(&pairs).map_err(crate::api::bad_query)?;
    let timeline = timeline_card(&state, &user, subject, cursor.as_ref()).await?;
    Ok(render(&MorePage { user_name: user.user().name.clone(), csrf: user.csrf.clone(), back: base(subject), timeline }))
}
