//! The product catalogue: the shared list and form (see [`crate::ui::records`]); a product's
//! page is its form, since a catalogue entry has nothing more to show.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use rapport_domain::permissions::Actor;
use rapport_domain::query::{ListParams, Page};
use rapport_domain::sales::product::{Product, ProductInput, SPEC};
use rapport_store::Error as StoreError;
use serde_json::Value;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::Path;
use crate::ui::UiUser;
use crate::ui::records::{Pages, UiRecord, input_of, routes, to_json};

pub(super) fn router() -> axum::Router<AppState> {
    routes::<Product>().route("/products/{id}", get(detail))
}

impl UiRecord for Product {
    const PAGES: Pages = Pages {
        spec: &SPEC,
        columns: &["name", "sku", "unit_price_minor", "currency", "active"],
        filters: &["active", "currency"],
        sorts: &[("name", "Name A–Z"), ("sku", "SKU"), ("-unit_price_minor", "Dearest first"), ("relevance", "Best match")],
        search_hint: "Search SKU, name, description…",
        new_label: "New product",
        form: &[("", &["sku", "name", "unit_price_minor", "currency", "active"]), ("", &["description"])],
    };

    fn prefill(_user_id: i64) -> Vec<(&'static str, String)> {
        vec![("active", "on".into())]
    }

    async fn list(state: &AppState, actor: &Actor, p: &ListParams) -> Result<Page<Value>, StoreError> {
        let page = state.store.list_products(actor, p).await?;
        Ok(Page { data: page.data.iter().map(to_json).collect(), next_cursor: page.next_cursor, sync_token: page.sync_token })
    }

    async fn get(state: &AppState, actor: &Actor, id: i64) -> Result<Value, StoreError> {
        Ok(to_json(&state.store.get_product(actor, id).await?))
    }

    async fn create(state: &AppState, actor: &Actor, input: Value) -> Result<i64, StoreError> {
        let input: ProductInput = input_of(input)?;
        Ok(state.store.create_product(actor, input).await?.id)
    }

    async fn update(state: &AppState, actor: &Actor, id: i64, version: Option<i64>, input: Value) -> Result<(), StoreError> {
        let input: ProductInput = input_of(input)?;
        state.store.update_product(actor, id, version, input).await.map(|_| ())
    }

    async fn delete(state: &AppState, actor: &Actor, id: i64, version: Option<i64>) -> Result<(), StoreError> {
        state.store.delete_product(actor, id, version).await
    }
}

/// `/products/{id}`: the product's form (after checking it exists for the reader).
async fn detail(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>) -> Result<Response, ApiError> {
    state.store.get_product(user.actor(), id).await?;
    Ok(Redirect::to(&format!("/products/{id}/edit")).into_response())
}
