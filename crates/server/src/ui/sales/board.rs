//! The pipeline board: one column per stage with its deals as cards, largest first. A column
//! shows its first [`CARDS_PER_COLUMN`] cards, its count and totals, and fetches more on
//! demand, so a pipeline of 10,000 open deals renders with one query per column and one for
//! the totals (no query per card). Dragging a card moves the deal through
//! `/opportunities/{id}/move` (see [`super::opportunities`]); the learned win probabilities
//! arrive afterwards from `/pipelines/{id}/win_probability.json`, so the model never holds the
//! board up.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Json, Redirect, Response};
use axum::routing::get;
use rapport_domain::permissions::{Action, Object};
use rapport_domain::query::{ListParams, SortField};
use rapport_domain::sales::opportunity::{Opportunity, SPEC};
use rapport_domain::sales::pipeline::Pipeline;
use serde_json::{Value, json};

use super::money;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Path, QueryPairs};
use crate::sales::win_probability::{WinError, win_probability};
use crate::ui::records::users;
use crate::ui::{UiUser, render, urlencode};

/// Cards a column shows before "show more".
pub(super) const CARDS_PER_COLUMN: u32 = 50;

pub(super) fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/pipelines/board", get(default_board))
        .route("/pipelines/{id}", get(|Path(id): Path<i64>| async move { Redirect::to(&format!("/pipelines/{id}/board")) }))
        .route("/pipelines/{id}/board", get(board))
        .route("/pipelines/{id}/board/cards", get(more_cards))
        .route("/pipelines/{id}/win_probability.json", get(win_json))
        .route("/lookup/pipelines", get(lookup))
}

/// A deal as a card.
pub(super) struct Card {
    pub id: i64,
    pub version: i64,
    pub name: String,
    pub amount: String,
    pub company: String,
    pub owner: String,
    pub status: &'static str,
    pub stage: String,
    pub next_step: String,
}

impl Card {
    pub(super) fn of(o: &Opportunity, owners: &[(i64, String)]) -> Card {
        let owner = o.data.owner_id.and_then(|id| owners.iter().find(|(i, _)| *i == id)).map(|(_, n)| n.clone()).unwrap_or_default();
        Card {
            id: o.id,
            version: o.version,
            name: o.data.name.clone(),
            amount: money(o.data.amount_minor, &o.data.currency),
            company: o.company_name.clone().or_else(|| o.customer_name.clone()).unwrap_or_default(),
            owner,
            status: o.data.status.as_str(),
            stage: o.data.stage.clone(),
            next_step: o.data.next_step.clone().unwrap_or_default(),
        }
    }

    /// Whether the card offers "reopen" instead of moving.
    pub fn closed(&self) -> bool {
        self.status != "open"
    }
}

/// One stage's column.
struct Column {
    key: String,
    name: String,
    probability: i64,
    outcome: &'static str,
    count: i64,
    totals: Vec<String>,
    cards: Vec<Card>,
    more: Option<String>,
}

#[derive(Template)]
#[template(path = "sales_board.html")]
struct BoardPage {
    user_name: String,
    csrf: String,
    pipeline_id: i64,
    pipeline_name: String,
    pipelines: Vec<(i64, String)>,
    columns: Vec<Column>,
    open_stages: Vec<(String, String)>,
    may_create: bool,
    may_move: bool,
}

/// The cards after the first page of a column, and the link to the next page.
#[derive(Template)]
#[template(path = "sales_cards.html")]
pub(super) struct CardsFragment {
    pub csrf: String,
    pub pipeline_id: i64,
    pub open_stages: Vec<(String, String)>,
    pub may_move: bool,
    pub cards: Vec<Card>,
    pub more: Option<String>,
}

/// The open stages of a pipeline as (key, name): where a closed deal can be reopened into.
pub(super) fn open_stages(p: &Pipeline) -> Vec<(String, String)> {
    p.data.stages.iter().filter(|s| !s.outcome.is_closed()).map(|s| (s.key.clone(), s.name.clone())).collect()
}

fn column_params(pipeline_id: i64, stage: &str, cursor: Option<String>) -> ListParams {
    let amount = SPEC.param("amount_minor").expect("opportunities have amounts");
    ListParams { limit: CARDS_PER_COLUMN, sort: SortField::Field(amount), desc: true, cursor, ..Default::default() }
        .with(&SPEC, "pipeline_id", pipeline_id)
        .with(&SPEC, "stage", stage)
}

fn more_url(pipeline_id: i64, stage: &str, cursor: Option<String>) -> Option<String> {
    cursor.map(|c| format!("/pipelines/{pipeline_id}/board/cards?stage={}&cursor={c}", urlencode(stage)))
}

async fn default_board(State(state): State<AppState>, user: UiUser) -> Result<Response, ApiError> {
    let all = state.store.all_pipelines(user.actor()).await?;
    match all.first() {
        Some(p) => Ok(Redirect::to(&format!("/pipelines/{}/board", p.id)).into_response()),
        None => Ok(Redirect::to("/opportunities").into_response()),
    }
}

