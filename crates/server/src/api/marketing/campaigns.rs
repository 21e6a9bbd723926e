//! `/api/v1/campaigns`: marketing campaigns on the record machinery.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use rapport_domain::marketing::campaigns::{Campaign, CampaignInput, SPEC};
use rapport_domain::query::ListParams;
use rapport_store::Page;
use utoipa::IntoParams;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::{bad_query, created, etag, list_error};
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, CurrentUser, IfMatch, Path, QueryPairs};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(get_one, update, delete))
}

/// The query parameters of `GET /api/v1/campaigns`.
pub struct CampaignListQuery;

impl IntoParams for CampaignListQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        crate::api::sales::list_params(&SPEC)
    }
}

/// List, filter, sort and search campaigns (by name and goal).
#[utoipa::path(get, path = "/api/v1/campaigns", tag = "campaigns", operation_id = "list_campaigns", params(CampaignListQuery),
    security(("bearer" = [])), responses((status = 200, body = Page<Campaign>, description = "One page; follow `next_cursor` for the next")))]
async fn list(State(state): State<AppState>, user: CurrentUser, QueryPairs(pairs): QueryPairs) -> Result<Json<Page<Campaign>>, ApiError> {
    let params = ListParams::parse(&pairs, &SPEC, &[]).map_err(bad_query)?;
    Ok(Json(state.store.list_campaigns(&user.actor, &params).await.map_err(list_error)?))
}

/// Create a campaign (marketers and admins).
#[utoipa::path(post, path = "/api/v1/campaigns", tag = "campaigns", operation_id = "create_campaign", request_body = CampaignInput,
    security(("bearer" = [])),
    responses((status = 201, body = Campaign, headers(("Location" = String, description = "The campaign's URL"), ("ETag" = String, description = "The version, for `If-Match`")))))]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(mut input): AppJson<CampaignInput>,
) -> Result<(StatusCode, HeaderMap, Json<Campaign>), ApiError> {
    input.owner_id = Some(user.actor.owner_for_new(input.owner_id));
    let c = state.store.create_campaign(&user.actor, || input.apply(None)).await?;
    let (status, headers) = created(format!("/api/v1/campaigns/{}", c.id), c.version);
    Ok((status, headers, Json(c)))
}

/// One campaign.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}", tag = "campaigns", operation_id = "get_campaign", security(("bearer" = [])),
    responses((status = 200, body = Campaign, headers(("ETag" = String, description = "The version, for `If-Match`")))))]
async fn get_one(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<(HeaderMap, Json<Campaign>), ApiError> {
    let c = state.store.get_campaign(&user.actor, id).await?;
    Ok((etag(c.version), Json(c)))
}

/// Change the fields sent; `status` follows planned → active → completed (or → cancelled), a
/// step it does not allow answers 409 with the allowed ones. `If-Match` refuses a stale version.
#[utoipa::path(patch, path = "/api/v1/campaigns/{id}", tag = "campaigns", operation_id = "update_campaign", request_body = CampaignInput,
    security(("bearer" = [])), params(IfMatch),
    responses((status = 200, body = Campaign, headers(("ETag" = String, description = "The new version"))), (status = 409, body = Problem)))]
async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
    AppJson(input): AppJson<CampaignInput>,
) -> Result<(HeaderMap, Json<Campaign>), ApiError> {
    let c = state.store.update_campaign(&user.actor, id, version, |cur| input.apply(Some(cur))).await?;
    Ok((etag(c.version), Json(c)))
}

/// Delete a campaign (kept as a tombstone for sync).
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
