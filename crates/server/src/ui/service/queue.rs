//! The ticket queue page: filters (status, priority, team, assignee with "me" and
//! "unassigned", the reader's teams), counts per status for the current filters, checkboxes and
//! bulk assignment; and a team's assignment settings (rule, cap, agents away).

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rapport_domain::permissions::{Action, Object};
use rapport_domain::query::ListParams;
use rapport_domain::service::assignment::{AssignmentMode, BulkAssign, TeamAssignment, TeamAssignmentInput};
use rapport_domain::service::ticket::{Priority, Ticket};
use rapport_domain::service::workflow::TicketState;
use serde_json::{Value, json};

use crate::AppState;
use crate::api::service::assignment::ticket_params;
use crate::error::ApiError;
use crate::extract::{Path, QueryPairs};
use crate::ui::records::users;
use crate::ui::sales::short_time;
use crate::ui::{UiUser, render};

pub(super) fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/tickets", get(queue))
        .route("/tickets/bulk_assign", post(bulk_assign))
        .route("/teams/{id}/assignment", get(settings).post(save_settings))
        .route("/teams/{id}/assignment/away", post(set_away))
}

/// One row of the queue.
struct Row {
    t: Ticket,
    assignee: String,
    created: String,
}

#[derive(Template)]
#[template(path = "service_queue.html")]
struct QueuePage {
    user_name: String,
    csrf: String,
    /// The current filters, as (param, value).
    q: String,
    status: String,
    priority: String,
    team: String,
    assignee: String,
    mine: bool,
    statuses: Vec<&'static str>,
    priorities: Vec<&'static str>,
    teams: Vec<(i64, String)>,
    people: Vec<(i64, String)>,
    /// (status, count, link showing that status with the other filters).
    counts: Vec<(String, i64, String)>,
    total: i64,
    all_link: String,
    /// The current filters as a query string, where a bulk assignment returns.
    back: String,
    rows: Vec<Row>,
    next_url: Option<String>,
    may_assign: bool,
    notice: Option<String>,
}

fn url(pairs: &[(String, String)], over: &[(&str, &str)]) -> String {
    let mut kept: Vec<(String, String)> =
        pairs.iter().filter(|(k, v)| !v.is_empty() && k != "cursor" && !over.iter().any(|(o, _)| o == k)).cloned().collect();
    kept.extend(over.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (k.to_string(), v.to_string())));
    let parts: Vec<String> = kept.iter().map(|(k, v)| format!("{k}={}", crate::ui::urlencode(v))).collect();
    if parts.is_empty() { "/tickets".into() } else { format!("/tickets?{}", parts.join("&")) }
}

async fn queue_page(
    state: &AppState,
    user: &UiUser,
    pairs: Vec<(String, String)>,
    notice: Option<String>,
    code: StatusCode,
) -> Result<Response, ApiError> {
    let actor = user.actor();
    let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.trim().to_string()).unwrap_or_default();
    // The newest first unless asked otherwise; relevance only with a search.
    let mut asked = pairs.clone();
    if get("sort").is_empty() || (get("sort") == "relevance" && get("q").is_empty()) {
        asked.retain(|(k, _)| k != "sort");
        if get("q").is_empty() {
            asked.push(("sort".into(), "-created_at".into()));
        }
    }
    let (rows, next, counts, total, notice) = match ticket_params(state, &user.current, asked).await {
        Ok(p) => {
            let page = state.store.list_tickets(actor, &ListParams { limit: 50, ..p.clone() }).await?;
            // The counts cover every status of the other filters, so each one links somewhere.
            let without_status = ListParams { filters: p.filters.iter().filter(|f| f.field.name != "status").cloned().collect(), ..p };
            let (counts, total) = state.store.ticket_counts(actor, &without_status).await?;
            (page.data, page.next_cursor, counts, total, notice)
        }
        Err(e) => (vec![], None, vec![], 0, Some(e.problem().detail)),
    };
    let people = users(state, actor).await?;
    let name = |id: Option<i64>| id.and_then(|id| people.iter().find(|(i, _)| *i == id)).map(|(_, n)| n.clone()).unwrap_or_default();
    let teams: Vec<(i64, String)> = state.store.list_teams(actor).await?.into_iter().map(|t| (t.id, t.name)).collect();
    let page = QueuePage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        q: get("q"),
        status: get("status"),
        priority: get("priority"),
        team: get("team_id"),
        assignee: get("assignee"),
        mine: get("queue") == "team",
        statuses: TicketState::NAMES.to_vec(),
        priorities: Priority::NAMES.to_vec(),
        counts: counts.into_iter().map(|(s, n)| (s.clone(), n, url(&pairs, &[("status", &s)]))).collect(),
        total,
        all_link: url(&pairs, &[("status", "")]),
        back: url(&pairs, &[]).trim_start_matches("/tickets").trim_start_matches('?').to_string(),
        rows: rows.into_iter().map(|t| Row { assignee: name(t.data.owner_id), created: short_time(&t.created_at), t }).collect(),
        next_url: next.map(|c| format!("{}{}cursor={c}", url(&pairs, &[]), if url(&pairs, &[]).contains('?') { "&" } else { "?" })),
        may_assign: actor.perms.allows(Object::Ticket, Action::Update),
        teams,
        people,
        notice,
    };
    Ok((code, render(&page)).into_response())
}