async fn board(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let actor = user.actor();
    let pipeline = state.store.get_pipeline(actor, id).await?;
    let pipelines = state.store.all_pipelines(actor).await?.into_iter().map(|p| (p.id, p.data.name)).collect();
    let owners = users(&state, actor).await?;
    let mut totals: HashMap<String, (i64, Vec<String>)> = HashMap::new();
    for t in state.store.stage_totals(actor, id).await? {
        let e = totals.entry(t.stage.clone()).or_default();
        e.0 += t.count;
        e.1.push(money(t.amount_minor, &t.currency));
    }
    let mut columns = Vec::with_capacity(pipeline.data.stages.len());
    for s in &pipeline.data.stages {
        let (count, sums) = totals.remove(&s.key).unwrap_or_default();
        let page = if count > 0 { Some(state.store.list_opportunities(actor, &column_params(id, &s.key, None)).await?) } else { None };
        let (cards, next) = match page {
            Some(p) => (p.data.iter().map(|o| Card::of(o, &owners)).collect(), p.next_cursor),
            None => (vec![], None),
        };
        columns.push(Column {
            key: s.key.clone(),
            name: s.name.clone(),
            probability: s.probability,
            outcome: s.outcome.as_str(),
            count,
            totals: sums,
            cards,
            more: more_url(id, &s.key, next),
        });
    }
    let page = BoardPage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        pipeline_id: id,
        pipeline_name: pipeline.data.name.clone(),
        open_stages: open_stages(&pipeline),
        pipelines,
        columns,
        may_create: actor.perms.allows(Object::Opportunity, Action::Create),
        may_move: actor.perms.allows(Object::Opportunity, Action::Update),
    };
    Ok(render(&page))
}

/// `/pipelines/{id}/board/cards?stage=…&cursor=…`: the next cards of a column, as HTML.
async fn more_cards(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    QueryPairs(pairs): QueryPairs,
) -> Result<Response, ApiError> {
    let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    let stage = get("stage").ok_or_else(|| ApiError::bad_field("stage", "name the column's stage"))?;
    let pipeline = state.store.get_pipeline(user.actor(), id).await?;
    let owners = users(&state, user.actor()).await?;
    let page =
        state.store.list_opportunities(user.actor(), &column_params(id, &stage, get("cursor"))).await.map_err(crate::api::list_error)?;
    let fragment = CardsFragment {
        csrf: user.csrf.clone(),
        pipeline_id: id,
        open_stages: open_stages(&pipeline),
        may_move: user.actor().perms.allows(Object::Opportunity, Action::Update),
        cards: page.data.iter().map(|o| Card::of(o, &owners)).collect(),
        more: more_url(id, &stage, page.next_cursor),
    };
    Ok(render(&fragment))
}

/// The board's (and the deal page's) view of the model: each open deal's probability and
/// strongest factor, the held-out AUC and the weighted pipeline; or why there is no model.
/// With `opportunity=ID`, that deal's prediction comes with all its factors as `deal`.
async fn win_json(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    QueryPairs(pairs): QueryPairs,
) -> Result<Response, ApiError> {
    let one: Option<i64> = pairs.iter().find(|(k, _)| k == "opportunity").and_then(|(_, v)| v.parse().ok());
    let report = match win_probability(&state.store, user.actor(), id).await {
        Ok(r) => r,
        Err(WinError::Data(m)) => return Ok(Json(json!({"ok": false, "message": m})).into_response()),
        Err(WinError::Store(e)) => return Err(e.into()),
        Err(e @ WinError::Task(_)) => return Err(ApiError::Internal(e.to_string())),
    };
    let predictions: serde_json::Map<String, Value> = report
        .predictions
        .iter()
        .map(|p| {
            let top = p.factors.first().map(|f| f.label.clone()).unwrap_or_default();
            (p.opportunity_id.to_string(), json!({"p": p.probability, "stage_p": p.stage_probability, "top": top}))
        })
        .collect();
    let weighted: Vec<Value> = report
        .weighted_pipeline
        .iter()
        .map(|w| {
            json!({"currency": w.currency, "open": w.open_deals, "amount": money(w.amount_minor, &w.currency),
                "by_stage": money(w.weighted_by_stage_minor, &w.currency), "by_model": money(w.weighted_by_model_minor, &w.currency)})
        })
        .collect();
    let deal = one.and_then(|o| report.prediction(o)).map(|p| {
        let factors: Vec<Value> = p.factors.iter().map(|f| json!({"label": f.label, "contribution": f.contribution})).collect();
        json!({"p": p.probability, "stage_p": p.stage_probability, "factors": factors})
    });
    let h = &report.model.holdout;
    Ok(Json(json!({"ok": true, "auc": h.auc, "accuracy": h.accuracy, "n_closed": report.model.n_closed, "predictions": predictions,
        "weighted": weighted, "deal": deal}))
    .into_response())
}

/// `/lookup/pipelines?q=…`: the pipeline type-ahead of the deal form.
async fn lookup(State(state): State<AppState>, user: UiUser, QueryPairs(pairs): QueryPairs) -> Result<Response, ApiError> {
    let q = pairs.iter().find(|(k, _)| k == "q").map(|(_, v)| rapport_domain::text::fold(v)).unwrap_or_default();
    let found: Vec<Value> = state
        .store
        .all_pipelines(user.actor())
        .await?
        .into_iter()
        .filter(|p| rapport_domain::text::fold(&p.data.name).contains(q.trim()))
        .map(|p| json!({"id": p.id, "title": p.data.name}))
        .collect();
    Ok(Json(found).into_response())
}
