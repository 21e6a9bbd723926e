//! `/api/v1/campaigns/{id}/variants` and `/api/v1/campaigns/{id}/ab_result`: a campaign's
//! A/B test — its variants, test share, wait, metric and fallback; starting it; and the
//! result with counts, rates, the chi-square test and the decision.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rapport_domain::marketing::ab::{AbResult, AbStartInput, AbTest, AbTestInput};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{AppJson, CurrentUser, Path};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_test, put_test)).routes(routes!(start)).routes(routes!(result))
}

/// The campaign's A/B test: its variants (A, B, …), test share, wait, metric, fallback and
/// where it stands.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/variants", tag = "marketing", operation_id = "get_ab_test", security(("bearer" = [])),
    responses((status = 200, body = AbTest)))]
async fn get_test(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<Json<AbTest>, ApiError> {
    Ok(Json(state.store.ab_test(&user.actor, id).await?))
}

/// Define (or redefine, while it is a draft) the campaign's A/B test: 2 to 5 variants (a
/// template, optionally another subject), the share of the audience tested, the wait, the
/// winning metric (clicks or conversions per delivered mail; opens allowed) and the fallback
/// sent when the test cannot tell. A test that started answers 409.
#[utoipa::path(put, path = "/api/v1/campaigns/{id}/variants", tag = "marketing", operation_id = "put_ab_test", request_body = AbTestInput,
    security(("bearer" = [])), responses((status = 200, body = AbTest), (status = 409, description = "The test has started: its variants stay")))]
async fn put_test(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    AppJson(input): AppJson<AbTestInput>,
) -> Result<Json<AbTest>, ApiError> {
    Ok(Json(state.store.put_ab_test(&user.actor, id, input).await?))
}

/// Start the test: each member gets a variant (or none: the rest) from the seed and the
/// person's id, and the test share is mailed its variants at `send_at`. After the wait (and
/// once the test mails are all handed over) the server decides and mails the rest. A test that
/// started, or a campaign being sent, answers 409.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/variants/send", tag = "marketing", operation_id = "start_ab_test", request_body = AbStartInput,
    security(("bearer" = [])), responses((status = 202, body = AbTest, description = "The test, started"),
        (status = 409, description = "The test has started, or the campaign is being sent")))]
async fn start(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    AppJson(input): AppJson<AbStartInput>,
) -> Result<(StatusCode, Json<AbTest>), ApiError> {
    Ok((StatusCode::ACCEPTED, Json(state.store.start_ab_test(&user.actor, id, input).await?)))
}

/// The A/B result: per variant its members, deliveries, opens, clicks and conversions (human
/// ones only), successes of the metric and rate; the chi-square statistic (Yates-corrected for
/// two variants), degrees of freedom and p value; and the decision — the winner when p < 0.05,
/// else the fallback, also when the sample is too small (an expected count under 5). Before the
/// decision it shows what would be decided now (`decided: false`).
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/ab_result", tag = "marketing", operation_id = "get_ab_result", security(("bearer" = [])),
    responses((status = 200, body = AbResult)))]
async fn result(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<Json<AbResult>, ApiError> {
    Ok(Json(crate::marketing::ab::result(&state.store, &user.actor, id).await?))
}
