//! Ticket pages: the shared list (the queue, filtered by status, priority, assignee and team)
//! and form (see [`crate::ui::records`]), and the ticket's page, whose buttons are exactly the
//! workflow actions allowed now, with its status history.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rapport_domain::permissions::{Action, Actor, Object};
use rapport_domain::query::{ListParams, Page};
use rapport_domain::service::message::{MessageInput, TicketMessage};
use rapport_domain::service::ticket::{SPEC, StatusChange, Ticket, TicketActionInput, TicketInput};
use rapport_domain::service::workflow::{self, TicketAction};
use rapport_store::Error as StoreError;
use serde_json::Value;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::Path;
use crate::ui::records::{Pages, UiRecord, input_of, routes, to_json, users};
use crate::ui::sales::short_time;
use crate::ui::{UiUser, render};

pub(super) fn router() -> axum::Router<AppState> {
    routes::<Ticket>()
        .route("/tickets/{id}", get(detail))
        .route("/tickets/{id}/action", post(action))
        .route("/tickets/{id}/messages", post(add_message))
}

impl UiRecord for Ticket {
    // The queue page (filters, counts, bulk assignment) is in `queue`.
    const OWN_LIST: bool = true;
    const PAGES: Pages = Pages {
        spec: &SPEC,
        columns: &["subject", "status", "priority", "customer_name", "owner_id", "category", "created_at"],
        filters: &["status", "priority", "owner_id", "channel"],
        sorts: &[
            ("-created_at", "Newest"),
            ("created_at", "Oldest"),
            ("-status_changed_at", "Recently changed"),
            ("name", "Subject A–Z"),
            ("relevance", "Best match"),
        ],
        search_hint: "Search subjects and descriptions…",
        new_label: "New ticket",
        form: &[
            ("", &["subject", "customer_id", "company_id", "priority", "category", "channel", "owner_id", "team_id", "tags"]),
            ("", &["description"]),
        ],
    };

    fn prefill(_user_id: i64) -> Vec<(&'static str, String)> {
        vec![("priority", "normal".into()), ("channel", "phone".into())]
    }

    async fn list(state: &AppState, actor: &Actor, p: &ListParams) -> Result<Page<Value>, StoreError> {
        let page = state.store.list_tickets(actor, p).await?;
        Ok(Page { data: page.data.iter().map(to_json).collect(), next_cursor: page.next_cursor, sync_token: page.sync_token })
    }

    async fn get(state: &AppState, actor: &Actor, id: i64) -> Result<Value, StoreError> {
        Ok(to_json(&state.store.get_ticket(actor, id).await?))
    }

    async fn create(state: &AppState, actor: &Actor, input: Value) -> Result<i64, StoreError> {
        let input: TicketInput = input_of(input)?;
        Ok(state.store.create_ticket(actor, input).await?.id)
    }

    /// The form shows the channel only to say where the ticket came from; sending it back
    /// unchanged is no change.
    async fn update(state: &AppState, actor: &Actor, id: i64, version: Option<i64>, mut input: Value) -> Result<(), StoreError> {
        if let Some(m) = input.as_object_mut() {
            m.remove("channel");
        }
        let input: TicketInput = input_of(input)?;
        state.store.update_ticket(actor, id, version, input).await.map(|_| ())
    }

    async fn delete(state: &AppState, actor: &Actor, id: i64, version: Option<i64>) -> Result<(), StoreError> {
        state.store.delete_ticket(actor, id, version).await
    }
}

#[derive(Template)]
#[template(path = "service_ticket.html")]
struct DetailPage {
    user_name: String,
    csrf: String,
    t: Ticket,
    assignee: String,
    /// The workflow actions the reader may take now, with their button labels.
    actions: Vec<(&'static str, &'static str)>,
    may_update: bool,
    /// (when, from, to, who) per status entered, oldest first.
    history: Vec<(String, String, String, String)>,
    /// The conversation, oldest first, with each message's time as people read it.
    messages: Vec<(TicketMessage, String)>,
    notice: Option<String>,
    sla: Option<super::sla::SlaCard>,
    /// Parent and children, followers, macros and who else is replying.
    links: super::ticket_links::Links,
}

