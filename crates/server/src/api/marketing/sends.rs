//! `/api/v1/campaigns/{id}/send`: start sending a campaign's email (now or at `send_at`), see
//! where it stands, and resume a paused one or cancel it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rapport_domain::marketing::email::{CampaignSend, SendInput};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{AppJson, CurrentUser, Path};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(status, send)).routes(routes!(act))
}

/// Send the campaign's email to its members with a template. The background sender writes
/// the mails and delivers them under the caps; a campaign being sent answers 409.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/send", tag = "marketing", operation_id = "send_campaign", request_body = SendInput,
    security(("bearer" = [])), responses((status = 202, body = CampaignSend, description = "The sending, scheduled"),
        (status = 409, description = "The campaign is being sent, or its A/B test is running")))]
async fn send(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    AppJson(input): AppJson<SendInput>,
) -> Result<(StatusCode, Json<CampaignSend>), ApiError> {
    Ok((StatusCode::ACCEPTED, Json(state.store.send_campaign(&user.actor, id, input).await?)))
}

/// The campaign's latest sending, with its mails per state.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/send", tag = "marketing", operation_id = "campaign_send_status", security(("bearer" = [])),
    responses((status = 200, body = CampaignSend)))]
async fn status(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<Json<CampaignSend>, ApiError> {
    Ok(Json(state.store.campaign_send(&user.actor, id).await?))
}

/// What to do with a sending.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SendAction {
    /// `resume` (a paused sending) or `cancel`.
    action: String,
}

/// Resume a paused sending or cancel one; the wrong state answers 409 naming what is allowed.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/send/actions", tag = "marketing", operation_id = "act_on_campaign_send", request_body = SendAction,
    security(("bearer" = [])), responses((status = 200, body = CampaignSend)))]
async fn act(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    AppJson(a): AppJson<SendAction>,
) -> Result<Json<CampaignSend>, ApiError> {
    Ok(Json(state.store.act_on_campaign_send(&user.actor, id, &a.action).await?))
}
