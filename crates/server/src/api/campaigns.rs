//! `/api/v1/campaigns`: marketing campaigns with budget, channel and schedule.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use rapport_domain::campaign::Campaign;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{created, etag};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{AppJson, CurrentUser, IfMatch, Path};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(update, delete))
}

/// Every campaign, by start date.
#[utoipa::path(get, path = "/api/v1/campaigns", tag = "campaigns", operation_id = "list_campaigns", security(("bearer" = [])),
    responses((status = 200, body = Vec<Campaign>, description = "Every live campaign")))]
async fn list(State(state): State<AppState>, user: CurrentUser) -> Result<Json<Vec<Campaign>>, ApiError> {
    Ok(Json(state.store.list_campaigns(&user.actor).await?))
}

/// Create a campaign (marketers and admins).
#[utoipa::path(post, path = "/api/v1/campaigns", tag = "campaigns", operation_id = "create_campaign", request_body = Campaign, security(("bearer" = [])),
    responses((status = 201, body = Campaign, headers(("Location" = String, description = "The campaign's URL"), ("ETag" = String, description = "The version, for `If-Match`")))))]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(c): AppJson<Campaign>,
) -> Result<(StatusCode, HeaderMap, Json<Campaign>), ApiError> {
    let c = state.store.create_campaign(&user.actor, c).await?;
    let (status, headers) = created(format!("/api/v1/campaigns/{}", c.id), c.version);
    Ok((status, headers, Json(c)))
}

/// Change a campaign: send the whole campaign; `If-Match` refuses a stale version.
#[utoipa::path(patch, path = "/api/v1/campaigns/{id}", tag = "campaigns", operation_id = "update_campaign", request_body = Campaign,
    security(("bearer" = [])), params(IfMatch), responses((status = 200, body = Campaign, headers(("ETag" = String, description = "The new version")))))]
async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
    AppJson(c): AppJson<Campaign>,
) -> Result<(HeaderMap, Json<Campaign>), ApiError> {
    let c = state.store.update_campaign(&user.actor, id, version, c).await?;
    Ok((etag(c.version), Json(c)))
}

/// Delete a campaign.
#[utoipa::path(delete, path = "/api/v1/campaigns/{id}", tag = "campaigns", operation_id = "delete_campaign", security(("bearer" = [])),
    params(IfMatch), responses((status = 204)))]
async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
) -> Result<StatusCode, ApiError> {
    state.store.delete_campaign(&user.actor, id, version).await?;
    Ok(StatusCode::NO_CONTENT)
}
