//! Feedback pages: the shared list (filtered by kind, channel and owner) and form (see
//! [`crate::ui::records`]).

use rapport_domain::permissions::Actor;
use rapport_domain::query::{ListParams, Page};
use rapport_domain::service::feedback::{Feedback, FeedbackInput, SPEC};
use rapport_store::Error as StoreError;
use serde_json::Value;

use crate::AppState;
use crate::ui::records::{Pages, UiRecord, input_of, routes, to_json};

pub(super) fn router() -> axum::Router<AppState> {
    routes::<Feedback>()
}

impl UiRecord for Feedback {
    const PAGES: Pages = Pages {
        spec: &SPEC,
        columns: &["kind", "customer_name", "body", "channel", "owner_id", "created_at"],
        filters: &["kind", "channel", "owner_id"],
        sorts: &[("-created_at", "Newest"), ("created_at", "Oldest"), ("relevance", "Best match")],
        search_hint: "Search what people said…",
        new_label: "New feedback",
        form: &[("", &["kind", "customer_id", "channel", "owner_id"]), ("", &["body"])],
    };

    fn prefill(user_id: i64) -> Vec<(&'static str, String)> {
        vec![("kind", "feedback".into()), ("channel", "phone".into()), ("owner_id", user_id.to_string())]
    }

    async fn list(state: &AppState, actor: &Actor, p: &ListParams) -> Result<Page<Value>, StoreError> {
        let page = state.store.list_feedback(actor, p).await?;
        Ok(Page { data: page.data.iter().map(to_json).collect(), next_cursor: page.next_cursor, sync_token: page.sync_token })
    }

    async fn get(state: &AppState, actor: &Actor, id: i64) -> Result<Value, StoreError> {
        Ok(to_json(&state.store.get_feedback(actor, id).await?))
    }

    async fn create(state: &AppState, actor: &Actor, input: Value) -> Result<i64, StoreError> {
        let input: FeedbackInput = input_of(input)?;
        Ok(state.store.create_feedback(actor, input).await?.id)
    }

    async fn update(state: &AppState, actor: &Actor, id: i64, version: Option<i64>, input: Value) -> Result<(), StoreError> {
        let input: FeedbackInput = input_of(input)?;
        state.store.update_feedback(actor, id, version, input).await.map(|_| ())
    }

    async fn delete(state: &AppState, actor: &Actor, id: i64, version: Option<i64>) -> Result<(), StoreError> {
        state.store.delete_feedback(actor, id, version).await
    }
}
