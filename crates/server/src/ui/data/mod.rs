//! `/data/import` and `/data/export` (issue 13 §2, §3): upload a file to import (a background
//! job whose page shows its progress, every problem with line and column, the rejected rows to
//! download, and a mapping of the file's columns to fields to save and reuse), and download any
//! record type as CSV or JSON lines.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rapport_store::data::imports::{ImportJob, ImportMapping, StoredProblem};
use serde::Deserialize;

use super::session::{SESSION_COOKIE, cookie};
use super::{UiUser, render};
use crate::AppState;
use crate::api::data::imports::{ImportQuery, rejected_csv, spool, start};
use crate::data::export::{Format, pages};
use crate::data::import::{self, KINDS};
use crate::error::ApiError;
use crate::extract::{Form, Path, Query};

/// The pages (behind the CSRF check of every signed-in form).
pub(super) fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/data/import", get(import_page))
        .route("/data/imports/{id}", get(job_page))
        .route("/data/imports/{id}/rejected.csv", get(rejected))
        .route("/data/import/mappings", post(save_mapping))
        .route("/data/export", get(export_page))
        .route("/data/export/{kind}", get(export))
}

/// The upload, whose body is the file, not a form: it carries its CSRF token in a header and
/// is checked here, outside the form check that reads bodies as forms.
pub(super) fn upload_router() -> axum::Router<AppState> {
    axum::Router::new().route("/data/import/upload", post(upload))
}

#[derive(Template)]
#[template(path = "data_import.html")]
struct ImportPage {
    user_name: String,
    csrf: String,
    kinds: &'static [&'static str],
    mappings: Vec<ImportMapping>,
    selected: i64,
}

async fn import_page(State(state): State<AppState>, user: UiUser, Query(q): Query<HashMap<String, String>>) -> Result<Response, ApiError> {
    let mappings = state.store.import_mappings(user.actor(), None).await?;
    let selected = q.get("mapping_id").and_then(|v| v.parse().ok()).unwrap_or(0);
    Ok(render(&ImportPage { user_name: user.user().name.clone(), csrf: user.csrf.clone(), kinds: KINDS, mappings, selected }))
}

async fn upload(
    State(state): State<AppState>,
    user: UiUser,
    headers: HeaderMap,
    Query(q): Query<ImportQuery>,
    req: Request,
) -> Result<Response, ApiError> {
    let token = cookie(&headers, SESSION_COOKIE).unwrap_or("");
    let sent = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
    if !user.current.scopes.write || !state.store.check_form_token("session", token, sent).await? {
        return Ok((StatusCode::FORBIDDEN, "Form expired: reload the page and upload again.").into_response());
    }
    let (file, size) = spool(req.into_body()).await?;
    let id = start(&state, user.actor(), &q, file, size).await?;
    let location = format!("/data/imports/{id}");
    let mut res = (StatusCode::CREATED, format!("{{\"location\":\"{location}\"}}")).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

/// One column of the file and the field it maps to.
struct Column {
    header: String,
    field: String,
}

#[derive(Template)]
#[template(path = "data_import_job.html")]
struct JobPage {
    user_name: String,
    csrf: String,
    job: ImportJob,
    running: bool,
    percent: i64,
    problems: Vec<StoredProblem>,
    more_problems: bool,
    columns: Vec<Column>,
    fields: Vec<String>,
}

async fn job_page(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let job = state.store.get_import(user.actor(), id).await?;
    let problems = state.store.import_problems(user.actor(), id, 0, 501).await?;
    let more_problems = problems.len() > 500;
    let spec = rapport_store::data::export::exportable(&job.kind).ok_or(ApiError::NotFound)?;
    let defs = match spec.custom {
        Some(o) => state.store.list_custom_fields(user.actor(), Some(o)).await?,
        None => vec![],
    };
    let fields = import::mapping_choices(spec, &defs);
    let columns =
        job.headers.iter().map(|h| Column { header: h.clone(), field: import::guess_field(h, spec, &defs).unwrap_or_default() }).collect();
    let running = job.status == "queued" || job.status == "running";
    let percent = if job.total_bytes > 0 { job.bytes * 100 / job.total_bytes } else { 0 };
    let page = JobPage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        job,
        running,
        percent,
        problems: problems.into_iter().take(500).collect(),
        more_problems,
        columns,
        fields,
    };
    Ok(render(&page))
}

async fn rejected(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let body = rejected_csv(&state, user.actor(), id).await?;
    let mut res = body.into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"import-{id}-rejected.csv\"")) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

/// Saves the mapping form of a job page (`map.<header>=<field>`), then back to the upload page
/// with the mapping chosen.
async fn save_mapping(State(state): State<AppState>, user: UiUser, Form(form): Form<Vec<(String, String)>>) -> Result<Response, ApiError> {
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let mapping: BTreeMap<String, String> =
        form.iter().filter_map(|(k, v)| k.strip_prefix("map.").map(|h| (h.to_string(), v.clone()))).collect();
    match state.store.save_import_mapping(user.actor(), &get("kind"), &get("name"), &mapping).await {
        Ok(m) => Ok(Redirect::to(&format!("/data/import?mapping_id={}", m.id)).into_response()),
        Err(rapport_store::Error::Invalid(v)) => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, format!("Cannot save the mapping: {v}")).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "data_export.html")]
struct ExportPage {
    user_name: String,
    csrf: String,
    kinds: Vec<(&'static str, &'static str)>,
}

async fn export_page(user: UiUser) -> Response {
    let kinds = rapport_store::data::export::EXPORTABLE.iter().map(|s| (s.plural, s.label_plural)).collect();
    render(&ExportPage { user_name: user.user().name.clone(), csrf: user.csrf.clone(), kinds })
}

#[derive(Deserialize)]
struct ExportQuery {
    format: Option<Format>,
}

async fn export(
    State(state): State<AppState>,
    user: UiUser,
    Path(kind): Path<String>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    let spec = rapport_store::data::export::exportable(&kind).ok_or(ApiError::NotFound)?;
    let format = q.format.unwrap_or_default();
    let writer = crate::data::export::start(&state.store, user.actor(), spec, format, "ui").await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    let (store, actor) = (state.store.clone(), user.actor().clone());
    tokio::spawn(async move {
        if let Err(e) = pages(&store, &actor, spec, &writer, tx).await {
            tracing::error!(error = %e, "export failed mid-stream");
        }
    });
    let stream =
        futures_util::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|c| (Ok::<_, std::io::Error>(bytes::Bytes::from(c)), rx)) },
        );
    let mut res = Body::from_stream(stream).into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{kind}.{}\"", format.extension())) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}
