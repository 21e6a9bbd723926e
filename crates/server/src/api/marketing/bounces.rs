//! `/api/v1/marketing/bounces`: the providers' bounce and complaint webhook, authenticated
//! like the rest of the API (a personal API token of a marketer or admin).

use axum::Json;
use axum::extract::State;
use rapport_domain::marketing::email::{BounceEvent, BounceOutcome};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{AppJson, CurrentUser};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(bounce))
}

/// A bounce or complaint about a marketing mail (by `message_id`) or an address (`email`): a
/// hard bounce or complaint suppresses at once, soft bounces after the configured count.
#[utoipa::path(post, path = "/api/v1/marketing/bounces", tag = "marketing", operation_id = "record_bounce", request_body = BounceEvent,
    security(("bearer" = [])), responses((status = 200, body = BounceOutcome)))]
async fn bounce(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(ev): AppJson<BounceEvent>,
) -> Result<Json<BounceOutcome>, ApiError> {
    Ok(Json(state.store.record_bounce(&user.actor, ev).await?))
}
