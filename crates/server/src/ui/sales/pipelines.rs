//! The admins' pipeline editor: pipelines and their stages (name, win probability, outcome,
//! order), with removals refused while deals are in the stage. Everyone who reads pipelines
//! sees the list; the store refuses changes to roles without the grant.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rapport_domain::permissions::{Action, Object};
use rapport_domain::sales::pipeline::{Pipeline, PipelineInput, StageInput, StageOutcome};
use rapport_store::Error as StoreError;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Form, Path};
use crate::ui::{UiUser, form_version, render};

/// Blank rows offered for new stages.
const NEW_ROWS: usize = 2;

pub(super) fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/admin/pipelines", get(list).post(create))
        .route("/admin/pipelines/{id}", get(edit).post(save))
        .route("/admin/pipelines/{id}/delete", post(delete))
}

/// One stage row of the editor.
struct StageRow {
    index: usize,
    key: String,
    name: String,
    probability: String,
    outcome: String,
    position: usize,
    removed: bool,
}

struct Editing {
    id: i64,
    version: i64,
    name: String,
    rows: Vec<StageRow>,
}

#[derive(Template)]
#[template(path = "sales_pipelines.html")]
struct PipelinesPage {
    user_name: String,
    csrf: String,
    pipelines: Vec<(i64, String, usize)>,
    editing: Option<Editing>,
    notice: Option<String>,
    may_edit: bool,
}

fn rows_of(p: &Pipeline) -> Vec<StageRow> {
    let mut rows: Vec<StageRow> = p
        .data
        .stages
        .iter()
        .enumerate()
        .map(|(i, s)| StageRow {
            index: i,
            key: s.key.clone(),
            name: s.name.clone(),
            probability: s.probability.to_string(),
            outcome: s.outcome.as_str().into(),
            position: i + 1,
            removed: false,
        })
        .collect();
    let n = rows.len();
    rows.extend((0..NEW_ROWS).map(|j| StageRow {
        index: n + j,
        key: String::new(),
        name: String::new(),
        probability: String::new(),
        outcome: "open".into(),
        position: n + j + 1,
        removed: false,
    }));
    rows
}

async fn page(state: &AppState, user: &UiUser, editing: Option<Editing>, notice: Option<String>) -> Result<Response, ApiError> {
    let pipelines = state.store.all_pipelines(user.actor()).await?.into_iter().map(|p| (p.id, p.data.name, p.data.stages.len())).collect();
    let status = if notice.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = PipelinesPage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        pipelines,
        editing,
        notice,
        may_edit: user.actor().perms.allows(Object::Pipeline, Action::Update),
    };
    Ok((status, render(&page)).into_response())
}

async fn list(State(state): State<AppState>, user: UiUser) -> Result<Response, ApiError> {
    page(&state, &user, None, None).await
}

async fn edit(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let p = state.store.get_pipeline(user.actor(), id).await?;
    let editing = Editing { id, version: p.version, name: p.data.name.clone(), rows: rows_of(&p) };
    page(&state, &user, Some(editing), None).await
}

/// What the store refuses about a submission, as a notice; anything else is answered as is.
fn notice_of(e: StoreError, labels: &[String]) -> Result<String, ApiError> {
    // `stages.2.name` names the third submitted stage: say which one.
    let readable = |field: &str, message: &str| match field.strip_prefix("stages.").and_then(|r| r.split_once('.')) {
        Some((n, f)) => {
            let label = n.parse::<usize>().ok().and_then(|n| labels.get(n)).cloned().unwrap_or_default();
            format!("stage {label}: {f} {message}")
        }
        None => format!("{field}: {message}"),
    };
    match e {
        StoreError::Invalid(v) => Ok(v.0.iter().map(|e| readable(&e.field, &e.message)).collect::<Vec<_>>().join("; ")),
        StoreError::Conflict { message, .. } => Ok(message),
        e @ StoreError::VersionMismatch { .. } => Ok(format!("{e}. Reload the page to see their change, then apply yours again.")),
        other => Err(other.into()),
    }
}

/// The stage rows of a submitted editor as the pipeline's new stage list (in the order of
/// their positions, removed and empty new rows left out), with each stage's label for notices.
fn stages_of(form: &HashMap<String, String>) -> (Vec<StageInput>, Vec<String>, Vec<StageRow>) {
    let get = |i: usize, f: &str| form.get(&format!("stage.{i}.{f}")).map(|s| s.trim().to_string()).unwrap_or_default();
    let mut rows: Vec<StageRow> = (0..=rapport_domain::sales::pipeline::MAX_STAGES + NEW_ROWS)
        .filter(|i| form.contains_key(&format!("stage.{i}.name")))
        .map(|i| StageRow {
            index: i,
            key: get(i, "key"),
            name: get(i, "name"),
            probability: get(i, "probability"),
            outcome: if get(i, "outcome").is_empty() { "open".into() } else { get(i, "outcome") },
            position: get(i, "position").parse().unwrap_or(i + 1),
            removed: form.contains_key(&format!("stage.{i}.remove")),
        })
        .collect();
    rows.sort_by_key(|r| (r.position, r.index));
    let blank = |r: &StageRow| r.key.is_empty() && r.name.is_empty();
    let kept: Vec<&StageRow> = rows.iter().filter(|r| !r.removed && !blank(r)).collect();
    let labels = kept.iter().map(|r| format!("'{}'", if r.name.is_empty() { &r.key } else { &r.name })).collect();
    let stages = kept
        .iter()
        .map(|r| StageInput {
            key: (!r.key.is_empty()).then(|| r.key.clone()),
            name: (!r.name.is_empty()).then(|| r.name.clone()),
            // Kept as typed when not a number, so the domain names the field.
            probability: r.probability.parse().ok().or(if r.probability.is_empty() { None } else { Some(-1) }),
            outcome: if r.key.is_empty() { StageOutcome::parse(&r.outcome) } else { None },
        })
        .collect();
    (stages, labels, rows)
}

async fn create(State(state): State<AppState>, user: UiUser, Form(form): Form<HashMap<String, String>>) -> Result<Response, ApiError> {
    let input = PipelineInput { name: form.get("name").cloned(), stages: None };
    match state.store.create_pipeline(user.actor(), input).await {
        Ok(p) => Ok(Redirect::to(&format!("/admin/pipelines/{}", p.id)).into_response()),
        Err(e) => {
            let notice = notice_of(e, &[])?;
            page(&state, &user, None, Some(notice)).await
        }
    }
}

async fn save(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let (stages, labels, rows) = stages_of(&form);
    let input = PipelineInput { name: form.get("name").cloned(), stages: Some(stages) };
    match state.store.update_pipeline(user.actor(), id, form_version(&form), input).await {
        Ok(p) => Ok(Redirect::to(&format!("/admin/pipelines/{}", p.id)).into_response()),
        Err(e) => {
            let notice = notice_of(e, &labels)?;
            let editing =
                Editing { id, version: form_version(&form).unwrap_or(0), name: form.get("name").cloned().unwrap_or_default(), rows };
            page(&state, &user, Some(editing), Some(notice)).await
        }
    }
}

async fn delete(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    match state.store.delete_pipeline(user.actor(), id, form_version(&form)).await {
        Ok(()) => Ok(Redirect::to("/admin/pipelines").into_response()),
        Err(e) => {
            let notice = notice_of(e, &[])?;
            let p = state.store.get_pipeline(user.actor(), id).await?;
            let editing = Editing { id, version: p.version, name: p.data.name.clone(), rows: rows_of(&p) };
            page(&state, &user, Some(editing), Some(notice)).await
        }
    }
}
