//! `/api/v1/targets`: quotas per rep or team for a month or quarter, each with its attainment.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use rapport_domain::query::ListParams;
use rapport_domain::sales::target::{SPEC, Target, TargetInput};
use rapport_store::Page;
use utoipa::IntoParams;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::super::{bad_query, created, etag, list_error};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{AppJson, CurrentUser, IfMatch, Path, QueryPairs};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(get_one, update, delete))
}

/// The query parameters of `GET /api/v1/targets` (from the target spec).
pub struct TargetListQuery;

impl IntoParams for TargetListQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        super::list_params(&SPEC)
    }
}

/// List targets you reach: all of them with `all` visibility; a manager's teams' and their
/// members'; a rep's own and their teams'.
///
/// Filters: `user_id`, `team_id`, `period`, `measure`, `currency`, and ranges on `starts_on`
/// and `amount_minor`. Each target carries its attainment (`achieved_minor`, `percent_bp`,
/// `counted`, `other_currency`) from the won opportunities you may see.
#[utoipa::path(get, path = "/api/v1/targets", tag = "targets", operation_id = "list_targets", params(TargetListQuery),
    security(("bearer" = [])), responses((status = 200, body = Page<Target>, description = "One page; follow `next_cursor` for the next")))]
async fn list(State(state): State<AppState>, user: CurrentUser, QueryPairs(pairs): QueryPairs) -> Result<Json<Page<Target>>, ApiError> {
    let params = ListParams::parse(&pairs, &SPEC, &[]).map_err(bad_query)?;
    Ok(Json(state.store.list_targets(&user.actor, &params).await.map_err(list_error)?))
}

/// Set a target: for one rep (`user_id`) or one team (`team_id`), a `period` (`2026-07` or
/// `2026-Q3`), a `measure` (`won_opportunities` or `paid_orders`) and a quota in minor units of
/// `currency`. Admins set any; managers only for their teams and their members (else 403). One
/// target per rep or team, period and measure (409 on `period`).
#[utoipa::path(post, path = "/api/v1/targets", tag = "targets", operation_id = "create_target", request_body = TargetInput,
    security(("bearer" = [])),
    responses((status = 201, body = Target, headers(("Location" = String, description = "The target's URL"), ("ETag" = String, description = "The version, for `If-Match`"))),
        (status = 409, body = crate::error::Problem, description = "The rep or team has a target for this period and measure already")))]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(input): AppJson<TargetInput>,
) -> Result<(StatusCode, HeaderMap, Json<Target>), ApiError> {
    let t = state.store.create_target(&user.actor, input).await?;
    let (status, headers) = created(format!("/api/v1/targets/{}", t.id), t.version);
    Ok((status, headers, Json(t)))
}

/// One target with its attainment.
#[utoipa::path(get, path = "/api/v1/targets/{id}", tag = "targets", operation_id = "get_target", security(("bearer" = [])),
    responses((status = 200, body = Target, headers(("ETag" = String, description = "The version, for `If-Match`")))))]
async fn get_one(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<(HeaderMap, Json<Target>), ApiError> {
    let t = state.store.get_target(&user.actor, id).await?;
    Ok((etag(t.version), Json(t)))
}

/// Change a target; send `If-Match: <version>`.
#[utoipa::path(patch, path = "/api/v1/targets/{id}", tag = "targets", operation_id = "update_target", request_body = TargetInput,
    security(("bearer" = [])), params(IfMatch),
    responses((status = 200, body = Target, headers(("ETag" = String, description = "The new version"))),
        (status = 409, body = crate::error::Problem, description = "The rep or team has a target for this period and measure already")))]
async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
    AppJson(input): AppJson<TargetInput>,
) -> Result<(HeaderMap, Json<Target>), ApiError> {
    let t = state.store.update_target(&user.actor, id, version, input).await?;
    Ok((etag(t.version), Json(t)))
}

/// Delete a target (kept as a tombstone for sync).
#[utoipa::path(delete, path = "/api/v1/targets/{id}", tag = "targets", operation_id = "delete_target", security(("bearer" = [])),
    params(IfMatch), responses((status = 204)))]
async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
) -> Result<StatusCode, ApiError> {
    state.store.delete_target(&user.actor, id, version).await?;
    Ok(StatusCode::NO_CONTENT)
}
