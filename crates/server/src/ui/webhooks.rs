//! `/admin/webhooks`: subscriptions (the signing secret shown once, on creation), the sender's
//! settings, and the recent deliveries with their errors and a redeliver button. The store
//! refuses everything here to roles that may not change settings.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rapport_domain::webhooks::{Delivery, EVENT_TYPES, Subscription, SubscriptionInput, WebhookSettings};

use super::{UiUser, render};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Form, Path};

pub(super) fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/admin/webhooks", get(page).post(create))
        .route("/admin/webhooks/settings", post(save_settings))
        .route("/admin/webhooks/{id}/active", post(set_active))
        .route("/admin/webhooks/deliveries/{id}/redeliver", post(redeliver))
}

#[derive(Template)]
#[template(path = "admin_webhooks.html")]
struct WebhooksPage {
    user_name: String,
    csrf: String,
    subscriptions: Vec<Subscription>,
    deliveries: Vec<Delivery>,
    settings: WebhookSettings,
    event_types: &'static [&'static str],
    /// The secret of the subscription just created: shown this once.
    new_secret: Option<String>,
    notice: Option<String>,
}

async fn show(state: &AppState, user: &UiUser, new_secret: Option<String>, notice: Option<String>) -> Result<Response, ApiError> {
    let subscriptions = match state.store.list_webhooks(user.actor()).await {
        Ok(s) => s,
        Err(rapport_store::Error::Denied(d)) => {
            return Ok((StatusCode::FORBIDDEN, axum::response::Html(format!("<h1>Not allowed</h1><p>{d}</p>"))).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    let deliveries = state.store.list_webhook_deliveries(user.actor(), None, None, 50).await?;
    let settings = state.store.webhook_settings(user.actor()).await?;
    let status = if notice.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = WebhooksPage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        subscriptions,
        deliveries,
        settings,
        event_types: EVENT_TYPES,
        new_secret,
        notice,
    };
    Ok((status, render(&page)).into_response())
}

async fn page(State(state): State<AppState>, user: UiUser) -> Result<Response, ApiError> {
    show(&state, &user, None, None).await
}

/// A store refusal the admin can fix is shown on the page; anything else is an error.
async fn or_notice(state: &AppState, user: &UiUser, e: rapport_store::Error) -> Result<Response, ApiError> {
    match e {
        rapport_store::Error::Invalid(v) => show(state, user, None, Some(v.to_string())).await,
        e @ (rapport_store::Error::VersionMismatch { .. } | rapport_store::Error::Refused(_)) => {
            show(state, user, None, Some(e.to_string())).await
        }
        e => Err(e.into()),
    }
}

async fn create(State(state): State<AppState>, user: UiUser, Form(form): Form<Vec<(String, String)>>) -> Result<Response, ApiError> {
    let one = |k: &str| form.iter().find(|(f, _)| f == k).map(|(_, v)| v.clone());
    let events: Vec<String> = form.iter().filter(|(k, _)| k == "event").map(|(_, v)| v.clone()).collect();
    let input = SubscriptionInput {
        url: one("url"),
        description: Some(one("description").filter(|d| !d.trim().is_empty())),
        events: Some(events),
        active: Some(true),
    };
    match state.store.create_webhook(user.actor(), input).await {
        Ok(s) => show(&state, &user, s.secret, None).await,
        Err(e) => or_notice(&state, &user, e).await,
    }
}

async fn set_active(
    State(state): State<AppState>,
    user: UiUser,
    Path(id): Path<i64>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let input = SubscriptionInput { active: Some(form.get("active").is_some_and(|v| v == "true")), ..Default::default() };
    match state.store.update_webhook(user.actor(), id, super::form_version(&form), input).await {
        Ok(_) => Ok(Redirect::to("/admin/webhooks").into_response()),
        Err(e) => or_notice(&state, &user, e).await,
    }
}

async fn save_settings(
    State(state): State<AppState>,
    user: UiUser,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let Some(limit) = form.get("disable_after_failures").and_then(|v| v.trim().parse::<i64>().ok()) else {
        return show(&state, &user, None, Some("disable_after_failures: must be a whole number from 1 to 10,000".into())).await;
    };
    let settings = WebhookSettings { allow_private_targets: form.contains_key("allow_private_targets"), disable_after_failures: limit };
    match state.store.save_webhook_settings(user.actor(), settings).await {
        Ok(_) => Ok(Redirect::to("/admin/webhooks").into_response()),
        Err(e) => or_notice(&state, &user, e).await,
    }
}

async fn redeliver(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>) -> Result<Response, ApiError> {
    match state.store.redeliver_webhook(user.actor(), id).await {
        Ok(_) => Ok(Redirect::to("/admin/webhooks").into_response()),
        Err(e) => or_notice(&state, &user, e).await,
    }
}
