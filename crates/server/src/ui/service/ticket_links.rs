//! The ticket page's links to other records and people: parent and children, followers, merge
//! (the survivor picked by type-ahead) and split buttons, the macro picker, and the "X is
//! replying" notice, which `/static/service.js` keeps current while the page is open.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json};
use rapport_domain::permissions::{Action, Actor, Object};
use rapport_domain::query::ListParams;
use rapport_domain::service::links::{Follower, FollowerInput, MergeInput, ParentInput, Replying, SplitInput};
use rapport_domain::service::ticket::{SPEC, Ticket};

use super::tickets::detail_page;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::Path;
use crate::ui::UiUser;

pub(super) fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/tickets/{id}/followers", post(add_follower))
        .route("/tickets/{id}/followers/{customer_id}/remove", post(remove_follower))
        .route("/tickets/{id}/merge", post(merge))
        .route("/tickets/{id}/split", post(split))
        .route("/tickets/{id}/parent", post(set_parent))
        .route("/tickets/{id}/macro", post(apply_macro))
        .route("/tickets/{id}/presence", get(replying).post(presence))
        .route("/static/service.js", get(|| async { asset(include_str!("../../../static/service.js")) }))
}

fn asset(body: &'static str) -> Response {
    ([(axum::http::header::CONTENT_TYPE, "text/javascript"), (axum::http::header::CACHE_CONTROL, "public, max-age=3600")], body)
        .into_response()
}

/// What the ticket page shows beside the ticket itself.
pub(super) struct Links {
    /// The ticket it was split off, with its subject.
    pub parent: Option<(i64, String)>,
    /// Tickets split off it.
    pub children: Vec<(i64, String, String)>,
    pub followers: Vec<Follower>,
    /// Macros to pick from: (id, name).
    pub macros: Vec<(i64, String)>,
    /// Other agents writing a reply now.
    pub replying: Vec<Replying>,
    /// Whether the reader keeps the macros (a link to their pages).
    pub may_manage_macros: bool,
}

impl Links {
    /// "Sam is replying", "Sam and Kim are replying", or nothing.
    pub fn replying_text(&self) -> String {
        replying_text(&self.replying)
    }
}

/// The notice for the agents in `who`.
pub(super) fn replying_text(who: &[Replying]) -> String {
    let names: Vec<&str> = who.iter().map(|r| r.name.as_str()).collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => format!("{one} is replying…"),
        [init @ .., last] => format!("{} and {last} are replying…", init.join(", ")),
    }
}

/// Reads what [`Links`] shows, as `actor` may see it.
pub(super) async fn links(state: &AppState, actor: &Actor, t: &Ticket) -> Result<Links, ApiError> {
    let store = &state.store;
    let parent = match t.parent_id {
        Some(p) => Some((p, store.get_ticket(actor, p).await.map(|p| p.data.subject).unwrap_or_default())),
        None => None,
    };
    let p = ListParams::parse(&[("parent_id".into(), t.id.to_string()), ("limit".into(), "50".into())], &SPEC, &[])
        .map_err(crate::api::bad_query)?;
    let children = store
        .list_tickets(actor, &p)
        .await?
        .data
        .into_iter()
        .map(|c| (c.id, c.data.subject, c.data.status.as_str().replace('_', " ")))
        .collect();
    let macros = if actor.perms.allows(Object::Macro, Action::Read) && actor.perms.allows(Object::Ticket, Action::Update) {
        let p = ListParams::parse(
            &[("sort".into(), "name".into()), ("limit".into(), "200".into())],
            &rapport_domain::service::canned::SPEC,
            &[],
        )
        .map_err(crate::api::bad_query)?;
        store.list_macros(actor, &p).await?.data.into_iter().map(|m| (m.id, m.data.name)).collect()
    } else {
        vec![]
    };
    Ok(Links {
        parent,
        children,
        followers: store.ticket_followers(actor, t.id).await?,
        macros,
        replying: store.ticket_replying(actor, t.id).await?,
        may_manage_macros: actor.perms.allows(Object::Macro, Action::Create),
    })
}

