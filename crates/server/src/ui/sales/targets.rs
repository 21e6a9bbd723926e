//! `/targets`: quotas on the shared list page and form, each row with its attainment. A
//! target has no page of its own: its row opens its form.

use axum::response::Redirect;
use axum::routing::get;
use rapport_domain::permissions::Actor;
use rapport_domain::query::{ListParams, Page};
use rapport_domain::sales::target::{SPEC, Target};
use rapport_store::Error as StoreError;
use serde_json::Value;

use crate::AppState;
use crate::extract::Path;
use crate::ui::records::{Pages, UiRecord, input_of, routes, to_json};

pub(super) fn router() -> axum::Router<AppState> {
    routes::<Target>().route("/targets/{id}", get(|Path(id): Path<i64>| async move { Redirect::to(&format!("/targets/{id}/edit")) }))
}

impl UiRecord for Target {
    const PAGES: Pages = Pages {
        spec: &SPEC,
        columns: &["period", "user_id", "team_id", "measure", "amount_minor", "achieved_minor", "counted", "starts_on", "ends_on"],
        filters: &["user_id", "measure", "period"],
        sorts: &[("-starts_on", "Latest period"), ("starts_on", "Earliest period"), ("-amount_minor", "Largest quota")],
        search_hint: "",
        new_label: "New target",
        form: &[("", &["user_id", "team_id", "period", "measure", "amount_minor", "currency"])],
    };

    async fn list(state: &AppState, actor: &Actor, p: &ListParams) -> Result<Page<Value>, StoreError> {
        let page = state.store.list_targets(actor, p).await?;
        Ok(Page { data: page.data.iter().map(to_json).collect(), next_cursor: page.next_cursor, sync_token: page.sync_token })
    }

    async fn get(state: &AppState, actor: &Actor, id: i64) -> Result<Value, StoreError> {
        Ok(to_json(&state.store.get_target(actor, id).await?))
    }

    async fn create(state: &AppState, actor: &Actor, input: Value) -> Result<i64, StoreError> {
        Ok(state.store.create_target(actor, input_of(input)?).await?.id)
    }

    async fn update(state: &AppState, actor: &Actor, id: i64, version: Option<i64>, input: Value) -> Result<(), StoreError> {
        state.store.update_target(actor, id, version, input_of(input)?).await.map(|_| ())
    }

    async fn delete(state: &AppState, actor: &Actor, id: i64, version: Option<i64>) -> Result<(), StoreError> {
        state.store.delete_target(actor, id, version).await
    }
}
