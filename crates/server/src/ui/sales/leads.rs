//! `/leads`: the people at lifecycle stage `lead`, on the shared list page with their lead
//! status. They are people (one list, as in HubSpot and Odoo): rows open the person, and a new
//! lead is a new person at stage `lead`. Each lead that may be converted has its Convert button.

use axum::response::Redirect;
use axum::routing::get;
use rapport_domain::customer::{Customer, SPEC};
use rapport_domain::permissions::Actor;
use rapport_domain::query::{ListParams, Page};
use rapport_store::Error as StoreError;
use serde_json::Value;

use crate::AppState;
use crate::ui::records::{Pages, UiRecord, list_route};

pub(super) fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/leads", list_route::<Leads>())
        .route("/leads/new", get(|| async { Redirect::to("/customers/new?lifecycle_stage=lead") }))
}

/// The lead list: people, filtered to stage `lead`.
pub(super) struct Leads;

impl UiRecord for Leads {
    const PAGES: Pages = Pages {
        spec: &SPEC,
        columns: &["name", "email", "phone", "company_name", "lead_status", "source", "owner_id", "tags"],
        filters: &["lead_status", "owner_id", "tag"],
        sorts: &[("-created_at", "Newest"), ("name", "Name A–Z"), ("-updated_at", "Recently updated"), ("relevance", "Best match")],
        search_hint: "Search name, email, phone, company…",
        new_label: "New lead",
        form: <Customer as UiRecord>::PAGES.form,
    };
    const LIST_PATH: Option<&'static str> = Some("/leads");

    /// Convert, for the leads that may be converted now (not disqualified ones).
    fn row_action(lead: &serde_json::Map<String, Value>) -> Option<(&'static str, String)> {
        let open = lead.get("lead_status").and_then(Value::as_str).is_some_and(|s| s != "disqualified" && s != "qualified");
        open.then(|| ("Convert", format!("/customers/{}/convert", lead.get("id").and_then(Value::as_i64).unwrap_or(0))))
    }

    async fn list(state: &AppState, actor: &Actor, p: &ListParams) -> Result<Page<Value>, StoreError> {
        <Customer as UiRecord>::list(state, actor, &p.clone().with(&SPEC, "lifecycle_stage", "lead")).await
    }

    async fn get(state: &AppState, actor: &Actor, id: i64) -> Result<Value, StoreError> {
        <Customer as UiRecord>::get(state, actor, id).await
    }

    async fn create(state: &AppState, actor: &Actor, input: Value) -> Result<i64, StoreError> {
        <Customer as UiRecord>::create(state, actor, input).await
    }

    async fn update(state: &AppState, actor: &Actor, id: i64, version: Option<i64>, input: Value) -> Result<(), StoreError> {
        <Customer as UiRecord>::update(state, actor, id, version, input).await
    }

    async fn delete(state: &AppState, actor: &Actor, id: i64, version: Option<i64>) -> Result<(), StoreError> {
        <Customer as UiRecord>::delete(state, actor, id, version).await
    }
}
