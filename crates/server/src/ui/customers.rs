//! People pages: list with search and filters, detail, create and edit forms.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rapport_domain::custom_field::CustomField;
use rapport_domain::customer::{Customer, LifecycleStage};
use rapport_domain::query::ListParams;
use rapport_domain::values::Phone;
use rapport_store::Error as StoreError;

use super::forms::{FormState, customer_input, customer_values};
use super::{UiUser, render, urlencode};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Form, Path, QueryPairs};

pub(super) fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/customers", get(list))
        .route("/customers/new", get(new_form).post(create))
        .route("/customers/{id}", get(detail))
        .route("/customers/{id}/edit", get(edit_form).post(save))
        .route("/customers/{id}/delete", post(delete))
}

const STAGES: [&str; 4] = ["lead", "prospect", "customer", "churned"];
/// The RFM tiers analytics write (see `rapport_analytics::rfm::Tier`).
const TIERS: [&str; 10] = [
    "Champions",
    "Loyal customers",
    "Potential loyalists",
    "New customers",
    "Promising",
    "Need attention",
    "About to sleep",
    "At risk",
    "Can't lose them",
    "Hibernating",
];
const SORTS: [(&str, &str); 5] = [
    ("name", "Name A–Z"),
    ("-name", "Name Z–A"),
    ("-created_at", "Newest"),
    ("-updated_at", "Recently updated"),
    ("relevance", "Best match"),
];

struct Row {
    id: i64,
    name: String,
    email: String,
    phone: String,
    company_id: Option<i64>,
    company: String,
    stage: &'static str,
    owner: String,
    tags: Vec<String>,
    tier: String,
}

#[derive(Template)]
#[template(path = "customers.html")]
struct ListPage {
    user_name: String,
    csrf: String,
    q: String,
    stage: String,
    owner: String,
    tag: String,
    sort: String,
    stages: [&'static str; 4],
    tiers: [&'static str; 10],
    tier: String,
    sorts: [(&'static str, &'static str); 5],
    owners: Vec<(i64, String)>,
    rows: Vec<Row>,
    error: Option<String>,
    has_cursor: bool,
    first_url: String,
    next_url: Option<String>,
}

/// Template filters of the people and company pages.
pub(super) mod filters {
    /// A stored (E.164) phone number as people read it: `{{ p|phone }}` shows
    /// `+44 20 7946 0958`.
    #[askama::filter_fn]
    pub fn phone(stored: impl ToString, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(rapport_domain::values::Phone::display(&stored.to_string()))
    }
}

pub(super) async fn owners(state: &AppState, user: &UiUser) -> Result<Vec<(i64, String)>, ApiError> {
    Ok(state.store.list_users(user.actor()).await?.into_iter().map(|u| (u.id, u.name)).collect())
}

pub(super) fn name_of(list: &[(i64, String)], id: Option<i64>) -> String {
    id.and_then(|id| list.iter().find(|(i, _)| *i == id)).map(|(_, n)| n.clone()).unwrap_or_default()
}

fn query_url(path: &str, pairs: &[(String, String)], cursor: Option<&str>) -> String {
    let mut parts: Vec<String> =
        pairs.iter().filter(|(k, v)| k != "cursor" && !v.is_empty()).map(|(k, v)| format!("{k}={}", urlencode(v))).collect();
    if let Some(c) = cursor {
        parts.push(format!("cursor={c}"));
    }
    if parts.is_empty() { path.to_string() } else { format!("{path}?{}", parts.join("&")) }
}

async fn list(State(state): State<AppState>, user: UiUser, QueryPairs(pairs): QueryPairs) -> Result<Response, ApiError> {
    let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let owners = owners(&state, &user).await?;
    let defs = state.store.customer_fields(user.actor()).await?;
    let mut params_pairs = pairs.clone();
    // Without a query there is nothing to rank; with one, the best matches come first unless
    // the user picked another order.
    if get("sort") == "relevance" && get("q").trim().is_empty() {
        params_pairs.retain(|(k, _)| k != "sort");
    }
    let (rows, next, error) = match ListParams::parse(&params_pairs, &rapport_domain::customer::SPEC, &defs) {
        Ok(p) => {
            let page = state.store.list_customers(user.actor(), &ListParams { limit: 50, ..p }).await?;
            (page.data, page.next_cursor, None)
        }
        Err(e) => (vec![], None, Some(e.to_string())),
    };
    let rows = rows
        .into_iter()
        .map(|c: Customer| Row {
            id: c.id,
            owner: name_of(&owners, c.data.owner_id),
            company: c.company_name.unwrap_or_default(),
            company_id: c.data.company_id,
            stage: c.data.lifecycle_stage.as_str(),
            email: c.data.email.unwrap_or_default(),
            phone: c.data.phone.as_deref().map(Phone::display).unwrap_or_default(),
            name: c.data.name,
            tags: c.data.tags,
            tier: c.scores.rfm_tier.unwrap_or_default(),
        })
        .collect();
    let page = ListPage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        q: get("q"),
        stage: get("lifecycle_stage"),
        owner: get("owner_id"),
        tag: get("tag"),
        sort: get("sort"),
        stages: STAGES,
        tiers: TIERS,
        tier: get("rfm_tier"),
        sorts: SORTS,
        owners,
        rows,
        error,
        has_cursor: !get("cursor").is_empty(),
        first_url: query_url("/customers", &pairs, None),
        next_url: next.map(|c| query_url("/customers", &pairs, Some(&c))),
    };
    Ok(render(&page))
}

#[derive(Template)]
#[template(path = "customer.html")]
struct DetailPage {
    user_name: String,
    csrf: String,
    c: Customer,
    purchases: Vec<rapport_domain::customer::Purchase>,
    /// Products the cross-sell rules suggest: (product, confidence, lift).
    recommended: Vec<(String, f64, f64)>,
    owner: String,
    custom: Vec<(String, String)>,
}

/// Custom values labelled by their definitions, in definition order.
pub(super) fn labelled(defs: &[CustomField], values: &serde_json::Map<String, serde_json::Value>) -> Vec<(String, String)> {
    defs.iter()
        .filter_map(|d| {
            let v = values.get(&d.key)?;
            let shown = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
                other => super::forms::number_text(other),
            };
            Some((d.label.clone(), shown))
        })
        .collect()
}

