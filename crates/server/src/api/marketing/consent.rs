//! `/api/v1/customers/{id}/consents`: a person's consent per topic (time, IP, source, legal
//! basis), and `/api/v1/marketing/suppressions`: whether an address gets marketing mail.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rapport_domain::marketing::email::{Consent, ConsentInput};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{AppJson, CurrentUser, Path, Query};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, record)).routes(routes!(suppression))
}

/// A person's consent history, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/consents", tag = "marketing", operation_id = "list_consents", security(("bearer" = [])),
    responses((status = 200, body = Vec<Consent>)))]
async fn list(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<Json<Vec<Consent>>, ApiError> {
    Ok(Json(state.store.list_consents(&user.actor, id).await?))
}

/// Record a consent decision (topic `*`: all marketing; withdrawing it suppresses the address).
#[utoipa::path(post, path = "/api/v1/customers/{id}/consents", tag = "marketing", operation_id = "record_consent", request_body = ConsentInput,
    security(("bearer" = [])), responses((status = 201, body = Consent)))]
async fn record(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    AppJson(c): AppJson<ConsentInput>,
) -> Result<(StatusCode, Json<Consent>), ApiError> {
    Ok((StatusCode::CREATED, Json(state.store.record_consent(&user.actor, id, c).await?)))
}

/// The address to look up.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct SuppressionQuery {
    /// An email address.
    email: String,
}

/// Whether marketing mail to an address is suppressed.
#[derive(Serialize, ToSchema)]
struct Suppression {
    /// Suppressed.
    suppressed: bool,
    /// `unsubscribed`, `hard_bounce`, `soft_bounce` or `complaint`.
    reason: Option<String>,
}

/// Whether an address is on the suppression list, and why.
#[utoipa::path(get, path = "/api/v1/marketing/suppressions", tag = "marketing", operation_id = "get_suppression", security(("bearer" = [])),
    params(SuppressionQuery), responses((status = 200, body = Suppression)))]
async fn suppression(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<SuppressionQuery>,
) -> Result<Json<Suppression>, ApiError> {
    let reason = state.store.suppression_of(&user.actor, &q.email).await.map_err(crate::api::list_error)?;
    Ok(Json(Suppression { suppressed: reason.is_some(), reason }))
}
