//! Company pages: list with search, detail with its people.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use rapport_domain::company::Company;
use rapport_domain::customer::Customer;
use rapport_domain::query::ListParams;

use super::customers::{labelled, owners};
use super::{UiUser, render, urlencode};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::QueryPairs;

pub(super) fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/companies", get(list))
        .route("/companies/{id}", get(detail))
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

async fn list(
    State(state): State<AppState>,
    user: UiUser,
    QueryPairs(pairs): QueryPairs,
) -> Result<Response, ApiError> {
    let q = pairs
        .iter()
        .find(|(k, _)| k == "q")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let defs = state.store.company_fields(user.actor()).await?;
    let (rows, next, error) = match ListParams::parse(&pairs, &defs) {
        Ok(p) => {
            let page = state.store.list_companies(user.actor(), &p).await?;
            (page.data, page.next_cursor, None)
        }
        Err(e) => (vec![], None, Some(e.to_string())),
    };
    let next_url = next.map(|c| {
        if q.is_empty() {
            format!("/companies?cursor={c}")
        } else {
            format!("/companies?q={}&cursor={c}", urlencode(&q))
        }
    });
    Ok(render(&ListPage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        q,
        rows,
        error,
        next_url,
    }))
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

async fn detail(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let c = state.store.get_company(user.actor(), id).await?;
    let people = state
        .store
        .list_customers(
            user.actor(),
            &ListParams {
                company_id: Some(id),
                limit: 200,
                ..Default::default()
            },
        )
        .await?;
    let owners = owners(&state, &user).await?;
    let defs = state.store.company_fields(user.actor()).await?;
    let owner = c
        .data
        .owner_id
        .and_then(|o| owners.iter().find(|(i, _)| *i == o))
        .map(|(_, n)| n.clone())
        .unwrap_or_default();
    let page = DetailPage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        owner,
        custom: labelled(&defs, &c.data.custom),
        c,
        people: people.data,
    };
    Ok(render(&page))
}
