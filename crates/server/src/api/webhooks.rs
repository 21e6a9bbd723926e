//! `/api/v1/webhooks`: subscriptions to events (admins), the delivery log, redelivery and the
//! sender's settings. How deliveries are signed is in [`crate::webhooks`].

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use rapport_domain::ValidationErrors;
use rapport_domain::webhooks::{Attempt, Delivery, EVENT_TYPES, Subscription, SubscriptionInput, WebhookSettings};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::{bad_query, created, etag};
use crate::error::ApiError;
use crate::extract::{AppJson, CurrentUser, IfMatch, Path, QueryPairs};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(event_types))
        .routes(routes!(get_settings, save_settings))
        .routes(routes!(list_deliveries))
        .routes(routes!(get_delivery))
        .routes(routes!(redeliver))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
}

/// Every subscription (admins).
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", operation_id = "list_webhooks", security(("bearer" = [])),
    responses((status = 200, body = Vec<Subscription>)))]
async fn list_webhooks(State(state): State<AppState>, user: CurrentUser) -> Result<Json<Vec<Subscription>>, ApiError> {
    Ok(Json(state.store.list_webhooks(&user.actor).await?))
}

/// Subscribe a URL to events (admins). The answer carries the signing `secret`, this once:
/// each delivery is a POST with `Rapport-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of
/// "<t>.<body>" under the secret>`, `Rapport-Event-Id` and `Rapport-Event-Type`; answer 2xx
/// within 10 seconds, and deduplicate by the event id (delivery is at least once).
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", operation_id = "create_webhook", request_body = SubscriptionInput,
    security(("bearer" = [])), responses((status = 201, body = Subscription, headers(("Location" = String, description = "The subscription's URL")))))]
async fn create_webhook(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(input): AppJson<SubscriptionInput>,
) -> Result<(StatusCode, HeaderMap, Json<Subscription>), ApiError> {
    let s = state.store.create_webhook(&user.actor, input).await?;
    let (status, headers) = created(format!("/api/v1/webhooks/{}", s.id), s.version);
    Ok((status, headers, Json(s)))
}

/// One subscription.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks", operation_id = "get_webhook", security(("bearer" = [])),
    responses((status = 200, body = Subscription)))]
async fn get_webhook(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<(HeaderMap, Json<Subscription>), ApiError> {
    let s = state.store.get_webhook(&user.actor, id).await?;
    Ok((etag(s.version), Json(s)))
}

/// Change a subscription (only the fields sent); `"active": true` turns a disabled one back on.
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks", operation_id = "update_webhook", request_body = SubscriptionInput,
    params(IfMatch), security(("bearer" = [])), responses((status = 200, body = Subscription)))]
async fn update_webhook(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
    AppJson(input): AppJson<SubscriptionInput>,
) -> Result<(HeaderMap, Json<Subscription>), ApiError> {
    let s = state.store.update_webhook(&user.actor, id, version, input).await?;
    Ok((etag(s.version), Json(s)))
}

/// Delete a subscription with its deliveries and their log.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", operation_id = "delete_webhook", params(IfMatch),
    security(("bearer" = [])), responses((status = 204)))]
async fn delete_webhook(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
) -> Result<StatusCode, ApiError> {
    state.store.delete_webhook(&user.actor, id, version).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The event types a subscription can name.
#[derive(Serialize, ToSchema)]
pub struct EventTypes {
    /// Every type; `*` subscribes to all.
    pub event_types: Vec<&'static str>,
}

/// The event types a subscription can name.
#[utoipa::path(get, path = "/api/v1/webhooks/event_types", tag = "webhooks", operation_id = "webhook_event_types", security(("bearer" = [])),
    responses((status = 200, body = EventTypes)))]
async fn event_types(_user: CurrentUser) -> Json<EventTypes> {
    Json(EventTypes { event_types: EVENT_TYPES.to_vec() })
}

