//! Macro pages: the shared list and form (see [`crate::ui::records`]); a macro's page is its
//! form. Agents pick macros on the ticket page.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use rapport_domain::permissions::Actor;
use rapport_domain::query::{ListParams, Page};
use rapport_domain::service::canned::{Macro, MacroInput, SPEC};
use rapport_store::Error as StoreError;
use serde_json::Value;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::Path;
use crate::ui::UiUser;
use crate::ui::records::{Pages, UiRecord, input_of, routes, to_json};

pub(super) fn router() -> axum::Router<AppState> {
    routes::<Macro>().route("/macros/{id}", get(detail))
}

/// The form leaves out a select left blank; for a macro that means "no action".
fn with_action(mut input: Value) -> Value {
    if let Some(m) = input.as_object_mut() {
        m.entry("action").or_insert(Value::Null);
    }
    input
}

impl UiRecord for Macro {
    const PAGES: Pages = Pages {
        spec: &SPEC,
        columns: &["name", "action", "add_tags", "internal", "updated_at"],
        filters: &["internal"],
        sorts: &[("name", "Name A–Z"), ("-updated_at", "Recently changed")],
        search_hint: "Macros",
        new_label: "New macro",
        form: &[("", &["name", "internal", "action", "assignee_id", "add_tags"]), ("", &["body"])],
    };

    fn prefill(_user_id: i64) -> Vec<(&'static str, String)> {
        vec![("body", "Hi {{customer.first_name | default: \"there\"}},\n\n\n\n{{agent.name}}".into())]
    }

    async fn list(state: &AppState, actor: &Actor, p: &ListParams) -> Result<Page<Value>, StoreError> {
        let page = state.store.list_macros(actor, p).await?;
        Ok(Page { data: page.data.iter().map(to_json).collect(), next_cursor: page.next_cursor, sync_token: page.sync_token })
    }

    async fn get(state: &AppState, actor: &Actor, id: i64) -> Result<Value, StoreError> {
        Ok(to_json(&state.store.get_macro(actor, id).await?))
    }

    async fn create(state: &AppState, actor: &Actor, input: Value) -> Result<i64, StoreError> {
        let input: MacroInput = input_of(with_action(input))?;
        Ok(state.store.create_macro(actor, input).await?.id)
    }

    async fn update(state: &AppState, actor: &Actor, id: i64, version: Option<i64>, input: Value) -> Result<(), StoreError> {
        let input: MacroInput = input_of(with_action(input))?;
        state.store.update_macro(actor, id, version, input).await.map(|_| ())
    }

    async fn delete(state: &AppState, actor: &Actor, id: i64, version: Option<i64>) -> Result<(), StoreError> {
        state.store.delete_macro(actor, id, version).await
    }
}

/// `/macros/{id}`: the macro's form (after checking it exists for the reader).
async fn detail(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>) -> Result<Response, ApiError> {
    state.store.get_macro(user.actor(), id).await?;
    Ok(Redirect::to(&format!("/macros/{id}/edit")).into_response())
}
