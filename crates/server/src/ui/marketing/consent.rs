//! The unsubscribe link and the preference centre (no sign-in; the signed token in the URL is
//! the key). `GET /m/u/{token}` only shows a confirmation page: mail scanners follow links, and
//! must never unsubscribe anyone. `POST /m/u/{token}` unsubscribes, whether from the page's
//! button or as RFC 8058's one-click POST (`List-Unsubscribe=One-Click`) a mail client sends.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use rapport_store::{Preferences, UnsubscribeView};

use crate::AppState;
use crate::api::sales::web_to_lead::Caller;
use crate::error::ApiError;
use crate::extract::{Form, Path};
use crate::ui::render;

pub(super) fn public_router() -> axum::Router<AppState> {
    axum::Router::new().route("/m/u/{token}", get(confirm).post(unsubscribe)).route("/m/p/{token}", get(preferences).post(save))
}

#[derive(Template)]
#[template(path = "marketing_unsubscribe.html")]
struct UnsubscribePage {
    v: UnsubscribeView,
    action: String,
    preferences: String,
    done: bool,
}

async fn confirm(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, ApiError> {
    let v = state.store.unsubscribe_view(&token).await?;
    let done = v.unsubscribed;
    Ok(render(&UnsubscribePage { v, action: format!("/m/u/{token}"), preferences: format!("/m/p/{token}"), done }))
}

/// The caller's address for the consent record (the throttle's key is the address or its /64).
pub(super) fn ip(c: &Caller) -> Option<&str> {
    (c.client != "unknown").then_some(c.client.as_str())
}

async fn unsubscribe(
    State(state): State<AppState>,
    caller: Caller,
    Path(token): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let source = if form.get("List-Unsubscribe").is_some_and(|v| v == "One-Click") { "one_click" } else { "unsubscribe_link" };
    state.store.unsubscribe(&token, ip(&caller), source).await?;
    let v = state.store.unsubscribe_view(&token).await?;
    Ok(render(&UnsubscribePage { v, action: format!("/m/u/{token}"), preferences: format!("/m/p/{token}"), done: true }))
}

#[derive(Template)]
#[template(path = "marketing_preferences.html")]
struct PreferencesPage {
    p: Preferences,
    action: String,
    saved: bool,
}

async fn preferences(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, ApiError> {
    let p = state.store.preferences(&token).await?;
    Ok(render(&PreferencesPage { p, action: format!("/m/p/{token}"), saved: false }))
}

async fn save(
    State(state): State<AppState>,
    caller: Caller,
    Path(token): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let receive: Vec<String> = form.keys().filter_map(|k| k.strip_prefix("topic_")).map(str::to_string).collect();
    let all = form.contains_key("unsubscribe_all");
    let p = state.store.save_preferences(&token, &receive, all, ip(&caller)).await?;
    Ok(render(&PreferencesPage { p, action: format!("/m/p/{token}"), saved: true }))
}
