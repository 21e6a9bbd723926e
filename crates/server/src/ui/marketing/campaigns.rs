//! Campaign pages: the list and the create and edit form of the shared record machinery
//! (filters by status and channel), served at `/campaigns` and `/marketing/campaigns`, and the
//! campaign's own page (`/campaigns/{id}`, also `/marketing/campaigns/{id}`): budget and spend,
//! the status buttons that are exactly the steps allowed now, the audience segment and adding
//! its people, the template and the send button, the sending's progress with resume or cancel
//! when those are allowed, and the funnel of people's responses (sent → … → converted, with
//! bounced, unsubscribed and complained beside it), drawn on the server as SVG.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rapport_domain::marketing::campaigns::{Campaign, CampaignInput, SPEC};
use rapport_domain::marketing::email::{CampaignSend, SendInput};
use rapport_domain::marketing::members::ResponseState;
use rapport_domain::marketing::templates::EmailTemplate;
use rapport_domain::permissions::{Action, Actor, Object};
use rapport_domain::query::{ListParams, Page};
use rapport_domain::sales::money::format_minor;
use rapport_store::{AddMembers, Error as StoreError};
use serde_json::Value;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Form, Path};
use crate::ui::charts;
use crate::ui::records::{Pages, UiRecord, input_of, list_route, routes, to_json, users};
use crate::ui::{UiUser, form_version, refusal, render};

pub(super) fn router() -> axum::Router<AppState> {
    routes::<Campaign>()
        .route("/marketing/campaigns", list_route::<Campaign>())
        .route("/campaigns/{id}", get(detail))
        .route("/marketing/campaigns/{id}", get(detail))
        .route("/campaigns/{id}/status", post(move_status))
        .route("/campaigns/{id}/add_audience", post(add_audience))
        .route("/campaigns/{id}/send", post(send))
        .route("/campaigns/{id}/send/actions", post(act))
}

impl UiRecord for Campaign {
    const PAGES: Pages = Pages {
        spec: &SPEC,
        columns: &[
            "name",
            "channel",
            "status",
            "budget_minor",
            "actual_spend_minor",
            "starts_on",
            "ends_on",
            "segment_name",
            "members_count",
        ],
        filters: &["status", "channel"],
        sorts: &[("-starts_on", "Latest start"), ("name", "Name A–Z"), ("-budget_minor", "Largest budget"), ("relevance", "Best match")],
        search_hint: "Search name, goal…",
        new_label: "New campaign",
        form: &[
            ("", &["name", "channel", "status", "starts_on", "ends_on", "owner_id"]),
            ("Money", &["budget_minor", "actual_spend_minor", "currency"]),
            ("Audience", &["segment_id", "parent_id"]),
            ("", &["goal"]),
        ],
    };

    fn prefill(_user_id: i64) -> Vec<(&'static str, String)> {
        vec![("currency", "USD".into())]
    }

    async fn list(state: &AppState, actor: &Actor, p: &ListParams) -> Result<Page<Value>, StoreError> {
        let page = state.store.list_campaigns(actor, p).await?;
        Ok(Page { data: page.data.iter().map(to_json).collect(), next_cursor: page.next_cursor, sync_token: page.sync_token })
    }

    async fn get(state: &AppState, actor: &Actor, id: i64) -> Result<Value, StoreError> {
        Ok(to_json(&state.store.get_campaign(actor, id).await?))
    }

    async fn create(state: &AppState, actor: &Actor, input: Value) -> Result<i64, StoreError> {
        let mut input: CampaignInput = input_of(input)?;
        input.owner_id = Some(actor.owner_for_new(input.owner_id));
        Ok(state.store.create_campaign(actor, || input.apply(None)).await?.id)
    }

    async fn update(state: &AppState, actor: &Actor, id: i64, version: Option<i64>, input: Value) -> Result<(), StoreError> {
        let input: CampaignInput = input_of(input)?;
        state.store.update_campaign(actor, id, version, |cur| input.apply(Some(cur))).await.map(|_| ())
    }

    async fn delete(state: &AppState, actor: &Actor, id: i64, version: Option<i64>) -> Result<(), StoreError> {
        state.store.delete_campaign(actor, id, version).await
    }
}

/// How far a sending got, for its progress bar.
struct Progress {
    /// Mails handed to SMTP.
    sent: i64,
    /// Mails written to the queue.
    queued: i64,
    /// Mails that failed for good or were skipped.
    not_sent: i64,
    /// Sent share, 0 to 100.
    percent: i64,
}

#[derive(Template)]
#[template(path = "marketing_campaign.html")]
struct DetailPage {
    user_name: String,
    csrf: String,
    c: Campaign,
    owner: String,
    budget: String,
    spend: String,
    /// Spend as a share of the budget, when there is a budget.
    spent_share: Option<String>,
    may_change: bool,
    /// The statuses it may move to now: (value, button label).
    moves: Vec<(String, String)>,
    notice: Option<String>,
    funnel_svg: String,
    /// The funnel's stages with their counts.
    stages: Vec<(String, u64)>,
    /// Bounced, unsubscribed and complained: (label, count).
    outcomes: Vec<(String, i64)>,
    templates: Vec<EmailTemplate>,
    send: Option<CampaignSend>,
    progress: Option<Progress>,
    /// What may be done with the sending now (`resume`, `cancel`), besides sending anew.
    send_actions: Vec<String>,
    may_send: bool,
}