/// A button's label for an action.
fn label(action: &str) -> &'static str {
    match action {
        "assign" => "Assign to me",
        "unassign" => "Back to queue",
        "start" => "Start",
        "wait_on_customer" => "Wait on customer",
        "wait_on_third_party" => "Wait on third party",
        "resume" => "Resume",
        "snooze" => "Snooze until",
        "wake" => "Wake",
        "resolve" => "Resolve",
        "reopen" => "Reopen",
        _ => "Do",
    }
}

pub(super) async fn detail_page(
    state: &AppState,
    user: &UiUser,
    id: i64,
    notice: Option<String>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let actor = user.actor();
    let t = state.store.get_ticket(actor, id).await?;
    let links = super::ticket_links::links(state, actor, &t).await?;
    let history: Vec<StatusChange> = state.store.ticket_history(actor, id).await?;
    let messages = state.store.ticket_messages(actor, id).await?.into_iter().map(|m| {
        let at = short_time(&m.at);
        (m, at)
    });
    let people = users(state, actor).await?;
    let name = |id: Option<i64>| id.and_then(|id| people.iter().find(|(i, _)| *i == id)).map(|(_, n)| n.clone()).unwrap_or_default();
    let may_update = actor.perms.allows(Object::Ticket, Action::Update);
    let actions = if may_update { t.data.status.allowed_actions(workflow::Actor::Agent) } else { vec![] };
    let shown = |s: &str| s.replace('_', " ");
    let page = DetailPage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        assignee: name(t.data.owner_id),
        actions: actions.into_iter().map(|a| (a, label(a))).collect(),
        may_update,
        history: history
            .iter()
            .map(|c| {
                let from = c.from_status.map(|s| shown(s.as_str())).unwrap_or_default();
                (short_time(&c.at), from, shown(c.to_status.as_str()), name(c.actor_id))
            })
            .collect(),
        messages: messages.collect(),
        notice,
        sla: super::sla::card(state, &t).await?,
        links,
        t,
    };
    Ok((status, render(&page)).into_response())
}

/// A merged ticket's page is its survivor's.
async fn detail(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>) -> Result<Response, ApiError> {
    if let Some(survivor) = state.store.ticket_merged_into(user.actor(), id).await? {
        return Ok(Redirect::to(&format!("/tickets/{survivor}")).into_response());
    }
    detail_page(&state, &user, id, None, StatusCode::OK).await
}

/// `POST /tickets/{id}/action` (`action`, `version`, and `until` for snooze): a workflow
/// button. Back to the ticket, or the ticket with what went wrong (a stale page, a status that
/// no longer allows it, a snooze without a date).
async fn action(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let wanted = form.get("action").map(String::as_str).unwrap_or("");
    let Some(action) = TicketAction::parse(wanted) else {
        return detail_page(&state, &user, id, Some(format!("'{wanted}' is not a ticket action")), StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let until = form.get("until").filter(|s| !s.trim().is_empty()).cloned();
    let input = TicketActionInput { action, owner_id: None, until };
    match state.store.ticket_action(user.actor(), id, crate::ui::form_version(&form), input).await {
        Ok(_) => Ok(Redirect::to(&format!("/tickets/{id}")).into_response()),
        Err(e) => {
            let (status, detail) = crate::ui::refusal(e)?;
            detail_page(&state, &user, id, Some(detail), status).await
        }
    }
}

/// `POST /tickets/{id}/messages` (`body`, `internal`): the reply box. Back to the ticket, or
/// the ticket with what went wrong.
async fn add_message(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let input = MessageInput { body: form.get("body").cloned(), internal: form.get("internal").is_some_and(|v| v == "on" || v == "true") };
    match state.store.add_ticket_message(user.actor(), id, input).await {
        Ok(_) => Ok(Redirect::to(&format!("/tickets/{id}#conversation")).into_response()),
        Err(e) => {
            let (status, detail) = crate::ui::refusal(e)?;
            detail_page(&state, &user, id, Some(detail), status).await
        }
    }
}
