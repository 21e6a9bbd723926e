//! Company pages: list with search, detail with its people.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rapport_domain::company::Company;
use rapport_domain::custom_field::CustomField;
use rapport_domain::customer::Customer;
use rapport_domain::query::ListParams;

use super::customers::{filters, labelled, name_of, owners};
use super::forms::{FormState, company_input, company_values};
use super::{UiUser, render, urlencode};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Form, Path, QueryPairs};

pub(super) fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/companies", get(list))
        .route("/companies/new", get(new_form).post(create))
        .route("/companies/{id}", get(detail))
        .route("/companies/{id}/edit", get(edit_form).post(save))
        .route("/companies/{id}/delete", post(delete))
}

#[derive(Template)]
#[template(path = "companies.html")]
struct ListPage {
    user_name: String,
    csrf: String,
    q: String,
    rows: Vec<Company>,
    error: Option<String>,
    next_url: Option<String>,
}

async fn list(State(state): State<AppState>, user: UiUser, QueryPairs(pairs): QueryPairs) -> Result<Response, ApiError> {
    let q = pairs.iter().find(|(k, _)| k == "q").map(|(_, v)| v.clone()).unwrap_or_default();
    let defs = state.store.company_fields(user.actor()).await?;
    let (rows, next, error) = match ListParams::parse(&pairs, &rapport_domain::company::SPEC, &defs) {
        Ok(p) => {
            let page = state.store.list_companies(user.actor(), &p).await?;
            (page.data, page.next_cursor, None)
        }
        Err(e) => (vec![], None, Some(e.to_string())),
    };
    let next_url =
        next.map(|c| if q.is_empty() { format!("/companies?cursor={c}") } else { format!("/companies?q={}&cursor={c}", urlencode(&q)) });
    Ok(render(&ListPage { user_name: user.user().name.clone(), csrf: user.csrf.clone(), q, rows, error, next_url }))
}

#[derive(Template)]
#[template(path = "company.html")]
struct DetailPage {
    user_name: String,
    csrf: String,
    c: Company,
    owner: String,
    custom: Vec<(String, String)>,
    people: Vec<Customer>,
}

async fn detail(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let c = state.store.get_company(user.actor(), id).await?;
    let people = state
        .store
        .list_customers(
            user.actor(),
            &ListParams { limit: 200, ..Default::default() }.with(&rapport_domain::customer::SPEC, "company_id", id),
        )
        .await?;
    let owners = owners(&state, &user).await?;
    let defs = state.store.company_fields(user.actor()).await?;
    let page = DetailPage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        owner: name_of(&owners, c.data.owner_id),
        custom: labelled(&defs, &c.data.custom),
        c,
        people: people.data,
    };
    Ok(render(&page))
}

#[derive(Template)]
#[template(path = "company_form.html")]
struct FormPage {
    user_name: String,
    csrf: String,
    title: String,
    action: String,
    cancel: String,
    version: String,
    notice: Option<String>,
    form: FormState,
    defs: Vec<CustomField>,
    owners: Vec<(i64, String)>,
}

async fn form_page(
    state: &AppState,
    user: &UiUser,
    id: Option<i64>,
    version: i64,
    form: FormState,
    notice: Option<String>,
) -> Result<Response, ApiError> {
    let status = if notice.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = FormPage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        title: if id.is_some() { format!("Edit {}", form.v("name")) } else { "New company".into() },
        action: id.map(|i| format!("/companies/{i}/edit")).unwrap_or_else(|| "/companies/new".into()),
        cancel: id.map(|i| format!("/companies/{i}")).unwrap_or_else(|| "/companies".into()),
        version: version.to_string(),
        notice,
        form,
        defs: state.store.company_fields(user.actor()).await?,
        owners: owners(state, user).await?,
    };
    Ok((status, render(&page)).into_response())
}

async fn new_form(State(state): State<AppState>, user: UiUser) -> Result<Response, ApiError> {
    let mut form = FormState::default();
    form.values.insert("owner_id".into(), user.user().id.to_string());
    form_page(&state, &user, None, 0, form, None).await
}

async fn edit_form(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let c = state.store.get_company(user.actor(), id).await?;
    form_page(&state, &user, Some(id), c.version, company_values(&c.data), None).await
}

async fn create(State(state): State<AppState>, user: UiUser, Form(form): Form<HashMap<String, String>>) -> Result<Response, ApiError> {
    let defs = state.store.company_fields(user.actor()).await?;
    let input = company_input(&form, &defs);
    let region = state.config.phone_region;
    match state.store.create_company(user.actor(), || input.apply(None, &defs, region)).await {
        Ok(c) => Ok(Redirect::to(&format!("/companies/{}", c.id)).into_response()),
        Err(e) => {
            let (fs, notice) = super::form_errors(form, e)?;
            form_page(&state, &user, None, 0, fs, notice).await
        }
    }
}

async fn save(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let defs = state.store.company_fields(user.actor()).await?;
    let input = company_input(&form, &defs);
    let version = super::form_version(&form);
    let region = state.config.phone_region;
    match state.store.update_company(user.actor(), id, version, |cur| input.apply(Some(cur), &defs, region)).await {
        Ok(_) => Ok(Redirect::to(&format!("/companies/{id}")).into_response()),
        Err(e) => {
            let (fs, notice) = super::form_errors(form, e)?;
            form_page(&state, &user, Some(id), version.unwrap_or(0), fs, notice).await
        }
    }
}

async fn delete(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let version = super::form_version(&form);
    state.store.delete_company(user.actor(), id, version).await?;
    Ok(Redirect::to("/companies").into_response())
}
