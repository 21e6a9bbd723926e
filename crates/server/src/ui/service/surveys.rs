//! The public survey pages (no sign-in): `/support/surveys/{token}` shows the form and records
//! nothing (mail scanners and link previews open links), a POST answers it, and
//! `/support/surveys/{token}/thanks` confirms what was recorded.
//!
//! The form has no CSRF token of its own: the unguessable token in the URL already keeps
//! another site from forging an answer, and a POST whose browser says it came from another
//! site (`Sec-Fetch-Site: cross-site` or `same-site`, or an `Origin` naming another host) is
//! refused.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use rapport_domain::service::survey::{Decision, PublicSurveyView, SurveyInput};

use crate::AppState;
use crate::api::sales::web_to_lead::Caller;
use crate::error::ApiError;
use crate::extract::{Form, Path, request_id};
use crate::ui::forms::FormState;
use crate::ui::render;

pub(super) fn public_router() -> axum::Router<AppState> {
    axum::Router::new().route("/support/surveys/{token}", get(page).post(answer)).route("/support/surveys/{token}/thanks", get(thanks))
}

#[derive(Template)]
#[template(path = "service_survey.html")]
struct SurveyPage {
    s: PublicSurveyView,
    form: FormState,
    notice: Option<String>,
    action: String,
}

impl SurveyPage {
    /// Whether the radio button `name=value` starts checked (the submitted value, else the
    /// earlier answer).
    fn checked(&self, name: &str, value: &str) -> bool {
        if let Some(v) = self.form.values.get(name) {
            return v == value;
        }
        self.s.answer.as_ref().is_some_and(|a| match name {
            "csat" => a.csat.to_string() == value,
            "nps" => a.nps.is_some_and(|n| n.to_string() == value),
            "decision" => a.decision.as_str() == value,
            _ => false,
        })
    }

    fn comment(&self) -> String {
        self.form.values.get("comment").cloned().or_else(|| self.s.answer.as_ref().and_then(|a| a.comment.clone())).unwrap_or_default()
    }
}

async fn page(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, ApiError> {
    let s = state.store.public_survey(&token).await?;
    let action = format!("/support/surveys/{token}");
    Ok(render(&SurveyPage { s, form: FormState::default(), notice: None, action }))
}

/// Whether the browser says the POST came from a page of another site.
fn cross_site(headers: &HeaderMap, authority: Option<&str>) -> bool {
    let text = |h| headers.get(h).and_then(|v| v.to_str().ok());
    if text("sec-fetch-site").is_some_and(|s| s == "cross-site" || s == "same-site") {
        return true;
    }
    let host = authority.or_else(|| text(header::HOST.as_str()));
    match (text(header::ORIGIN.as_str()), host) {
        // The page's `no-referrer` policy makes browsers send `Origin: null` from the page
        // itself, so it says nothing: `Sec-Fetch-Site` above decides.
        (Some("null"), _) => false,
        (Some(origin), Some(host)) => origin.split("://").nth(1) != Some(host),
        _ => false,
    }
}

async fn answer(
    State(state): State<AppState>,
    caller: Caller,
    Path(token): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    if cross_site(&caller.headers, caller.authority.as_deref()) {
        return Err(ApiError::Forbidden("the survey is answered from its own page".into()));
    }
    let get = |k: &str| form.get(k).cloned();
    let input = SurveyInput { csat: get("csat"), nps: get("nps"), comment: get("comment"), decision: get("decision") };
    match state.store.answer_survey(&token, &input, request_id(&caller.headers)).await {
        Ok(_) => Ok(Redirect::to(&format!("/support/surveys/{token}/thanks")).into_response()),
        Err(e) => {
            let (status, notice) = match e {
                rapport_store::Error::Invalid(v) => {
                    let f = FormState { values: form.clone(), errors: HashMap::new() }.with_errors(&v.0);
                    let s = state.store.public_survey(&token).await?;
                    let page = SurveyPage {
                        s,
                        form: f,
                        notice: Some("Please correct the fields marked below.".into()),
                        action: format!("/support/surveys/{token}"),
                    };
                    return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response());
                }
                other => crate::ui::refusal(other)?,
            };
            let s = state.store.public_survey(&token).await?;
            let f = FormState { values: form, errors: HashMap::new() };
            Ok((status, render(&SurveyPage { s, form: f, notice: Some(notice), action: format!("/support/surveys/{token}") }))
                .into_response())
        }
    }
}

#[derive(Template)]
#[template(path = "service_survey_thanks.html")]
struct ThanksPage {
    s: PublicSurveyView,
    change: String,
}

impl ThanksPage {
    fn reopened(&self) -> bool {
        self.s.answer.as_ref().is_some_and(|a| a.decision == Decision::Reopen)
    }
}

async fn thanks(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, ApiError> {
    let s = state.store.public_survey(&token).await?;
    if s.answer.is_none() {
        return Ok(Redirect::to(&format!("/support/surveys/{token}")).into_response());
    }
    Ok(render(&ThanksPage { s, change: format!("/support/surveys/{token}") }))
}
