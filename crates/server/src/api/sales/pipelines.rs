//! `/api/v1/pipelines`: the sales pipelines and their stages (admins write, every role that
//! reads pipelines reads them), and the win probability of each pipeline's open deals.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use rapport_domain::ValidationErrors;
use rapport_domain::query::ListParams;
use rapport_domain::sales::pipeline::{Pipeline, PipelineInput, SPEC};
use rapport_store::Page;
use utoipa::IntoParams;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::{bad_query, created, etag, list_error};
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, CurrentUser, IfMatch, Path, QueryPairs};
use crate::sales::win_probability::{WinError, WinReport, win_probability};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(get_one, update, delete)).routes(routes!(win))
}

/// The query parameters of `GET /api/v1/pipelines`.
pub struct PipelineListQuery;

impl IntoParams for PipelineListQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        super::list_params(&SPEC)
    }
}

/// List pipelines.
#[utoipa::path(get, path = "/api/v1/pipelines", tag = "pipelines", operation_id = "list_pipelines", params(PipelineListQuery),
    security(("bearer" = [])), responses((status = 200, body = Page<Pipeline>, description = "One page; follow `next_cursor` for the next")))]
async fn list(State(state): State<AppState>, user: CurrentUser, QueryPairs(pairs): QueryPairs) -> Result<Json<Page<Pipeline>>, ApiError> {
    let params = ListParams::parse(&pairs, &SPEC, &[]).map_err(bad_query)?;
    Ok(Json(state.store.list_pipelines(&user.actor, &params).await.map_err(list_error)?))
}

/// Create a pipeline (admins). Without `stages` it gets the standard ones (Qualification 10 %,
/// Needs analysis 25 %, Proposal 50 %, Negotiation 75 %, Won, Lost); a pipeline has at least one
/// open stage, exactly one won stage and at least one lost stage.
#[utoipa::path(post, path = "/api/v1/pipelines", tag = "pipelines", operation_id = "create_pipeline", request_body = PipelineInput,
    security(("bearer" = [])),
    responses((status = 201, body = Pipeline, headers(("Location" = String, description = "The pipeline's URL"), ("ETag" = String, description = "The version, for `If-Match`")))))]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(input): AppJson<PipelineInput>,
) -> Result<(StatusCode, HeaderMap, Json<Pipeline>), ApiError> {
    let p = state.store.create_pipeline(&user.actor, input).await?;
    let (status, headers) = created(format!("/api/v1/pipelines/{}", p.id), p.version);
    Ok((status, headers, Json(p)))
}

/// One pipeline with its stages in board order.
#[utoipa::path(get, path = "/api/v1/pipelines/{id}", tag = "pipelines", operation_id = "get_pipeline", security(("bearer" = [])),
    responses((status = 200, body = Pipeline, headers(("ETag" = String, description = "The version, for `If-Match`")))))]
async fn get_one(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<(HeaderMap, Json<Pipeline>), ApiError> {
    let p = state.store.get_pipeline(&user.actor, id).await?;
    Ok((etag(p.version), Json(p)))
}

/// Rename a pipeline or change its stages (admins). `stages` replaces the list: a stage is
/// named by its `key` (absent fields keep their values), stages left out are removed. Removing
/// a stage that opportunities are in, open or closed, is a 409 on `stages`; a stage's outcome
/// never changes.
#[utoipa::path(patch, path = "/api/v1/pipelines/{id}", tag = "pipelines", operation_id = "update_pipeline", request_body = PipelineInput,
    security(("bearer" = [])), params(IfMatch),
    responses((status = 200, body = Pipeline, headers(("ETag" = String, description = "The new version"))),
        (status = 409, body = Problem, description = "A stage to remove is in use (field `stages`)")))]
async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
    AppJson(input): AppJson<PipelineInput>,
) -> Result<(HeaderMap, Json<Pipeline>), ApiError> {
    let p = state.store.update_pipeline(&user.actor, id, version, input).await?;
    Ok((etag(p.version), Json(p)))
}

/// Delete a pipeline (admins) that no live opportunity is in.
#[utoipa::path(delete, path = "/api/v1/pipelines/{id}", tag = "pipelines", operation_id = "delete_pipeline", security(("bearer" = [])),
    params(IfMatch),
    responses((status = 204), (status = 409, body = Problem, description = "Opportunities are in it (field `opportunities`)")))]
async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
) -> Result<StatusCode, ApiError> {
    state.store.delete_pipeline(&user.actor, id, version).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Win probability of the pipeline's open deals, learned from its closed ones.
///
/// A logistic regression on each closed deal as it stood just before it closed (its last open
/// stage's probability, age, time in that stage, amount, activities logged, and its owner's
/// past win rate), with its ROC AUC and accuracy on a held-out quarter of the closed deals;
/// each open deal gets a probability and the factors that pushed it most. The weighted
/// pipeline is given both ways: by the stages' fixed probabilities and by the model. Only the
/// deals you may see count. Fewer than 20 closed deals (or fewer than 5 won or 5 lost) is a 422
/// saying how many there are.
#[utoipa::path(get, path = "/api/v1/pipelines/{id}/win_probability", tag = "pipelines", operation_id = "pipeline_win_probability",
    security(("bearer" = [])),
    responses((status = 200, body = WinReport, description = "The model, its held-out evaluation and every open deal's probability"),
        (status = 422, body = Problem, description = "Too few closed deals to learn from (field `id`), or none that fit a model")))]
async fn win(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<Json<WinReport>, ApiError> {
    match win_probability(&state.store, &user.actor, id).await {
        Ok(r) => Ok(Json(r)),
        Err(WinError::Store(e)) => Err(e.into()),
        Err(WinError::Data(m)) => Err(ApiError::Invalid(ValidationErrors::single("id", m))),
        Err(e @ WinError::Task(_)) => Err(ApiError::Internal(e.to_string())),
    }
}