async fn detail(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let c = state.store.get_customer(user.actor(), id).await?;
    let owners = owners(&state, &user).await?;
    let defs = state.store.customer_fields(user.actor()).await?;
    let history = state.store.purchases_of(user.actor(), id, 500).await?;
    let mut bought: Vec<String> = history.iter().map(|p| p.product.clone()).collect();
    bought.sort();
    bought.dedup();
    let rules =
        state.store.latest_run(user.actor(), "association_rules").await?.and_then(|r| r.result).map(|r| r["summary"]["rules"].clone());
    let recommended = rules.map(|r| crate::analytics::recommend(&r, &bought)).unwrap_or_default();
    let purchases = history.into_iter().take(20).collect();
    let page = DetailPage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        purchases,
        recommended,
        owner: name_of(&owners, c.data.owner_id),
        custom: labelled(&defs, &c.data.custom),
        c,
    };
    Ok(render(&page))
}

#[derive(Template)]
#[template(path = "customer_form.html")]
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
    stages: [&'static str; 4],
    owners: Vec<(i64, String)>,
    companies: Vec<(i64, String)>,
    /// Whether sensitive inputs are editable (the user has `pii`).
    pii: bool,
}

async fn form_page(
    state: &AppState,
    user: &UiUser,
    id: Option<i64>,
    version: i64,
    form: FormState,
    notice: Option<String>,
) -> Result<FormPage, ApiError> {
    let companies = state.store.list_companies(user.actor(), &ListParams { limit: 500, ..Default::default() }).await?;
    Ok(FormPage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        title: if id.is_some() { format!("Edit {}", form.v("name")) } else { "New person".into() },
        action: id.map(|i| format!("/customers/{i}/edit")).unwrap_or_else(|| "/customers/new".into()),
        cancel: id.map(|i| format!("/customers/{i}")).unwrap_or_else(|| "/customers".into()),
        version: version.to_string(),
        notice,
        form,
        defs: state.store.customer_fields(user.actor()).await?,
        stages: STAGES,
        owners: owners(state, user).await?,
        companies: companies.data.into_iter().map(|c| (c.id, c.data.name)).collect(),
        pii: user.actor().sees_pii(rapport_domain::permissions::Object::Customer),
    })
}

async fn new_form(State(state): State<AppState>, user: UiUser) -> Result<Response, ApiError> {
    let mut form = FormState::default();
    form.values.insert("lifecycle_stage".into(), LifecycleStage::Lead.as_str().into());
    form.values.insert("owner_id".into(), user.user().id.to_string());
    Ok(render(&form_page(&state, &user, None, 0, form, None).await?))
}

async fn edit_form(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let c = state.store.get_customer(user.actor(), id).await?;
    Ok(render(&form_page(&state, &user, Some(id), c.version, customer_values(&c.data), None).await?))
}

async fn rejected(
    state: &AppState,
    user: &UiUser,
    id: Option<i64>,
    form: HashMap<String, String>,
    e: StoreError,
) -> Result<Response, ApiError> {
    let version = super::form_version(&form).unwrap_or(0);
    let (fs, notice) = super::form_errors(form, e)?;
    let page = form_page(state, user, id, version, fs, notice).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
}

async fn create(State(state): State<AppState>, user: UiUser, Form(form): Form<HashMap<String, String>>) -> Result<Response, ApiError> {
    let defs = state.store.customer_fields(user.actor()).await?;
    let input = customer_input(&form, &defs, user.actor().sees_pii(rapport_domain::permissions::Object::Customer));
    let region = state.config.phone_region;
    match state.store.create_customer(user.actor(), || input.apply(None, &defs, region)).await {
        Ok(c) => Ok(Redirect::to(&format!("/customers/{}", c.id)).into_response()),
        Err(e) => rejected(&state, &user, None, form, e).await,
    }
}

async fn save(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let defs = state.store.customer_fields(user.actor()).await?;
    let input = customer_input(&form, &defs, user.actor().sees_pii(rapport_domain::permissions::Object::Customer));
    let version = super::form_version(&form);
    let region = state.config.phone_region;
    match state.store.update_customer(user.actor(), id, version, |cur| input.apply(Some(cur), &defs, region)).await {
        Ok(_) => Ok(Redirect::to(&format!("/customers/{id}")).into_response()),
        Err(e) => rejected(&state, &user, Some(id), form, e).await,
    }
}

async fn delete(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let version = super::form_version(&form);
    state.store.delete_customer(user.actor(), id, version).await?;
    Ok(Redirect::to("/customers").into_response())
}
