//! `/marketing/templates`: the template editor. The list with a form for a new template, and
//! a template's page: its subject, plain-text and HTML parts, and a preview rendered for a
//! chosen person (`?person_id=`). A refused save shows the form again with the errors (an
//! unknown merge field named).

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use rapport_domain::marketing::templates::{EmailTemplate, Preview, TemplateData};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Form, Path, Query};
use crate::ui::{UiUser, render};

pub(super) fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/marketing/templates", get(list).post(create)).route("/marketing/templates/{id}", get(page).post(save))
}

#[derive(Template)]
#[template(path = "marketing_templates.html")]
struct ListPage {
    user_name: String,
    csrf: String,
    templates: Vec<EmailTemplate>,
}

#[derive(Template)]
#[template(path = "marketing_template.html")]
struct EditPage {
    user_name: String,
    csrf: String,
    id: Option<i64>,
    version: i64,
    data: TemplateData,
    errors: Vec<(String, String)>,
    person_id: String,
    preview: Option<Preview>,
}

async fn list(State(state): State<AppState>, user: UiUser) -> Result<Response, ApiError> {
    let templates = state.store.list_email_templates(user.actor()).await?;
    Ok(render(&ListPage { user_name: user.user().name.clone(), csrf: user.csrf.clone(), templates }))
}

fn data_of(form: &HashMap<String, String>) -> TemplateData {
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    TemplateData {
        name: get("name"),
        subject: get("subject"),
        text_body: get("text_body"),
        html_body: Some(get("html_body")).filter(|h| !h.trim().is_empty()),
    }
}

fn refused(user: &UiUser, id: Option<i64>, version: i64, data: TemplateData, e: rapport_store::Error) -> Result<Response, ApiError> {
    match e {
        rapport_store::Error::Invalid(v) => {
            let errors = v.0.into_iter().map(|f| (f.field, f.message)).collect();
            let page = EditPage {
                user_name: user.user().name.clone(),
                csrf: user.csrf.clone(),
                id,
                version,
                data,
                errors,
                person_id: String::new(),
                preview: None,
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        other => Err(other.into()),
    }
}

async fn create(State(state): State<AppState>, user: UiUser, Form(form): Form<HashMap<String, String>>) -> Result<Response, ApiError> {
    let data = data_of(&form);
    match state.store.create_email_template(user.actor(), data.clone()).await {
        Ok(t) => Ok(Redirect::to(&format!("/marketing/templates/{}", t.id)).into_response()),
        Err(e) => refused(&user, None, 0, data, e),
    }
}

async fn save(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let data = data_of(&form);
    let version = form.get("version").and_then(|v| v.parse().ok());
    match state.store.update_email_template(user.actor(), id, version, data.clone()).await {
        Ok(_) => Ok(Redirect::to(&format!("/marketing/templates/{id}")).into_response()),
        Err(e) => refused(&user, Some(id), version.unwrap_or(0), data, e),
    }
}

async fn page(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let t = state.store.get_email_template(user.actor(), id).await?;
    let person_id = q.get("person_id").cloned().unwrap_or_default();
    let mut errors = Vec::new();
    let preview = match person_id.parse::<i64>() {
        Ok(p) => match state.store.preview_email_template(user.actor(), id, p).await {
            Ok(pv) => Some(pv),
            Err(rapport_store::Error::Invalid(v)) => {
                errors = v.0.into_iter().map(|f| (f.field, f.message)).collect();
                None
            }
            Err(e) => return Err(e.into()),
        },
        Err(_) => None,
    };
    Ok(render(&EditPage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        id: Some(t.id),
        version: t.version,
        data: t.data,
        errors,
        person_id,
        preview,
    }))
}