fn field(form: &HashMap<String, String>, name: &str) -> Option<i64> {
    form.get(name).and_then(|v| v.trim().parse().ok())
}

/// Back to the ticket at `anchor` on success, or the ticket with what went wrong.
async fn back<T>(
    state: &AppState,
    user: &UiUser,
    id: i64,
    done: Result<T, rapport_store::Error>,
    to: impl FnOnce(T) -> String,
) -> Result<Response, ApiError> {
    match done {
        Ok(v) => Ok(Redirect::to(&to(v)).into_response()),
        Err(e) => {
            let (status, detail) = crate::ui::refusal(e)?;
            detail_page(state, user, id, Some(detail), status).await
        }
    }
}

/// `POST /tickets/{id}/followers` (`customer_id`, picked by type-ahead).
async fn add_follower(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let done = state.store.add_ticket_follower(user.actor(), id, FollowerInput { customer_id: field(&form, "customer_id") }).await;
    back(&state, &user, id, done, |_| format!("/tickets/{id}#followers")).await
}

/// `POST /tickets/{id}/followers/{customer_id}/remove`.
async fn remove_follower(
    State(state): State<AppState>,
    user: UiUser,
    Path((id, customer)): Path<(i64, i64)>,
) -> Result<Response, ApiError> {
    let done = state.store.remove_ticket_follower(user.actor(), id, customer).await;
    back(&state, &user, id, done, |_| format!("/tickets/{id}#followers")).await
}

/// `POST /tickets/{id}/merge` (`into`, picked by type-ahead): on to the survivor.
async fn merge(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let done = state.store.merge_ticket(user.actor(), id, MergeInput { into: field(&form, "into") }).await;
    back(&state, &user, id, done, |t| format!("/tickets/{}", t.id)).await
}

/// `POST /tickets/{id}/split` (`message_id`): on to the new ticket.
async fn split(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let done = state.store.split_ticket(user.actor(), id, SplitInput { message_id: field(&form, "message_id"), subject: None }).await;
    back(&state, &user, id, done, |t| format!("/tickets/{}", t.id)).await
}

/// `POST /tickets/{id}/parent` (`parent_id`, picked by type-ahead; empty unlinks).
async fn set_parent(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let done = state.store.set_ticket_parent(user.actor(), id, ParentInput { parent_id: field(&form, "parent_id") }).await;
    back(&state, &user, id, done, |_| format!("/tickets/{id}#links")).await
}

/// `POST /tickets/{id}/macro` (`macro_id`; `preview` to see the reply first): the macro
/// picker. A preview shows the reply and where the ticket would go, changing nothing.
async fn apply_macro(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let Some(macro_id) = field(&form, "macro_id") else {
        return detail_page(&state, &user, id, Some("Pick a macro to apply".into()), StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let preview = form.contains_key("preview");
    match state.store.apply_macro(user.actor(), id, macro_id, preview).await {
        Ok(a) if preview => {
            let kind = if a.internal { "internal note" } else { "reply" };
            let status = a.ticket.data.status.as_str().replace('_', " ");
            let text = format!("Preview ({kind}, then {status}): {}", a.body);
            detail_page(&state, &user, id, Some(text), StatusCode::OK).await
        }
        done => back(&state, &user, id, done, |_| format!("/tickets/{id}#conversation")).await,
    }
}

/// `GET /tickets/{id}/presence`: the other agents replying now, and the notice to show.
async fn replying(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let who = state.store.ticket_replying(user.actor(), id).await?;
    Ok(Json(serde_json::json!({"text": replying_text(&who), "replying": who})).into_response())
}

/// `POST /tickets/{id}/presence` (`replying`: `1` while the reply box is in use, `0` once
/// left): the same answer as `GET`.
async fn presence(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let on = form.get("replying").is_none_or(|v| v != "0");
    let who = state.store.set_ticket_presence(user.actor(), id, on).await?;
    Ok(Json(serde_json::json!({"text": replying_text(&who), "replying": who})).into_response())
}
