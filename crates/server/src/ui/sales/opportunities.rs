//! Opportunity pages: the shared list and form (see [`crate::ui::records`]), the deal's own
//! page with its stage history and win-probability factors, and the stage move the board's
//! drag and drop (and the deal page's move form) posts.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Redirect, Response};
use axum::routing::{get, post};
use rapport_domain::permissions::Actor;
use rapport_domain::query::{ListParams, Page};
use rapport_domain::sales::opportunity::{Opportunity, OpportunityInput, SPEC, StageChange};
use rapport_domain::sales::pipeline::Pipeline;
use rapport_store::Error as StoreError;
use serde_json::{Value, json};

use super::board::{Card, CardsFragment, open_stages};
use super::{duration, money, short_time};
use crate::AppState;
use crate::api::sales::opportunities::OpportunityHistory;
use crate::error::ApiError;
use crate::extract::{Form, Path};
use crate::ui::records::{Pages, UiRecord, input_of, routes, to_json, users};
use crate::ui::{UiUser, render};

pub(super) fn router() -> axum::Router<AppState> {
    routes::<Opportunity>()
        .route("/opportunities/{id}", get(detail))
        .route("/opportunities/{id}/move", post(move_stage))
        .route("/opportunities/{id}/card", get(card))
}

impl UiRecord for Opportunity {
    const PAGES: Pages = Pages {
        spec: &SPEC,
        columns: &["name", "company_name", "amount_minor", "stage_name", "status", "owner_id", "expected_close_date", "pipeline_name"],
        filters: &["status", "owner_id"],
        sorts: &[
            ("-amount_minor", "Largest first"),
            ("expected_close_date", "Closing soonest"),
            ("name", "Name A–Z"),
            ("-created_at", "Newest"),
            ("relevance", "Best match"),
        ],
        search_hint: "Search name, next step…",
        new_label: "New deal",
        form: &[
            (
                "",
                &[
                    "name",
                    "amount_minor",
                    "currency",
                    "expected_close_date",
                    "pipeline_id",
                    "owner_id",
                    "customer_id",
                    "company_id",
                    "next_step",
                ],
            ),
            ("", &["description"]),
        ],
    };

    async fn list(state: &AppState, actor: &Actor, p: &ListParams) -> Result<Page<Value>, StoreError> {
        let page = state.store.list_opportunities(actor, p).await?;
        Ok(Page { data: page.data.iter().map(to_json).collect(), next_cursor: page.next_cursor, sync_token: page.sync_token })
    }

    async fn get(state: &AppState, actor: &Actor, id: i64) -> Result<Value, StoreError> {
        Ok(to_json(&state.store.get_opportunity(actor, id).await?))
    }

    async fn create(state: &AppState, actor: &Actor, input: Value) -> Result<i64, StoreError> {
        let input: OpportunityInput = input_of(input)?;
        Ok(state.store.create_opportunity(actor, input).await?.id)
    }

    async fn update(state: &AppState, actor: &Actor, id: i64, version: Option<i64>, input: Value) -> Result<(), StoreError> {
        let input: OpportunityInput = input_of(input)?;
        state.store.update_opportunity(actor, id, version, input).await.map(|_| ())
    }

    async fn delete(state: &AppState, actor: &Actor, id: i64, version: Option<i64>) -> Result<(), StoreError> {
        state.store.delete_opportunity(actor, id, version).await
    }
}

/// One row of the history table: the stage entered, when, by whom, and how long it stayed.
struct HistoryRow {
    at: String,
    from: String,
    to: String,
    outcome: &'static str,
    who: String,
    stayed: String,
}

#[derive(Template)]
#[template(path = "sales_opportunity.html")]
struct DetailPage {
    user_name: String,
    csrf: String,
    o: Opportunity,
    amount: String,
    owner: String,
    stages: Vec<(String, String)>,
    history: Vec<HistoryRow>,
    time_in_stages: Vec<(String, String, u32)>,
    cycle: Option<String>,
    in_stage: Option<String>,
    /// Where the page's script fetches this open deal's win probability and factors.
    win_url: Option<String>,
    notice: Option<String>,
    timeline: super::TimelineCard,
}

fn stage_name(p: Option<&Pipeline>, key: &str) -> String {
    p.and_then(|p| p.data.stage(key)).map(|s| s.name.clone()).unwrap_or_else(|| key.to_string())
}

