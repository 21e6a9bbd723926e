//! `/customers/{id}/convert`: the form that converts a lead, prefilled with "<person> deal",
//! the default pipeline and the lead's owner; every error beside its field, a refusal (not a
//! lead any more, disqualified) on top. A conversion opens the new deal's page.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use rapport_domain::ValidationErrors;
use rapport_domain::customer::Customer;
use rapport_domain::query::{ListParams, SortField};
use rapport_domain::sales::lead::ConvertLeadInput;
use rapport_domain::sales::money::{Currency, Money};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Form, Path};
use crate::ui::forms::FormState;
use crate::ui::records::users;
use crate::ui::{UiUser, form_errors, render};

pub(super) fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/customers/{id}/convert", get(form).post(submit))
}

#[derive(Template)]
#[template(path = "sales_convert.html")]
struct ConvertPage {
    user_name: String,
    csrf: String,
    person: Customer,
    pipelines: Vec<(String, String)>,
    owners: Vec<(String, String)>,
    form: FormState,
    notice: Option<String>,
}

async fn page(
    state: &AppState,
    user: &UiUser,
    person: Customer,
    form: FormState,
    notice: Option<String>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let actor = user.actor();
    let pipelines = state.store.all_pipelines(actor).await?.into_iter().map(|p| (p.id.to_string(), p.data.name)).collect();
    let owners = users(state, actor).await?.into_iter().map(|(i, n)| (i.to_string(), n)).collect();
    let page = ConvertPage { user_name: user.user().name.clone(), csrf: user.csrf.clone(), person, pipelines, owners, form, notice };
    Ok((status, render(&page)).into_response())
}

async fn form(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let actor = user.actor();
    let person = state.store.get_customer(actor, id).await?;
    // The currency of the latest deal the user sees is the likeliest for the next one.
    let latest = state
        .store
        .list_opportunities(actor, &ListParams { limit: 1, sort: SortField::CreatedAt, desc: true, ..Default::default() })
        .await?;
    let currency = latest.data.first().map(|o| o.data.currency.clone()).unwrap_or_else(|| "USD".into());
    let default_pipeline = state.store.pipeline_set().await?.default_id();
    let owner = person.data.owner_id.or(actor.user_id);
    let values = HashMap::from([
        ("name".to_string(), format!("{} deal", person.data.name)),
        ("currency".to_string(), currency),
        ("pipeline_id".to_string(), default_pipeline.map(|p| p.to_string()).unwrap_or_default()),
        ("owner_id".to_string(), owner.map(|o| o.to_string()).unwrap_or_default()),
        ("company_name".to_string(), person.company_name.clone().unwrap_or_default()),
    ]);
    page(&state, &user, person, FormState { values, errors: HashMap::new() }, None, StatusCode::OK).await
}

/// The form as the conversion's input; an amount that does not read is its own field error.
fn input_of(form: &HashMap<String, String>) -> Result<ConvertLeadInput, ValidationErrors> {
    let text = |k: &str| form.get(k).map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let number =
        |k: &str| text(k).map(|s| s.parse::<i64>().map_err(|_| ValidationErrors::single(k, format!("'{s}' is not a number")))).transpose();
    let amount_minor = match (text("amount_minor"), text("currency").and_then(|c| Currency::parse(&c).ok())) {
        (Some(a), Some(c)) => Some(Money::parse_major(&a, c).map_err(|m| ValidationErrors::single("amount_minor", m))?.minor()),
        _ => None,
    };
    Ok(ConvertLeadInput {
        pipeline_id: number("pipeline_id")?,
        name: text("name"),
        amount_minor,
        currency: text("currency"),
        expected_close_date: text("expected_close_date"),
        owner_id: Some(number("owner_id")?),
        company_name: text("company_name"),
    })
}

async fn submit(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let person = state.store.get_customer(user.actor(), id).await?;
    let converted = match input_of(&form) {
        Ok(input) => state.store.convert_lead(user.actor(), id, input).await,
        Err(e) => Err(rapport_store::Error::Invalid(e)),
    };
    match converted {
        Ok(c) => Ok(Redirect::to(&format!("/opportunities/{}", c.opportunity.id)).into_response()),
        Err(e) => {
            let status = match &e {
                rapport_store::Error::Refused(_) => StatusCode::CONFLICT,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            let (mut state_of_form, notice) = form_errors(form, e)?;
            // A refusal about the lead itself belongs on top, not beside an input.
            state_of_form.errors.retain(|k, _| !matches!(k.as_str(), "lead" | "lead_status"));
            page(&state, &user, person, state_of_form, notice, status).await
        }
    }
}
