//! The public help desk pages (no sign-in): `/support`, where a customer opens a ticket, and
//! the ticket's secret link `/support/tickets/{id}/{secret}`, where they read the public
//! conversation, reply, confirm the resolution or reopen it. The form has the lead form's
//! protections: a honeypot field and a per-client throttle counted in the database.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rapport_domain::service::public::{PublicTicketInput, PublicTicketView};
use rapport_domain::service::workflow::TicketAction;
use rapport_domain::{FieldError, ValidationErrors};

use crate::AppState;
use crate::api::sales::web_to_lead::Caller;
use crate::error::ApiError;
use crate::extract::{Form, Path, request_id};
use crate::ui::forms::FormState;
use crate::ui::render;
use crate::ui::sales::short_time;

pub(super) fn public_router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/support", get(form_page).post(submit))
        .route("/support/tickets/{id}/{secret}", get(ticket_page))
        .route("/support/tickets/{id}/{secret}/reply", post(reply))
        .route("/support/tickets/{id}/{secret}/action", post(action))
}

#[derive(Template)]
#[template(path = "service_support_form.html")]
struct SupportForm {
    form: FormState,
    notice: Option<String>,
    /// After a submission: the ticket's number and the link to follow it.
    opened: Option<(i64, String)>,
}

async fn form_page() -> Response {
    render(&SupportForm { form: FormState::default(), notice: None, opened: None })
}

async fn submit(State(state): State<AppState>, caller: Caller, Form(form): Form<HashMap<String, String>>) -> Response {
    let get = |k: &str| form.get(k).cloned();
    let input = PublicTicketInput {
        name: get("name"),
        email: get("email"),
        subject: get("subject"),
        message: get("message"),
        website: get("website"),
    };
    let again = |errors: &[FieldError]| FormState { values: form.clone(), errors: HashMap::new() }.with_errors(errors);
    let rid = request_id(&caller.headers);
    let opened = async {
        if let Some(until) = state.store.throttle_ticket_form(&caller.client, rid.clone()).await? {
            return Err(ApiError::Throttled(until));
        }
        if input.is_bot() {
            tracing::info!(client = %caller.client, "ticket form honeypot filled: nothing stored");
            return Ok(None);
        }
        let t = input.apply()?;
        Ok(Some(state.store.open_public_ticket(&t, rid).await?))
    }
    .await;
    match opened {
        Ok(Some((id, secret))) => {
            render(&SupportForm { form: FormState::default(), notice: None, opened: Some((id, format!("/support/tickets/{id}/{secret}"))) })
        }
        // A bot is answered as a person would be, without a link that leads anywhere.
        Ok(None) => render(&SupportForm { form: FormState::default(), notice: None, opened: Some((0, "/support".into())) }),
        Err(ApiError::Invalid(ValidationErrors(errors))) => {
            let page = SupportForm { form: again(&errors), notice: Some("Please correct the fields marked below.".into()), opened: None };
            (StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response()
        }
        Err(e @ ApiError::Throttled(_)) => {
            let page = SupportForm { form: again(&[]), notice: Some(e.problem().detail), opened: None };
            (StatusCode::TOO_MANY_REQUESTS, render(&page)).into_response()
        }
        Err(e) => e.into_response(),
    }
}

#[derive(Template)]
#[template(path = "service_support_ticket.html")]
struct TicketPage {
    t: PublicTicketView,
    /// Each public message with its time as people read it.
    times: Vec<String>,
    link: String,
    notice: Option<String>,
    /// The survey's link, once the ticket was resolved.
    survey: Option<String>,
}

async fn show(state: &AppState, id: i64, secret: &str, notice: Option<String>, status: StatusCode) -> Result<Response, ApiError> {
    let t = state.store.public_ticket(id, secret).await?;
    let times = t.messages.iter().map(|m| short_time(&m.at)).collect();
    let survey = state.store.survey_link(id).await?;
    let page = TicketPage { t, times, link: format!("/support/tickets/{id}/{secret}"), notice, survey };
    Ok((status, render(&page)).into_response())
}

async fn ticket_page(State(state): State<AppState>, Path((id, secret)): Path<(i64, String)>) -> Result<Response, ApiError> {
    show(&state, id, &secret, None, StatusCode::OK).await
}

/// Back to the ticket after a change, or the ticket with what went wrong.
async fn after(state: &AppState, id: i64, secret: &str, result: Result<(), rapport_store::Error>) -> Result<Response, ApiError> {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/support/tickets/{id}/{secret}")).into_response()),
        Err(e) => {
            let (status, detail) = crate::ui::refusal(e)?;
            show(state, id, secret, Some(detail), status).await
        }
    }
}

async fn reply(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, secret)): Path<(i64, String)>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let body = form.get("body").cloned().unwrap_or_default();
    let result = state.store.public_ticket_reply(id, &secret, &body, request_id(&caller.headers)).await;
    after(&state, id, &secret, result).await
}

async fn action(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, secret)): Path<(i64, String)>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let wanted = form.get("action").map(String::as_str).unwrap_or("");
    let result = match TicketAction::parse(wanted) {
        Some(a) => state.store.public_ticket_action(id, &secret, a, request_id(&caller.headers)).await.map(|_| ()),
        None => Err(rapport_store::Error::Invalid(ValidationErrors::single("action", "use confirm or reopen"))),
    };
    after(&state, id, &secret, result).await
}
