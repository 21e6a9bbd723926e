//! `/marketing/sequences`: the sequence editor. The list with a form for a new sequence (its
//! first step sends a template), and a sequence's page: its settings, its state with the
//! actions allowed now, its steps (each a form of its own: save, move up or down, remove), a
//! form to add a step, and who is enrolled where (each active one with a button that takes
//! them out). Every change goes through the same store
//! functions as the API (checked, versioned with the page's version, audited); a refused one
//! shows the page again with the errors, each named by its field (`steps[2].then_step`).

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rapport_domain::marketing::sequences::{Condition, Enrollment, Sequence, SequenceInput, Step};
use rapport_domain::marketing::templates::EmailTemplate;
use rapport_domain::query::ListParams;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Form, Path};
use crate::ui::{UiUser, render};

pub(super) fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/marketing/sequences", get(list).post(create))
        .route("/marketing/sequences/{id}", get(page).post(save))
        .route("/marketing/sequences/{id}/steps", post(steps))
        .route("/marketing/sequences/{id}/actions", post(act))
        .route("/marketing/sequences/{id}/enrollments/{enrollment}/exit", post(exit))
}

/// A name and id to choose from.
struct Choice {
    id: i64,
    name: String,
}

/// One step as the editor shows it.
struct StepView {
    index: usize,
    kind: &'static str,
    summary: String,
    template_id: i64,
    days: i64,
    hours: i64,
    condition: &'static str,
    condition_segment_id: i64,
    then_step: String,
    else_step: String,
    segment_id: i64,
    message: String,
}

fn view(index: usize, s: &Step, templates: &[EmailTemplate], segments: &[Choice]) -> StepView {
    let mut v = StepView {
        index,
        kind: s.kind(),
        summary: String::new(),
        template_id: 0,
        days: 0,
        hours: 0,
        condition: "",
        condition_segment_id: 0,
        then_step: String::new(),
        else_step: String::new(),
        segment_id: 0,
        message: String::new(),
    };
    let template = |id: i64| templates.iter().find(|t| t.id == id).map(|t| t.data.name.clone()).unwrap_or_else(|| format!("template {id}"));
    let segment = |id: i64| segments.iter().find(|s| s.id == id).map(|s| s.name.clone()).unwrap_or_else(|| format!("segment {id}"));
    let target = |t: &Option<usize>| t.map(|t| t.to_string()).unwrap_or_default();
    v.summary = match s {
        Step::SendEmail { template_id } => {
            v.template_id = *template_id;
            format!("Send “{}”", template(*template_id))
        }
        Step::Wait { days, hours } => {
            (v.days, v.hours) = (*days, *hours);
            format!("Wait {days} days {hours} hours")
        }
        Step::Branch { condition, then_step, else_step } => {
            (v.then_step, v.else_step) = (target(then_step), target(else_step));
            let what = match condition {
                Condition::Opened => "opened the last mail".to_string(),
                Condition::Clicked => "clicked in the last mail".to_string(),
                Condition::Converted => "converted".to_string(),
                Condition::InSegment { segment_id } => {
                    v.condition_segment_id = *segment_id;
                    format!("is in “{}”", segment(*segment_id))
                }
            };
            v.condition = match condition {
                Condition::Opened => "opened",
                Condition::Clicked => "clicked",
                Condition::Converted => "converted",
                Condition::InSegment { .. } => "in_segment",
            };
            let to = |t: &Option<usize>| t.map(|t| format!("step {t}")).unwrap_or_else(|| "the next step".into());
            format!("If the person {what}: go on at {}, else at {}", to(then_step), to(else_step))
        }
        Step::AddToList { segment_id } => {
            v.segment_id = *segment_id;
            format!("Add to the list “{}”", segment(*segment_id))
        }
        Step::NotifyOwner { message } => {
            v.message = message.clone().unwrap_or_default();
            "Notify the owner".to_string()
        }
    };
    v
}

#[derive(Template)]
#[template(path = "marketing_sequences.html")]
struct ListPage {
    user_name: String,
    csrf: String,
    sequences: Vec<Sequence>,
    campaigns: Vec<Choice>,
    templates: Vec<EmailTemplate>,
    errors: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "marketing_sequence.html")]
struct EditPage {
    user_name: String,
    csrf: String,
    s: Sequence,
    steps: Vec<StepView>,
    end: usize,
    campaigns: Vec<Choice>,
    templates: Vec<EmailTemplate>,
    segments: Vec<Choice>,
    lists: Vec<Choice>,
    /// The entry segment's id (0: none).
    entry_segment: i64,
    allowed: Vec<&'static str>,
    enrollments: Vec<Enrollment>,
    errors: Vec<(String, String)>,
}

