//! Company pages: the shared list and form (see [`super::records`]), and the company's own
//! detail page with its people.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use rapport_domain::company::{Company, CompanyInput, SPEC};
use rapport_domain::customer::Customer;
use rapport_domain::permissions::Actor;
use rapport_domain::query::{ListParams, Page};
use rapport_store::Error as StoreError;
use serde_json::Value;

use super::customers::{filters, labelled, name_of, owners};
use super::records::{Pages, UiRecord, input_of, routes, to_json};
use super::{UiUser, render};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::Path;

pub(super) fn router() -> axum::Router<AppState> {
    routes::<Company>().route("/companies/{id}", get(detail))
}

impl UiRecord for Company {
    const PAGES: Pages = Pages {
        spec: &SPEC,
        columns: &["name", "domain", "industry", "address.city", "people_count", "tags"],
        filters: &["owner_id", "tag"],
        sorts: &[("name", "Name A–Z"), ("-name", "Name Z–A"), ("-created_at", "Newest"), ("relevance", "Best match")],
        search_hint: "Search name, domain, industry…",
        new_label: "New company",
        form: &[
            ("", &["name", "domain", "email", "phone", "industry", "owner_id", "tags"]),
            ("Address", &["address.street", "address.postal_code", "address.city", "address.region", "address.country"]),
            ("", &["notes", "custom"]),
        ],
    };

    async fn list(state: &AppState, actor: &Actor, p: &ListParams) -> Result<Page<Value>, StoreError> {
        let page = state.store.list_companies(actor, p).await?;
        Ok(Page { data: page.data.iter().map(to_json).collect(), next_cursor: page.next_cursor, sync_token: page.sync_token })
    }

    async fn get(state: &AppState, actor: &Actor, id: i64) -> Result<Value, StoreError> {
        Ok(to_json(&state.store.get_company(actor, id).await?))
    }

    async fn create(state: &AppState, actor: &Actor, input: Value) -> Result<i64, StoreError> {
        let defs = state.store.company_fields(actor).await?;
        let input: CompanyInput = input_of(input)?;
        let region = state.config.phone_region;
        Ok(state.store.create_company(actor, || input.apply(None, &defs, region)).await?.id)
    }

    async fn update(state: &AppState, actor: &Actor, id: i64, version: Option<i64>, input: Value) -> Result<(), StoreError> {
        let defs = state.store.company_fields(actor).await?;
        let input: CompanyInput = input_of(input)?;
        let region = state.config.phone_region;
        state.store.update_company(actor, id, version, |cur| input.apply(Some(cur), &defs, region)).await.map(|_| ())
    }

    async fn delete(state: &AppState, actor: &Actor, id: i64, version: Option<i64>) -> Result<(), StoreError> {
        state.store.delete_company(actor, id, version).await
    }
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
    activities: super::sales::ActivityCard,
    timeline: super::sales::TimelineCard,
    /// Other companies whose name shares this one's first word, to merge into it.
    similar: Vec<Company>,
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
    let activities = super::sales::activity_card(&state, &user, "company_id", id, &c.data.name).await?;
    let timeline = super::sales::timeline_card(&state, &user, rapport_domain::timeline::Subject::Company(id), None).await?;
    let similar = similar(&state, &user, &c).await?;
    let page = DetailPage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        owner: name_of(&owners, c.data.owner_id),
        custom: labelled(&defs, &c.data.custom),
        c,
        people: people.data,
        activities,
        timeline,
        similar,
    };
    Ok(render(&page))
}

/// Companies a duplicate of `c` is likely among: those whose name has its first word ("Acme"
/// for "ACME Ltd"), up to 20.
async fn similar(state: &AppState, user: &UiUser, c: &Company) -> Result<Vec<Company>, ApiError> {
    let folded = rapport_domain::text::fold(&c.data.name);
    let Some(word) = folded.split(|ch: char| !ch.is_alphanumeric()).find(|w| w.chars().count() >= 2) else { return Ok(Vec::new()) };
    let p = ListParams { limit: 21, terms: vec![word.to_string()], ..Default::default() };
    let found = state.store.list_companies(user.actor(), &p).await?;
    Ok(found.data.into_iter().filter(|o| o.id != c.id).take(20).collect())
}
