//! `/api/v1/tickets/{id}/survey`: a ticket's satisfaction survey and the customer's current
//! answer. The survey's link is not here: it is the customer's, and an agent holding it could
//! rate their own work.

use axum::Json;
use axum::extract::State;
use rapport_domain::service::survey::SurveyResponse;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{CurrentUser, Path};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(survey))
}

/// The ticket's survey (made when it was first resolved; 404 before): the rating (CSAT 1–5,
/// NPS 0–10), comment and decision (`confirm` or `reopen`) of the customer's latest answer, the
/// agent credited with it, and how many times they answered.
#[utoipa::path(get, path = "/api/v1/tickets/{id}/survey", tag = "tickets", operation_id = "ticket_survey", security(("bearer" = [])),
    responses((status = 200, body = SurveyResponse), (status = 404, description = "No such ticket, or not resolved yet")))]
async fn survey(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<Json<SurveyResponse>, ApiError> {
    Ok(Json(state.store.ticket_survey(&user.actor, id).await?))
}