struct Choices {
    campaigns: Vec<Choice>,
    templates: Vec<EmailTemplate>,
    segments: Vec<Choice>,
    lists: Vec<Choice>,
}

async fn choices(state: &AppState, user: &UiUser) -> Result<Choices, ApiError> {
    let actor = user.actor();
    let campaigns = state.store.all_campaigns(actor).await?;
    let campaigns = campaigns.into_iter().filter(|c| c.data.channel == "email").map(|c| Choice { id: c.id, name: c.data.name }).collect();
    let templates = state.store.list_email_templates(actor).await?;
    let page = state.store.list_segments(actor, &ListParams { limit: 500, ..ListParams::default() }).await?;
    let lists = page.data.iter().filter(|s| s.data.kind == "static").map(|s| Choice { id: s.id, name: s.data.name.clone() }).collect();
    let segments = page.data.into_iter().map(|s| Choice { id: s.id, name: s.data.name }).collect();
    Ok(Choices { campaigns, templates, segments, lists })
}

fn errors_of(e: rapport_store::Error) -> Result<Vec<(String, String)>, ApiError> {
    match e {
        rapport_store::Error::Invalid(v) => Ok(v.0.into_iter().map(|f| (f.field, f.message)).collect()),
        rapport_store::Error::VersionMismatch { current } => {
            Ok(vec![("version".into(), format!("someone changed the sequence meanwhile (now version {current}): nothing was saved"))])
        }
        rapport_store::Error::Refused(r) => Ok(vec![(r.field.unwrap_or("state").to_string(), r.reason)]),
        other => Err(other.into()),
    }
}

async fn list(State(state): State<AppState>, user: UiUser) -> Result<Response, ApiError> {
    list_page(&state, &user, Vec::new()).await
}

async fn list_page(state: &AppState, user: &UiUser, errors: Vec<(String, String)>) -> Result<Response, ApiError> {
    let sequences = state.store.list_sequences(user.actor(), None, 200).await?.data;
    let c = choices(state, user).await?;
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = ListPage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        sequences,
        campaigns: c.campaigns,
        templates: c.templates,
        errors,
    };
    Ok((status, render(&page)).into_response())
}

fn text(form: &HashMap<String, String>, k: &str) -> Option<String> {
    form.get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

fn number(form: &HashMap<String, String>, k: &str) -> Result<Option<i64>, (String, String)> {
    text(form, k).map(|v| v.parse::<i64>().map_err(|_| (k.to_string(), "must be a whole number".to_string()))).transpose()
}

/// The settings of the form (name, campaign, topic, entry, segment).
fn settings(form: &HashMap<String, String>) -> Result<SequenceInput, (String, String)> {
    Ok(SequenceInput {
        name: Some(form.get("name").cloned().unwrap_or_default()),
        campaign_id: Some(number(form, "campaign_id")?.unwrap_or(0)),
        topic: text(form, "topic"),
        entry: text(form, "entry"),
        segment_id: Some(number(form, "segment_id")?),
        ..SequenceInput::default()
    })
}

/// The step of a step form.
fn step_of(form: &HashMap<String, String>) -> Result<Step, (String, String)> {
    let v: Value = match form.get("type").map(String::as_str).unwrap_or("") {
        "send_email" => json!({"type": "send_email", "template_id": number(form, "template_id")?.unwrap_or(0)}),
        "wait" => json!({"type": "wait", "days": number(form, "days")?.unwrap_or(0), "hours": number(form, "hours")?.unwrap_or(0)}),
        "branch" => {
            let kind = text(form, "condition").unwrap_or_else(|| "opened".into());
            let condition = if kind == "in_segment" {
                json!({"kind": kind, "segment_id": number(form, "condition_segment_id")?.unwrap_or(0)})
            } else {
                json!({"kind": kind})
            };
            json!({"type": "branch", "condition": condition, "then_step": number(form, "then_step")?, "else_step": number(form, "else_step")?})
        }
        "add_to_list" => json!({"type": "add_to_list", "segment_id": number(form, "list_id")?.unwrap_or(0)}),
        "notify_owner" => json!({"type": "notify_owner", "message": text(form, "message")}),
        other => return Err(("type".into(), format!("no step type {other:?}: use send_email, wait, branch, add_to_list or notify_owner"))),
    };
    serde_json::from_value(v).map_err(|e| ("type".into(), format!("the step is not valid: {e}")))
}

async fn create(State(state): State<AppState>, user: UiUser, Form(form): Form<HashMap<String, String>>) -> Result<Response, ApiError> {
    let input = match (settings(&form), number(&form, "template_id")) {
        (Ok(mut i), Ok(t)) => {
            i.steps = Some(vec![Step::SendEmail { template_id: t.unwrap_or(0) }]);
            i
        }
        (Err(e), _) | (_, Err(e)) => return list_page(&state, &user, vec![e]).await,
    };
    match state.store.create_sequence(user.actor(), input).await {
        Ok(s) => Ok(Redirect::to(&format!("/marketing/sequences/{}", s.id)).into_response()),
        Err(e) => list_page(&state, &user, errors_of(e)?).await,
    }
}

async fn page(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>) -> Result<Response, ApiError> {
    edit_page(&state, &user, id, Vec::new()).await
}

async fn edit_page(state: &AppState, user: &UiUser, id: i64, errors: Vec<(String, String)>) -> Result<Response, ApiError> {
    let s = state.store.get_sequence(user.actor(), id).await?;
    let c = choices(state, user).await?;
    let enrollments = state.store.list_enrollments(user.actor(), id, None, 50).await?.data;
    let steps = s.data.steps.iter().enumerate().map(|(i, st)| view(i, st, &c.templates, &c.segments)).collect();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = EditPage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        end: s.data.steps.len(),
        entry_segment: s.data.segment_id.unwrap_or(0),
        allowed: s.state.allowed_actions().to_vec(),
        s,
        steps,
        campaigns: c.campaigns,
        templates: c.templates,
        segments: c.segments,
        lists: c.lists,
        enrollments,
        errors,
    };
    Ok((status, render(&page)).into_response())
}

