//! `/api/v1/feedback`: feedback, complaints and praise received outside a ticket.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use rapport_domain::query::ListParams;
use rapport_domain::service::feedback::{Feedback, FeedbackInput, SPEC};
use rapport_store::Page;
use utoipa::IntoParams;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::{bad_query, created, etag, list_error};
use crate::error::ApiError;
use crate::extract::{AppJson, CurrentUser, IfMatch, Path, QueryPairs};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(get_one, update, delete))
}

/// The query parameters of `GET /api/v1/feedback`.
pub struct FeedbackListQuery;

impl IntoParams for FeedbackListQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        crate::api::sales::list_params(&SPEC)
    }
}

/// List, filter (`kind`, `channel`, `customer_id`, `owner_id`) and search feedback.
#[utoipa::path(get, path = "/api/v1/feedback", tag = "feedback", operation_id = "list_feedback", params(FeedbackListQuery),
    security(("bearer" = [])), responses((status = 200, body = Page<Feedback>, description = "One page; follow `next_cursor` for the next")))]
async fn list(State(state): State<AppState>, user: CurrentUser, QueryPairs(pairs): QueryPairs) -> Result<Json<Page<Feedback>>, ApiError> {
    let params = ListParams::parse(&pairs, &SPEC, &[]).map_err(bad_query)?;
    Ok(Json(state.store.list_feedback(&user.actor, &params).await.map_err(list_error)?))
}

/// Record feedback, a complaint or praise from a person (`body` and `customer_id` required).
#[utoipa::path(post, path = "/api/v1/feedback", tag = "feedback", operation_id = "create_feedback", request_body = FeedbackInput,
    security(("bearer" = [])),
    responses((status = 201, body = Feedback, headers(("Location" = String, description = "The record's URL"), ("ETag" = String, description = "The version, for `If-Match`")))))]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(input): AppJson<FeedbackInput>,
) -> Result<(StatusCode, HeaderMap, Json<Feedback>), ApiError> {
    let f = state.store.create_feedback(&user.actor, input).await?;
    let (status, headers) = created(format!("/api/v1/feedback/{}", f.id), f.version);
    Ok((status, headers, Json(f)))
}

/// One feedback record.
#[utoipa::path(get, path = "/api/v1/feedback/{id}", tag = "feedback", operation_id = "get_feedback", security(("bearer" = [])),
    responses((status = 200, body = Feedback, headers(("ETag" = String, description = "The version, for `If-Match`")))))]
async fn get_one(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<(HeaderMap, Json<Feedback>), ApiError> {
    let f = state.store.get_feedback(&user.actor, id).await?;
    Ok((etag(f.version), Json(f)))
}

/// Change feedback. Send `If-Match: <version>` (412 when stale).
#[utoipa::path(patch, path = "/api/v1/feedback/{id}", tag = "feedback", operation_id = "update_feedback", request_body = FeedbackInput,
    security(("bearer" = [])), params(IfMatch), responses((status = 200, body = Feedback, headers(("ETag" = String, description = "The new version")))))]
async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
    AppJson(input): AppJson<FeedbackInput>,
) -> Result<(HeaderMap, Json<Feedback>), ApiError> {
    let f = state.store.update_feedback(&user.actor, id, version, input).await?;
    Ok((etag(f.version), Json(f)))
}

/// Delete feedback (kept as a tombstone for sync).
#[utoipa::path(delete, path = "/api/v1/feedback/{id}", tag = "feedback", operation_id = "delete_feedback", security(("bearer" = [])),
    params(IfMatch), responses((status = 204)))]
async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
) -> Result<StatusCode, ApiError> {
    state.store.delete_feedback(&user.actor, id, version).await?;
    Ok(StatusCode::NO_CONTENT)
}