/// The sender's settings.
#[utoipa::path(get, path = "/api/v1/webhooks/settings", tag = "webhooks", operation_id = "get_webhook_settings", security(("bearer" = [])),
    responses((status = 200, body = WebhookSettings)))]
async fn get_settings(State(state): State<AppState>, user: CurrentUser) -> Result<Json<WebhookSettings>, ApiError> {
    Ok(Json(state.store.webhook_settings(&user.actor).await?))
}

/// Save the sender's settings (admins): whether targets may be private addresses, and after how
/// many failed attempts in a row a subscription is disabled.
#[utoipa::path(put, path = "/api/v1/webhooks/settings", tag = "webhooks", operation_id = "save_webhook_settings", request_body = WebhookSettings,
    security(("bearer" = [])), responses((status = 200, body = WebhookSettings)))]
async fn save_settings(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(input): AppJson<WebhookSettings>,
) -> Result<Json<WebhookSettings>, ApiError> {
    Ok(Json(state.store.save_webhook_settings(&user.actor, input).await?))
}

/// Deliveries, newest first: `subscription_id`, `state` (`pending`, `delivered`, `failed`),
/// `limit` (1–500, default 100).
#[utoipa::path(get, path = "/api/v1/webhooks/deliveries", tag = "webhooks", operation_id = "list_webhook_deliveries", security(("bearer" = [])),
    params(("subscription_id" = Option<i64>, Query, description = "One subscription's"),
        ("state" = Option<String>, Query, description = "pending, delivered or failed"),
        ("limit" = Option<i64>, Query, description = "1 to 500")),
    responses((status = 200, body = Vec<Delivery>)))]
async fn list_deliveries(
    State(state): State<AppState>,
    user: CurrentUser,
    QueryPairs(pairs): QueryPairs,
) -> Result<Json<Vec<Delivery>>, ApiError> {
    let mut errs = ValidationErrors::default();
    let (mut subscription, mut st, mut limit) = (None, None, 100);
    for (k, v) in &pairs {
        match k.as_str() {
            "subscription_id" => match v.parse::<i64>() {
                Ok(n) => subscription = Some(n),
                _ => errs.add("subscription_id", "must be a subscription id"),
            },
            "state" => st = Some(v.clone()),
            "limit" => match v.parse::<i64>() {
                Ok(n) if (1..=500).contains(&n) => limit = n,
                _ => errs.add("limit", "must be 1 to 500"),
            },
            other => errs.add(other, "is not a parameter of this list: use subscription_id, state or limit"),
        }
    }
    errs.into_result(()).map_err(bad_query)?;
    Ok(Json(state.store.list_webhook_deliveries(&user.actor, subscription, st.as_deref(), limit).await.map_err(crate::api::list_error)?))
}

/// A delivery and every attempt made.
#[derive(Serialize, ToSchema)]
pub struct DeliveryLog {
    /// The delivery.
    #[serde(flatten)]
    pub delivery: Delivery,
    /// Its attempts, oldest first.
    pub attempts_log: Vec<Attempt>,
}

/// One delivery with its attempts.
#[utoipa::path(get, path = "/api/v1/webhooks/deliveries/{id}", tag = "webhooks", operation_id = "get_webhook_delivery", security(("bearer" = [])),
    responses((status = 200, body = DeliveryLog)))]
async fn get_delivery(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<Json<DeliveryLog>, ApiError> {
    let (delivery, attempts_log) = state.store.webhook_delivery(&user.actor, id).await?;
    Ok(Json(DeliveryLog { delivery, attempts_log }))
}

/// Send a delivery again from its first attempt, with the same event id.
#[utoipa::path(post, path = "/api/v1/webhooks/deliveries/{id}/redeliver", tag = "webhooks", operation_id = "redeliver_webhook",
    security(("bearer" = [])), responses((status = 200, body = Delivery),
        (status = 409, body = crate::error::Problem, description = "A sender is attempting it right now")))]
async fn redeliver(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<Json<Delivery>, ApiError> {
    Ok(Json(state.store.redeliver_webhook(&user.actor, id).await?))
}