async fn save(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let input = match settings(&form) {
        Ok(i) => i,
        Err(e) => return edit_page(&state, &user, id, vec![e]).await,
    };
    let version = form.get("version").and_then(|v| v.parse().ok());
    match state.store.update_sequence(user.actor(), id, version, input).await {
        Ok(_) => Ok(Redirect::to(&format!("/marketing/sequences/{id}")).into_response()),
        Err(e) => edit_page(&state, &user, id, errors_of(e)?).await,
    }
}

/// Adds, saves, moves or removes one step (`op`, at `index`) of the version the page showed.
async fn steps(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let s = state.store.get_sequence(user.actor(), id).await?;
    let mut steps = s.data.steps.clone();
    let index = form.get("index").and_then(|i| i.parse::<usize>().ok()).filter(|i| *i < steps.len());
    let op = form.get("op").map(String::as_str).unwrap_or("");
    let changed = match (op, index) {
        ("add", _) => step_of(&form).map(|st| steps.push(st)),
        ("save", Some(i)) => step_of(&form).map(|st| steps[i] = st),
        ("up", Some(i)) if i > 0 => {
            steps.swap(i - 1, i);
            Ok(())
        }
        ("down", Some(i)) if i + 1 < steps.len() => {
            steps.swap(i, i + 1);
            Ok(())
        }
        ("remove", Some(i)) => {
            steps.remove(i);
            Ok(())
        }
        _ => Err(("op".to_string(), "use add, or save, up, down or remove with the index of a step".to_string())),
    };
    if let Err(e) = changed {
        return edit_page(&state, &user, id, vec![e]).await;
    }
    let version = form.get("version").and_then(|v| v.parse().ok());
    let input = SequenceInput { steps: Some(steps), ..SequenceInput::default() };
    match state.store.update_sequence(user.actor(), id, version, input).await {
        Ok(_) => Ok(Redirect::to(&format!("/marketing/sequences/{id}#steps")).into_response()),
        Err(e) => edit_page(&state, &user, id, errors_of(e)?).await,
    }
}

async fn act(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let action = form.get("action").cloned().unwrap_or_default();
    match state.store.act_on_sequence(user.actor(), id, &action).await {
        Ok(_) => Ok(Redirect::to(&format!("/marketing/sequences/{id}")).into_response()),
        Err(e) => edit_page(&state, &user, id, errors_of(e)?).await,
    }
}

/// Takes one person out of the sequence (as `POST /api/v1/sequences/{id}/enrollments/{e}/exit`).
async fn exit(State(state): State<AppState>, user: UiUser, Path((id, enrollment)): Path<(i64, i64)>) -> Result<Response, ApiError> {
    match state.store.exit_enrollment(user.actor(), id, enrollment).await {
        Ok(_) => Ok(Redirect::to(&format!("/marketing/sequences/{id}#sequence-enrollments")).into_response()),
        Err(e) => edit_page(&state, &user, id, errors_of(e)?).await,
    }
}
