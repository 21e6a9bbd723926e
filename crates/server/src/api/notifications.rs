//! `/api/v1/notifications`: the signed-in user's notifications (SLA warnings, mentions) and
//! marking them read.

use axum::Json;
use axum::extract::State;
use rapport_domain::ValidationErrors;
use rapport_domain::notification::Notification;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::bad_query;
use crate::error::ApiError;
use crate::extract::{CurrentUser, Path, QueryPairs};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(read_one)).routes(routes!(read_all))
}

/// A page of notifications and the unread count.
#[derive(Serialize, ToSchema)]
pub struct NotificationPage {
    /// Newest first.
    pub data: Vec<Notification>,
    /// How many are unread in all.
    pub unread: i64,
    /// `before` for the next page, or null at the end.
    pub next_before: Option<i64>,
}

/// Marked read.
#[derive(Serialize, ToSchema)]
pub struct Marked {
    /// How many notifications changed.
    pub marked: u64,
}

/// Your notifications, newest first: `?unread=true` for unread ones only, `limit` (1–200,
/// default 50), `before` (an id) for the next page.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", operation_id = "list_notifications", security(("bearer" = [])),
    params(("unread" = Option<bool>, Query, description = "Only unread ones"), ("limit" = Option<i64>, Query, description = "1 to 200"),
        ("before" = Option<i64>, Query, description = "Only older than this id")),
    responses((status = 200, body = NotificationPage)))]
async fn list(State(state): State<AppState>, user: CurrentUser, QueryPairs(pairs): QueryPairs) -> Result<Json<NotificationPage>, ApiError> {
    let mut errs = ValidationErrors::default();
    let (mut unread, mut limit, mut before) = (false, 50, None);
    for (k, v) in &pairs {
        match k.as_str() {
            "unread" => match v.as_str() {
                "true" | "1" => unread = true,
                "false" | "0" => unread = false,
                _ => errs.add("unread", "use true or false"),
            },
            "limit" => match v.parse::<i64>() {
                Ok(n) if (1..=200).contains(&n) => limit = n,
                _ => errs.add("limit", "must be 1 to 200"),
            },
            "before" => match v.parse::<i64>() {
                Ok(n) => before = Some(n),
                _ => errs.add("before", "must be a notification id"),
            },
            other => errs.add(other, "is not a parameter of this list: use unread, limit or before"),
        }
    }
    errs.into_result(()).map_err(bad_query)?;
    let data = state.store.notifications(&user.actor, unread, before, limit + 1).await?;
    let more = data.len() as i64 > limit;
    let data: Vec<Notification> = data.into_iter().take(limit as usize).collect();
    let next_before = if more { data.last().map(|n| n.id) } else { None };
    let unread = state.store.unread_notifications(&user.actor).await?;
    Ok(Json(NotificationPage { data, unread, next_before }))
}

/// Mark one of your notifications read (someone else's is 404).
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "notifications", operation_id = "read_notification", security(("bearer" = [])),
    responses((status = 200, body = Marked)))]
async fn read_one(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<Json<Marked>, ApiError> {
    Ok(Json(Marked { marked: state.store.mark_notifications_read(&user.actor, Some(id)).await? }))
}

/// Mark all your notifications read.
#[utoipa::path(post, path = "/api/v1/notifications/read", tag = "notifications", operation_id = "read_all_notifications", security(("bearer" = [])),
    responses((status = 200, body = Marked)))]
async fn read_all(State(state): State<AppState>, user: CurrentUser) -> Result<Json<Marked>, ApiError> {
    Ok(Json(Marked { marked: state.store.mark_notifications_read(&user.actor, None).await? }))
}
