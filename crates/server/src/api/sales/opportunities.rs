//! `/api/v1/opportunities`: deals moving through a pipeline's stages, and their stage history.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use rapport_domain::query::ListParams;
use rapport_domain::sales::opportunity::{
    Opportunity, OpportunityInput, SPEC, StageChange, StageTime, cycle_length, time_in_current_stage, time_in_stages,
};
use rapport_store::Page;
use serde::Serialize;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::{bad_query, created, etag, list_error};
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, CurrentUser, IfMatch, Path, QueryPairs};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(get_one, update, delete)).routes(routes!(history))
}

/// The query parameters of `GET /api/v1/opportunities`.
pub struct OpportunityListQuery;

impl IntoParams for OpportunityListQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        super::list_params(&SPEC)
    }
}

/// List, filter and search opportunities (by name and next step), as far as you may see them.
///
/// Ranged filters take `.gte=` and `.lte=` too (`amount_minor.gte=100000`,
/// `expected_close_date.lte=2026-06-30`, `closed_at.gte=`). Unknown parameters answer 400.
#[utoipa::path(get, path = "/api/v1/opportunities", tag = "opportunities", operation_id = "list_opportunities", params(OpportunityListQuery),
    security(("bearer" = [])), responses((status = 200, body = Page<Opportunity>, description = "One page; follow `next_cursor` for the next")))]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    QueryPairs(pairs): QueryPairs,
) -> Result<Json<Page<Opportunity>>, ApiError> {
    let params = ListParams::parse(&pairs, &SPEC, &[]).map_err(bad_query)?;
    Ok(Json(state.store.list_opportunities(&user.actor, &params).await.map_err(list_error)?))
}

/// Create an opportunity. Without `pipeline_id` it goes to the default pipeline, without
/// `stage` to the pipeline's first open stage; without `owner_id` you own it. Creating a lost
/// one needs `lost_reason`; an import of a closed deal may give `closed_at`.
#[utoipa::path(post, path = "/api/v1/opportunities", tag = "opportunities", operation_id = "create_opportunity", request_body = OpportunityInput,
    security(("bearer" = [])),
    responses((status = 201, body = Opportunity, headers(("Location" = String, description = "The opportunity's URL"), ("ETag" = String, description = "The version, for `If-Match`")))))]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(mut input): AppJson<OpportunityInput>,
) -> Result<(StatusCode, HeaderMap, Json<Opportunity>), ApiError> {
    input.owner_id = Some(user.actor.owner_for_new(input.owner_id));
    let o = state.store.create_opportunity(&user.actor, input).await?;
    let (status, headers) = created(format!("/api/v1/opportunities/{}", o.id), o.version);
    Ok((status, headers, Json(o)))
}

/// One opportunity.
#[utoipa::path(get, path = "/api/v1/opportunities/{id}", tag = "opportunities", operation_id = "get_opportunity", security(("bearer" = [])),
    responses((status = 200, body = Opportunity, headers(("ETag" = String, description = "The version, for `If-Match`")))))]
async fn get_one(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<(HeaderMap, Json<Opportunity>), ApiError> {
    let o = state.store.get_opportunity(&user.actor, id).await?;
    Ok((etag(o.version), Json(o)))
}

/// Change an opportunity; a new `stage` moves it. An open deal moves to any stage (to a lost
/// one with `lost_reason`, else 422); a won or lost deal moves only with `"reopen": true` into
/// an open stage, else 409 whose problem lists `allowed_actions` (`["reopen"]`). Every move is
/// recorded in the history with its time and who made it. Send `If-Match: <version>` so that a
/// move someone made first is not overwritten (412).
#[utoipa::path(patch, path = "/api/v1/opportunities/{id}", tag = "opportunities", operation_id = "update_opportunity", request_body = OpportunityInput,
    security(("bearer" = [])), params(IfMatch),
    responses((status = 200, body = Opportunity, headers(("ETag" = String, description = "The new version"))),
        (status = 409, body = Problem, description = "A closed deal moved without reopening: `allowed_actions` says what is allowed now")))]
async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
    AppJson(input): AppJson<OpportunityInput>,
) -> Result<(HeaderMap, Json<Opportunity>), ApiError> {
    let o = state.store.update_opportunity(&user.actor, id, version, input).await?;
    Ok((etag(o.version), Json(o)))
}

/// Delete an opportunity (kept as a tombstone for sync; its history stays).
#[utoipa::path(delete, path = "/api/v1/opportunities/{id}", tag = "opportunities", operation_id = "delete_opportunity", security(("bearer" = [])),
    params(IfMatch), responses((status = 204)))]
async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
) -> Result<StatusCode, ApiError> {
    state.store.delete_opportunity(&user.actor, id, version).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An opportunity's stage history and what is measured from it.
#[derive(Serialize, ToSchema)]
pub struct OpportunityHistory {
    /// Every stage change, oldest first; the first is the creation.
    pub changes: Vec<StageChange>,
    /// Time spent in each stage, over all visits, in order of first entry (a closed stage
    /// counts only until a reopen).
    pub time_in_stages: Vec<StageTime>,
    /// Seconds since it entered its current stage, while it is open.
    pub seconds_in_current_stage: Option<i64>,
    /// From creation to the latest close, in seconds, once it is closed.
    pub cycle_seconds: Option<i64>,
}

impl OpportunityHistory {
    /// What a history measures, as of now.
    pub fn of(changes: Vec<StageChange>) -> OpportunityHistory {
        let now = chrono::Utc::now();
        let open = changes.last().is_some_and(|c| !c.outcome.is_closed());
        OpportunityHistory {
            time_in_stages: time_in_stages(&changes, now),
            seconds_in_current_stage: if open { time_in_current_stage(&changes, now) } else { None },
            cycle_seconds: cycle_length(&changes),
            changes,
        }
    }
}

/// An opportunity's stage history: when it entered each stage and who moved it, with time in
/// each stage and the cycle length measured from it.
#[utoipa::path(get, path = "/api/v1/opportunities/{id}/history", tag = "opportunities", operation_id = "get_opportunity_history",
    security(("bearer" = [])), responses((status = 200, body = OpportunityHistory, description = "Oldest change first")))]
async fn history(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<Json<OpportunityHistory>, ApiError> {
    Ok(Json(OpportunityHistory::of(state.store.opportunity_history(&user.actor, id).await?)))
}
