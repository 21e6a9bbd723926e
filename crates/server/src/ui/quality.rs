//! `/data_quality`: the data-quality report, a preview of what cleansing would change in the
//! next page of people, and a button that applies exactly the previewed changes (each person
//! at the version shown; one changed since refuses the whole page).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use rapport_domain::quality::{CleanPage, CleanRecord, QualityReport};
use serde::Deserialize;

use super::{UiUser, render};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::Form;

pub(super) fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/data_quality", get(page).post(apply))
}

#[derive(Template)]
#[template(path = "data_quality.html")]
struct QualityPage {
    user_name: String,
    csrf: String,
    report: QualityReport,
    /// Per field: how many lack it (`None` for fields reported only as invalid), how many are invalid.
    rows: Vec<(String, Option<usize>, usize)>,
    preview: CleanPage,
    /// The cursor this preview started from (kept so "apply" can show the same page again).
    cursor: String,
    applied: Option<Vec<CleanRecord>>,
    notice: Option<String>,
    /// The best duplicate pairs, each with a link to the merge page.
    pairs: Vec<rapport_domain::quality::duplicates::DuplicatePair>,
    /// The same for companies (none listed to a user who may not compare their contacts).
    company_pairs: Vec<rapport_domain::quality::duplicates::DuplicatePair>,
}

#[derive(Deserialize)]
struct PageQuery {
    cursor: Option<String>,
}

async fn show(
    state: &AppState,
    user: &UiUser,
    cursor: Option<String>,
    applied: Option<Vec<CleanRecord>>,
    notice: Option<String>,
) -> Result<Response, ApiError> {
    let region = state.config.phone_region;
    let report = match state.store.quality_report(user.actor(), region).await {
        Ok(r) => r,
        Err(rapport_store::Error::Denied(d)) => {
            return Ok((StatusCode::FORBIDDEN, Html(format!("<h1>Not allowed</h1><p>{d}</p>"))).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    let mut rows: Vec<(String, Option<usize>, usize)> =
        report.missing.iter().map(|(f, n)| (f.clone(), Some(*n), report.invalid.get(f).copied().unwrap_or(0))).collect();
    rows.extend(report.invalid.iter().filter(|(f, _)| !report.missing.contains_key(*f)).map(|(f, n)| (f.clone(), None, *n)));
    let preview = state.store.clean_preview(user.actor(), region, cursor.clone(), 200).await?;
    let pairs = state.store.find_duplicates(user.actor(), 0.3, 50).await?;
    let company_pairs = match state.store.find_company_duplicates(user.actor(), 0.3, 50).await {
        Err(rapport_store::Error::Denied(_)) => Vec::new(),
        other => other?,
    };
    let status = if notice.is_some() { StatusCode::CONFLICT } else { StatusCode::OK };
    let page = QualityPage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        report,
        rows,
        preview,
        cursor: cursor.unwrap_or_default(),
        applied,
        notice,
        pairs,
        company_pairs,
    };
    Ok((status, render(&page)).into_response())
}

async fn page(State(state): State<AppState>, user: UiUser, Query(q): Query<PageQuery>) -> Result<Response, ApiError> {
    show(&state, &user, q.cursor.filter(|c| !c.is_empty()), None, None).await
}

/// The form names each previewed person as `record=ID:VERSION`.
async fn apply(State(state): State<AppState>, user: UiUser, Form(form): Form<Vec<(String, String)>>) -> Result<Response, ApiError> {
    let cursor = form.iter().find(|(k, _)| k == "cursor").map(|(_, v)| v.clone()).filter(|c| !c.is_empty());
    let mut targets = Vec::new();
    for (_, v) in form.iter().filter(|(k, _)| k == "record") {
        let parsed = v.split_once(':').and_then(|(id, version)| Some((id.parse().ok()?, version.parse().ok()?)));
        targets.push(parsed.ok_or_else(|| ApiError::bad_field("record", format!("'{v}' is not ID:VERSION")))?);
    }
    match state.store.clean_apply(user.actor(), state.config.phone_region, &targets).await {
        Ok(applied) => show(&state, &user, cursor, Some(applied), None).await,
        Err(e @ rapport_store::Error::VersionMismatch { .. }) => {
            let notice =
                format!("Nothing was applied: someone changed a person after this preview was shown ({e}). Here is a fresh preview.");
            show(&state, &user, cursor, None, Some(notice)).await
        }
        Err(e) => Err(e.into()),
    }
}