fn move_label(to: &str) -> String {
    match to {
        "active" => "Start".into(),
        "completed" => "Complete".into(),
        "cancelled" => "Cancel campaign".into(),
        other => other.to_string(),
    }
}

/// The funnel's stages and the path's ends, from the members per milestone.
/// Labelled counts, in order.
type Labelled<N> = Vec<(String, N)>;

fn funnel_parts(counts: &[(ResponseState, i64)]) -> (Labelled<u64>, Labelled<i64>) {
    let mut stages = vec![];
    let mut ends = vec![];
    for (s, n) in counts {
        let mut label = s.as_str().to_string();
        if let Some(first) = label.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        if s.is_terminal() { ends.push((label, *n)) } else { stages.push((label, (*n).max(0) as u64)) }
    }
    (stages, ends)
}

async fn page(state: &AppState, user: &UiUser, id: i64, notice: Option<(StatusCode, String)>) -> Result<Response, ApiError> {
    let actor = user.actor();
    let c = state.store.get_campaign(actor, id).await?;
    let owners = users(state, actor).await?;
    let owner = c.data.owner_id.and_then(|o| owners.iter().find(|(i, _)| *i == o)).map(|(_, n)| n.clone()).unwrap_or_default();
    let counts = state.store.campaign_funnel(actor, id).await?;
    let (stages, outcomes) = funnel_parts(&counts);
    let send = match state.store.campaign_send(actor, id).await {
        Ok(s) => Some(s),
        Err(StoreError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let progress = send.as_ref().map(|s| {
        let of = |names: &[&str]| s.mails.iter().filter(|m| names.contains(&m.state.as_str())).map(|m| m.count).sum::<i64>();
        let sent = of(&["sent"]);
        let queued = s.mails.iter().map(|m| m.count).sum::<i64>();
        Progress { sent, queued, not_sent: of(&["failed", "skipped"]), percent: if queued > 0 { sent * 100 / queued } else { 0 } }
    });
    let send_actions = send.as_ref().map(|s| s.state.allowed_actions().iter().filter(|a| **a != "send").map(|a| a.to_string()).collect());
    let may_change = actor.perms.allows(Object::Campaign, Action::Update);
    let may_send = c.data.channel == "email" && send.as_ref().is_none_or(|s| s.state.allowed_actions().contains(&"send"));
    let templates = if may_send { state.store.list_email_templates(actor).await? } else { vec![] };
    let spent_share = (c.data.budget_minor > 0).then(|| charts::fmt_percent(c.data.actual_spend_minor as f64 / c.data.budget_minor as f64));
    let (status, notice) = match notice {
        Some((s, n)) => (s, Some(n)),
        None => (StatusCode::OK, None),
    };
    let p = DetailPage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        owner,
        budget: format_minor(c.data.budget_minor, &c.data.currency),
        spend: format_minor(c.data.actual_spend_minor, &c.data.currency),
        spent_share,
        may_change,
        moves: c.data.status.next().iter().map(|s| (s.as_str().to_string(), move_label(s.as_str()))).collect(),
        notice,
        funnel_svg: charts::funnel("Responses of people (machine opens and clicks left out)", &stages),
        stages,
        outcomes,
        templates,
        progress,
        send_actions: send_actions.unwrap_or_default(),
        send,
        may_send,
        c,
    };
    Ok((status, render(&p)).into_response())
}

async fn detail(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>) -> Result<Response, ApiError> {
    page(&state, &user, id, None).await
}

/// After a button: back to the page, or the page again with why the button was refused.
async fn after(state: &AppState, user: &UiUser, id: i64, outcome: Result<(), StoreError>) -> Result<Response, ApiError> {
    match outcome {
        Ok(()) => Ok(Redirect::to(&format!("/campaigns/{id}")).into_response()),
        Err(e) => page(state, user, id, Some(refusal(e)?)).await,
    }
}

async fn move_status(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let input = CampaignInput { status: form.get("status").cloned(), ..Default::default() };
    let r = state.store.update_campaign(user.actor(), id, form_version(&form), |cur| input.apply(Some(cur))).await.map(|_| ());
    after(&state, &user, id, r).await
}

async fn add_audience(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let c = state.store.get_campaign(user.actor(), id).await?;
    let r = match c.data.segment_id {
        Some(s) => state.store.add_members(user.actor(), id, AddMembers { person_ids: vec![], segment_id: Some(s) }).await.map(|_| ()),
        None => Err(StoreError::Invalid(rapport_domain::ValidationErrors::single("segment_id", "the campaign has no audience segment"))),
    };
    after(&state, &user, id, r).await
}

async fn send(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let r = match form.get("template_id").and_then(|t| t.parse::<i64>().ok()) {
        Some(template_id) => {
            let send_at = form.get("send_at").filter(|s| !s.trim().is_empty()).cloned();
            state.store.send_campaign(user.actor(), id, SendInput { template_id, send_at, ..Default::default() }).await.map(|_| ())
        }
        None => Err(StoreError::Invalid(rapport_domain::ValidationErrors::single("template_id", "choose a template"))),
    };
    after(&state, &user, id, r).await
}

async fn act(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let action = form.get("action").map(String::as_str).unwrap_or("");
    let r = state.store.act_on_campaign_send(user.actor(), id, action).await.map(|_| ());
    after(&state, &user, id, r).await
}
