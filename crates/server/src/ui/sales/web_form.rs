//! The public lead form `/forms/lead` (no sign-in), which goes through the same checks as
//! `POST /api/v1/web_to_lead`, and the admin page `/admin/web_form` for its settings.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use rapport_domain::sales::web_lead::{WebFormSettings, WebFormSettingsInput, WebLeadInput};
use rapport_domain::{FieldError, ValidationErrors};

use crate::AppState;
use crate::api::sales::web_to_lead::{Caller, THANKS, check_origin, receive};
use crate::error::ApiError;
use crate::extract::Form;
use crate::ui::forms::FormState;
use crate::ui::records::users;
use crate::ui::{UiUser, form_version, render};

pub(super) fn public_router() -> axum::Router<AppState> {
    axum::Router::new().route("/forms/lead", get(form_page).post(submit))
}

pub(super) fn admin_router() -> axum::Router<AppState> {
    axum::Router::new().route("/admin/web_form", get(settings_page).post(save_settings))
}

#[derive(Template)]
#[template(path = "sales_lead_form.html")]
struct LeadForm {
    form: FormState,
    notice: Option<String>,
    thanks: Option<&'static str>,
    /// Whether a sign-up for email is asked to confirm by mail.
    double_opt_in: bool,
}

/// Whether sign-ups confirm by mail; double opt-in when the settings cannot be read.
async fn double_opt_in(state: &AppState) -> bool {
    state.store.web_form_public_settings().await.map_or(true, |s| s.double_opt_in)
}

async fn form_page(State(state): State<AppState>) -> Response {
    render(&LeadForm { form: FormState::default(), notice: None, thanks: None, double_opt_in: double_opt_in(&state).await })
}

fn answer(status: StatusCode, page: LeadForm) -> Response {
    (status, render(&page)).into_response()
}

async fn submit(State(state): State<AppState>, caller: Caller, Form(form): Form<HashMap<String, String>>) -> Response {
    let get = |k: &str| form.get(k).cloned();
    let input = WebLeadInput {
        name: get("name"),
        email: get("email"),
        phone: get("phone"),
        company_name: get("company_name"),
        message: get("message"),
        website: get("website"),
        subscribe: get("subscribe"),
        topic: None,
    };
    let again = |errors: &[FieldError]| FormState { values: form.clone(), errors: HashMap::new() }.with_errors(errors);
    let double_opt_in = double_opt_in(&state).await;
    let result = match check_origin(&state, &caller).await {
        Ok(_) => receive(&state, &caller, input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => answer(StatusCode::OK, LeadForm { form: FormState::default(), notice: None, thanks: Some(THANKS), double_opt_in }),
        Err(ApiError::Invalid(ValidationErrors(errors))) => {
            let notice = Some("Please correct the fields marked below.".to_string());
            answer(StatusCode::UNPROCESSABLE_ENTITY, LeadForm { form: again(&errors), notice, thanks: None, double_opt_in })
        }
        Err(e @ ApiError::Throttled(_)) => {
            let p = e.problem();
            let mut res =
                answer(StatusCode::TOO_MANY_REQUESTS, LeadForm { form: again(&[]), notice: Some(p.detail), thanks: None, double_opt_in });
            // The same Retry-After the API sends.
            if let Some(v) = e.into_response().headers().get(header::RETRY_AFTER).cloned() {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            res
        }
        Err(e @ ApiError::ForbiddenField { .. }) => {
            answer(StatusCode::FORBIDDEN, LeadForm { form: again(&[]), notice: Some(e.to_string()), thanks: None, double_opt_in })
        }
        Err(e) => e.into_response(),
    }
}

#[derive(Template)]
#[template(path = "sales_admin_web_form.html")]
struct SettingsPage {
    user_name: String,
    csrf: String,
    s: WebFormSettings,
    users: Vec<(i64, String)>,
    origins: String,
    form: FormState,
    notice: Option<String>,
}

async fn show(
    state: &AppState,
    user: &UiUser,
    origins: Option<String>,
    form: FormState,
    notice: Option<String>,
) -> Result<Response, ApiError> {
    let s = match state.store.web_form_settings(user.actor()).await {
        Ok(s) => s,
        Err(rapport_store::Error::Denied(d)) => {
            return Ok((StatusCode::FORBIDDEN, axum::response::Html(format!("<h1>Not allowed</h1><p>{d}</p>"))).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    let status = if notice.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = SettingsPage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        origins: origins.unwrap_or_else(|| s.allowed_origins.join("\n")),
        users: users(state, user.actor()).await?,
        s,
        form,
        notice,
    };
    Ok((status, render(&page)).into_response())
}

async fn settings_page(State(state): State<AppState>, user: UiUser) -> Result<Response, ApiError> {
    show(&state, &user, None, FormState::default(), None).await
}

async fn save_settings(
    State(state): State<AppState>,
    user: UiUser,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let raw = form.get("allowed_origins").cloned().unwrap_or_default();
    let input = WebFormSettingsInput {
        allowed_origins: Some(raw.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect()),
        default_owner_id: Some(form.get("default_owner_id").and_then(|v| v.parse().ok())),
        double_opt_in: Some(form.contains_key("double_opt_in")),
    };
    match state.store.update_web_form_settings(user.actor(), form_version(&form), input).await {
        Ok(_) => Ok(Redirect::to("/admin/web_form").into_response()),
        Err(e) => {
            let (fs, notice) = crate::ui::form_errors(form, e)?;
            show(&state, &user, Some(raw), fs, notice).await
        }
    }
}
