//! People pages: the shared list and form (see [`super::records`]), and the person's own
//! detail page with purchases, scores and recommendations.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use rapport_domain::custom_field::CustomField;
use rapport_domain::customer::{Customer, CustomerInput, SPEC};
use rapport_domain::permissions::Actor;
use rapport_domain::query::{ListParams, Page};
use rapport_domain::timeline::Subject;
use rapport_store::Error as StoreError;
use serde_json::Value;

use super::records::{Pages, UiRecord, input_of, routes, to_json};
use super::{UiUser, render};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::Path;

pub(super) fn router() -> axum::Router<AppState> {
    routes::<Customer>().route("/customers/{id}", get(detail))
}

impl UiRecord for Customer {
    const PAGES: Pages = Pages {
        spec: &SPEC,
        columns: &["name", "email", "phone", "company_name", "lifecycle_stage", "owner_id", "scores.rfm_tier", "tags"],
        filters: &["lifecycle_stage", "lead_status", "owner_id", "tag", "rfm_tier"],
        sorts: &[
            ("name", "Name A–Z"),
            ("-name", "Name Z–A"),
            ("-created_at", "Newest"),
            ("-updated_at", "Recently updated"),
            ("relevance", "Best match"),
        ],
        search_hint: "Search name, email, phone, company…",
        new_label: "New person",
        form: &[
            ("", &["name", "email", "phone", "source", "company_id", "lifecycle_stage", "owner_id", "tags"]),
            ("Address", &["address.street", "address.postal_code", "address.city", "address.region", "address.country"]),
            ("More contacts", &["additional_emails", "additional_phones"]),
            ("Lead", &["lead_status", "disqualified_reason"]),
            ("", &["needs", "notes", "custom"]),
        ],
    };

    const SEGMENT_FILTER: bool = true;

    async fn list(state: &AppState, actor: &Actor, p: &ListParams) -> Result<Page<Value>, StoreError> {
        let page = state.store.list_customers(actor, p).await?;
        Ok(Page { data: page.data.iter().map(to_json).collect(), next_cursor: page.next_cursor, sync_token: page.sync_token })
    }

    async fn get(state: &AppState, actor: &Actor, id: i64) -> Result<Value, StoreError> {
        Ok(to_json(&state.store.get_customer(actor, id).await?))
    }

    async fn create(state: &AppState, actor: &Actor, input: Value) -> Result<i64, StoreError> {
        let defs = state.store.customer_fields(actor).await?;
        let input: CustomerInput = input_of(input)?;
        let region = state.config.phone_region;
        Ok(state.store.create_customer(actor, || input.apply(None, &defs, region)).await?.id)
    }

    async fn update(state: &AppState, actor: &Actor, id: i64, version: Option<i64>, input: Value) -> Result<(), StoreError> {
        let defs = state.store.customer_fields(actor).await?;
        let input: CustomerInput = input_of(input)?;
        let region = state.config.phone_region;
        state.store.update_customer(actor, id, version, |cur| input.apply(Some(cur), &defs, region)).await.map(|_| ())
    }

    async fn delete(state: &AppState, actor: &Actor, id: i64, version: Option<i64>) -> Result<(), StoreError> {
        state.store.delete_customer(actor, id, version).await
    }
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
    activities: super::sales::ActivityCard,
    timeline: super::sales::TimelineCard,
    orders: super::sales::OrderCard,
    /// The name of the person's k-means cluster.
    cluster: Option<String>,
    /// People who look like this one: (id, name, score and reasons), each with a merge link.
    duplicates: Vec<(i64, String, String)>,
}

/// Possible duplicates of a person as the page lists them.
pub(super) fn duplicate_rows(found: Vec<rapport_domain::quality::duplicates::DuplicateCandidate>) -> Vec<(i64, String, String)> {
    found
        .into_iter()
        .map(|d| {
            let reasons: Vec<String> =
                d.reasons.iter().filter_map(|r| serde_json::to_value(r).ok()?.as_str().map(|s| s.replace('_', " "))).collect();
            (d.id, d.name, format!("{:.2} · {}", d.score, reasons.join(", ")))
        })
        .collect()
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
    let activities = super::sales::activity_card(&state, &user, "customer_id", id, &c.data.name).await?;
    let timeline = super::sales::timeline_card(&state, &user, Subject::Customer(id), None).await?;
    let orders = super::sales::order_card(&state, &user, id, &c.data.name).await?;
    let cluster = match c.scores.segment {
        Some(n) => Some(super::marketing::cluster_labels(&state, user.actor()).await?.name(n)),
        None => None,
    };
    let duplicates = duplicate_rows(state.store.duplicates_of(user.actor(), &c.data, Some(id)).await?);
    let page = DetailPage {
        duplicates,
        cluster,
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        purchases,
        recommended,
        owner: name_of(&owners, c.data.owner_id),
        custom: labelled(&defs, &c.data.custom),
        activities,
        timeline,
        orders,
        c,
    };
    Ok(render(&page))
}