async fn queue(State(state): State<AppState>, user: UiUser, QueryPairs(mut pairs): QueryPairs) -> Result<Response, ApiError> {
    // A bulk assignment comes back here saying how many it changed.
    let done = pairs.iter().find(|(k, _)| k == "assigned").and_then(|(_, v)| v.parse::<usize>().ok());
    pairs.retain(|(k, _)| k != "assigned");
    let notice = done.map(|n| format!("Assigned {n} ticket{}.", if n == 1 { "" } else { "s" }));
    queue_page(&state, &user, pairs, notice, StatusCode::OK).await
}

/// `POST /tickets/bulk_assign` (`ids` per checked row, `assignee`: a user id, `auto` or
/// `unassigned`, and `back`, the queue's query): back to the queue, or the queue with every
/// refused ticket named and nothing changed.
async fn bulk_assign(State(state): State<AppState>, user: UiUser, Form(form): Form<Vec<(String, String)>>) -> Result<Response, ApiError> {
    let ids: Vec<Value> =
        form.iter().filter(|(k, _)| k == "ids").map(|(_, v)| v.parse::<i64>().map(Value::from).unwrap_or(json!(v))).collect();
    let assignee = match form.iter().find(|(k, _)| k == "assignee").map(|(_, v)| v.as_str()).unwrap_or("") {
        "auto" => json!("auto"),
        "unassigned" => Value::Null,
        v => v.parse::<i64>().map(Value::from).unwrap_or(json!(v)),
    };
    let back = form.iter().find(|(k, _)| k == "back").map(|(_, v)| v.clone()).unwrap_or_default();
    let back_pairs: Vec<(String, String)> = form_urlencoded::parse(back.as_bytes()).into_owned().collect();
    let outcome = match BulkAssign::parse(&json!({"ids": ids, "assignee": assignee})) {
        Ok(b) => state.store.bulk_assign(user.actor(), &b).await.map(|done| done.len()).map_err(ApiError::from),
        Err(e) => Err(ApiError::Invalid(e)),
    };
    match outcome {
        Ok(n) => {
            let target = url(&back_pairs, &[]);
            let sep = if target.contains('?') { "&" } else { "?" };
            Ok(Redirect::to(&format!("{target}{sep}assigned={n}")).into_response())
        }
        Err(e @ ApiError::Internal(_)) => Err(e),
        Err(e) => {
            let p = e.problem();
            let detail =
                if p.errors.is_empty() { p.detail } else { p.errors.iter().map(|f| f.message.clone()).collect::<Vec<_>>().join("; ") };
            let code = StatusCode::from_u16(p.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            queue_page(&state, &user, back_pairs, Some(format!("Nothing was assigned: {detail}")), code).await
        }
    }
}

#[derive(Template)]
#[template(path = "service_team_assignment.html")]
struct SettingsPage {
    user_name: String,
    csrf: String,
    team_name: String,
    s: TeamAssignment,
    modes: Vec<&'static str>,
    cap: String,
    notice: Option<String>,
}

async fn settings_page(state: &AppState, user: &UiUser, id: i64, notice: Option<String>, code: StatusCode) -> Result<Response, ApiError> {
    let s = state.store.team_assignment(user.actor(), id).await?;
    let team_name = state.store.list_teams(user.actor()).await?.into_iter().find(|t| t.id == id).map(|t| t.name).unwrap_or_default();
    let page = SettingsPage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        team_name,
        cap: s.max_open_per_agent.map(|c| c.to_string()).unwrap_or_default(),
        s,
        modes: AssignmentMode::NAMES.to_vec(),
        notice,
    };
    Ok((code, render(&page)).into_response())
}

async fn settings(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>) -> Result<Response, ApiError> {
    settings_page(&state, &user, id, None, StatusCode::OK).await
}

/// `POST /teams/{id}/assignment` (`mode`, `max_open_per_agent`, empty for no cap).
async fn save_settings(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let get = |k: &str| form.iter().find(|(key, _)| key == k).map(|(_, v)| v.trim().to_string()).unwrap_or_default();
    let mode = AssignmentMode::parse(&get("mode"));
    let cap = get("max_open_per_agent");
    let parsed_cap = if cap.is_empty() { Ok(None) } else { cap.parse::<i64>().map(Some) };
    let bad = StatusCode::UNPROCESSABLE_ENTITY;
    let result = match (mode, parsed_cap) {
        (None, _) => Err((bad, format!("mode: '{}' is not an assignment mode", get("mode")))),
        (_, Err(_)) => Err((bad, "max_open_per_agent: must be a whole number, or empty for no cap".to_string())),
        (Some(mode), Ok(cap)) => {
            match state
                .store
                .save_team_assignment(user.actor(), id, TeamAssignmentInput { mode: Some(mode), max_open_per_agent: Some(cap) })
                .await
            {
                Ok(_) => Ok(()),
                Err(e) => Err(crate::ui::refusal(e)?),
            }
        }
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/teams/{id}/assignment")).into_response()),
        Err((code, m)) => settings_page(&state, &user, id, Some(m), code).await,
    }
}

/// `POST /teams/{id}/assignment/away` (`user_id`, `away`): the away toggle of one agent.
async fn set_away(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let get = |k: &str| form.iter().find(|(key, _)| key == k).map(|(_, v)| v.trim().to_string()).unwrap_or_default();
    let Ok(agent) = get("user_id").parse::<i64>() else {
        return settings_page(&state, &user, id, Some("user_id: must be a user id".into()), StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    match state.store.set_away(user.actor(), agent, get("away") == "true").await {
        Ok(_) => Ok(Redirect::to(&format!("/teams/{id}/assignment")).into_response()),
        Err(e) => {
            let (code, detail) = crate::ui::refusal(e)?;
            settings_page(&state, &user, id, Some(detail), code).await
        }
    }
}