async fn detail_page(state: &AppState, user: &UiUser, id: i64, notice: Option<String>, status: StatusCode) -> Result<Response, ApiError> {
    let actor = user.actor();
    let o = state.store.get_opportunity(actor, id).await?;
    let pipelines = state.store.all_pipelines(actor).await?;
    let pipeline = pipelines.iter().find(|p| Some(p.id) == o.data.pipeline_id);
    let owners = users(state, actor).await?;
    let name_of = |id: Option<i64>| id.and_then(|id| owners.iter().find(|(i, _)| *i == id)).map(|(_, n)| n.clone()).unwrap_or_default();
    let changes: Vec<StageChange> = state.store.opportunity_history(actor, id).await?;
    let now = chrono::Utc::now();
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&chrono::Utc));
    let history = changes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let end = match changes.get(i + 1) {
                Some(next) => at(&next.at),
                None if c.outcome.is_closed() => None,
                None => Some(now),
            };
            let stayed = match (at(&c.at), end) {
                (Some(a), Some(b)) => duration((b - a).num_seconds()),
                _ => String::new(),
            };
            let in_pipeline = pipelines.iter().find(|p| Some(p.id) == c.pipeline_id);
            HistoryRow {
                at: short_time(&c.at),
                from: c.from_stage.as_deref().map(|f| stage_name(pipeline, f)).unwrap_or_default(),
                to: stage_name(in_pipeline, &c.to_stage),
                outcome: c.outcome.as_str(),
                who: name_of(c.actor_id),
                stayed,
            }
        })
        .collect();
    let measured = OpportunityHistory::of(changes);
    let time_in_stages = measured
        .time_in_stages
        .iter()
        .map(|t| (stage_name(pipelines.iter().find(|p| Some(p.id) == t.pipeline_id), &t.stage), duration(t.seconds), t.visits))
        .collect();
    // The model learns from every closed deal of the pipeline: it arrives after the page.
    let win_url =
        o.data.pipeline_id.filter(|_| !o.data.status.is_closed()).map(|p| format!("/pipelines/{p}/win_probability.json?opportunity={id}"));
    let timeline = super::timeline_card(state, user, rapport_domain::timeline::Subject::Opportunity(id), None).await?;
    let page = DetailPage {
        timeline,
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        amount: money(o.data.amount_minor, &o.data.currency),
        owner: name_of(o.data.owner_id),
        stages: match (pipeline, o.data.status.is_closed()) {
            (Some(p), true) => open_stages(p),
            (Some(p), false) => p.data.stages.iter().map(|s| (s.key.clone(), s.name.clone())).collect(),
            (None, _) => vec![],
        },
        history,
        time_in_stages,
        cycle: measured.cycle_seconds.map(duration),
        in_stage: measured.seconds_in_current_stage.map(duration),
        win_url,
        notice,
        o,
    };
    Ok((status, render(&page)).into_response())
}

async fn detail(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>) -> Result<Response, ApiError> {
    detail_page(&state, &user, id, None, StatusCode::OK).await
}

/// Whether the caller is the board's script, which wants JSON back.
fn wants_json(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("application/json"))
}

/// One card as HTML, for the board to put back after a move.
fn card_html(state_csrf: &str, pipeline: Option<&Pipeline>, may_move: bool, card: Card) -> String {
    let fragment = CardsFragment {
        csrf: state_csrf.to_string(),
        pipeline_id: pipeline.map(|p| p.id).unwrap_or(0),
        open_stages: pipeline.map(open_stages).unwrap_or_default(),
        may_move,
        cards: vec![card],
        more: None,
    };
    fragment.render().unwrap_or_default()
}

async fn card_json(state: &AppState, user: &UiUser, o: &Opportunity) -> Result<Value, ApiError> {
    let owners = users(state, user.actor()).await?;
    let pipeline = match o.data.pipeline_id {
        Some(pid) => Some(state.store.get_pipeline(user.actor(), pid).await?),
        None => None,
    };
    let may_move = user.actor().perms.allows(rapport_domain::permissions::Object::Opportunity, rapport_domain::permissions::Action::Update);
    let html = card_html(&user.csrf, pipeline.as_ref(), may_move, Card::of(o, &owners));
    Ok(json!({"id": o.id, "version": o.version, "stage": o.data.stage, "status": o.data.status.as_str(), "html": html}))
}

/// `/opportunities/{id}/card`: the card as it is now (after someone else moved it first).
async fn card(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let o = state.store.get_opportunity(user.actor(), id).await?;
    Ok(Json(card_json(&state, &user, &o).await?).into_response())
}

/// `POST /opportunities/{id}/move` (`stage`, `version`, and `lost_reason` or `reopen` as the
/// move needs): the board's drag and drop and the deal page's move form. The script gets JSON
/// (the moved card, or the problem: 412 when someone moved it first, 409 naming the allowed
/// actions, 422 naming the field); a plain form post goes back where it came from, or shows
/// the deal page with what went wrong.
async fn move_stage(
    State(state): State<AppState>,
    user: UiUser,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let text = |k: &str| form.get(k).map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let input = OpportunityInput {
        stage: text("stage"),
        lost_reason: text("lost_reason").map(Some),
        reopen: matches!(form.get("reopen").map(String::as_str), Some("1" | "on" | "true")),
        ..Default::default()
    };
    let moved = state.store.update_opportunity(user.actor(), id, crate::ui::form_version(&form), input).await;
    match (moved, wants_json(&headers)) {
        (Ok(o), true) => Ok(Json(card_json(&state, &user, &o).await?).into_response()),
        (Ok(o), false) => {
            let back =
                text("back").filter(|b| b.starts_with("/pipelines/") && !b.contains("//")).unwrap_or(format!("/opportunities/{}", o.id));
            Ok(Redirect::to(&back).into_response())
        }
        (Err(e), true) => Ok(ApiError::from(e).into_response()),
        (Err(e), false) => {
            let (status, detail) = crate::ui::refusal(e)?;
            detail_page(&state, &user, id, Some(detail), status).await
        }
    }
}
