//! Analytics on the live data over HTTP: start a run (computed in the background by
//! [`crate::analytics`]), poll it, and read a person's purchases (the lines of their paid orders). Scores written back
//! onto people are filterable as `rfm_tier=` and `segment=`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use rapport_domain::analytics::{AnalyticsRun, RunKind, RunParams};
use rapport_domain::customer::Purchase;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{CurrentUser, OptionalJson, Path};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(start)).routes(routes!(run)).routes(routes!(purchases))
}

/// Start an analysis (`rfm`, `segmentation`, `propensity`, `churn`, `association_rules`,
/// `forecast` or `campaign_effect`); answers 202 with the run, whose status to poll at its
/// `Location`. The first four write scores onto people: they need the `analytics: run`
/// permission (admins and managers by default; 403 otherwise) and compute over every person,
/// whoever starts them. The other three only read, over the purchases of the people you may
/// see: rules feed recommended products and the forecast feeds the dashboard.
#[utoipa::path(post, path = "/api/v1/analytics/{kind}", tag = "analytics", operation_id = "start_analysis",
    request_body(content = Option<RunParams>, description = "Optional: no body runs with the defaults"), security(("bearer" = [])),
    params(("kind" = String, Path, pattern = "^(rfm|segmentation|propensity|churn|association_rules|forecast|campaign_effect)$", description = "The analysis")),
    responses((status = 202, body = AnalyticsRun, headers(("Location" = String, description = "Where to poll the run")))))]
async fn start(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(kind): Path<String>,
    // The body is optional: no parameters means the defaults.
    OptionalJson(params): OptionalJson<RunParams>,
) -> Result<(StatusCode, HeaderMap, Json<AnalyticsRun>), ApiError> {
    let kind = RunKind::parse(&kind).map_err(super::bad_query)?;
    let run = crate::analytics::start(&state.store, &user.actor, kind, params).await?;
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/analytics/runs/{}", run.id)) {
        headers.insert(header::LOCATION, v);
    }
    Ok((StatusCode::ACCEPTED, headers, Json(run)))
}

/// A run's status and summary.
#[utoipa::path(get, path = "/api/v1/analytics/runs/{id}", tag = "analytics", operation_id = "get_analysis_run", security(("bearer" = [])),
    responses((status = 200, body = AnalyticsRun, description = "The run as it stands")))]
async fn run(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<Json<AnalyticsRun>, ApiError> {
    Ok(Json(state.store.get_run(&user.actor, id).await?))
}

/// A person's purchase history, newest first (at most 500 lines): a read view of the lines of
/// their paid and shipped orders you may see (`invoice` is the order id, `amount_minor` the
/// line's net amount before tax). Purchases are recorded as orders (`POST /api/v1/orders`).
#[utoipa::path(get, path = "/api/v1/customers/{id}/purchases", tag = "customers", operation_id = "list_customer_purchases",
    security(("bearer" = [])), responses((status = 200, body = Vec<Purchase>, description = "Newest first")))]
async fn purchases(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<Json<Vec<Purchase>>, ApiError> {
    Ok(Json(state.store.purchases_of(&user.actor, id, 500).await?))
}
