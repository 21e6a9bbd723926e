//! `POST /api/v1/customers/{id}/convert`: converting a lead into an opportunity.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use rapport_domain::sales::lead::{ConvertLeadInput, LeadConverted};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::created;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, CurrentUser, Path};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(convert))
}

/// Convert a lead: in one transaction the person is qualified (lead status `qualified`) and
/// moves to lifecycle stage `prospect`, an opportunity is created in the pipeline's first open
/// stage (the default pipeline unless `pipeline_id` says), and with `company_name` the person
/// and the deal are linked to the company of that name you can see (case and accents ignored),
/// created when there is none. The deal is owned by the lead's owner unless `owner_id` says.
///
/// A person who is not a lead, or was converted already, answers 409; so does a disqualified
/// lead, whose `allowed_actions` name the statuses that requalify it. Wrong input answers 422
/// naming the field, and nothing is written.
#[utoipa::path(post, path = "/api/v1/customers/{id}/convert", tag = "customers", operation_id = "convert_lead", request_body = ConvertLeadInput,
    security(("bearer" = [])),
    responses((status = 201, body = LeadConverted, headers(("Location" = String, description = "The new opportunity's URL"), ("ETag" = String, description = "The opportunity's version, for `If-Match`"))),
        (status = 409, body = Problem, description = "Not a lead, converted already, or disqualified: `allowed_actions` says what is allowed now")))]
async fn convert(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    AppJson(input): AppJson<ConvertLeadInput>,
) -> Result<(StatusCode, HeaderMap, Json<LeadConverted>), ApiError> {
    let c = state.store.convert_lead(&user.actor, id, input).await?;
    let (status, headers) = created(format!("/api/v1/opportunities/{}", c.opportunity.id), c.opportunity.version);
    Ok((status, headers, Json(c)))
}
