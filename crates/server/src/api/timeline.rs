//! `GET /api/v1/{customers,companies,opportunities}/{id}/timeline`: the 360° timeline of a
//! person, a company or an opportunity (see `rapport_store`'s timeline module for its sources).

use axum::Json;
use axum::extract::State;
use rapport_domain::timeline::{Subject, TimelineEvent, parse_query};
use rapport_store::Page;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::bad_query;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{CurrentUser, Path, QueryPairs};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(customer_timeline)).routes(routes!(company_timeline)).routes(routes!(opportunity_timeline))
}

/// The query parameters of a timeline.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct TimelineQuery {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

async fn page(
    state: &AppState,
    user: &CurrentUser,
    subject: Subject,
    pairs: &[(String, String)],
) -> Result<Json<Page<TimelineEvent>>, ApiError> {
    let (limit, cursor) = parse_query(pairs).map_err(bad_query)?;
    Ok(Json(state.store.timeline(&user.actor, subject, limit, cursor.as_ref()).await?))
}

/// A person's timeline, newest first: their activities, their deals' creation, stage moves,
/// wins and losses, their lead status changes (the conversion among them) and their orders'
/// creation, payment, shipping and cancellation, each only as far as you may see the record
/// it comes from. Page on with `cursor`.
#[utoipa::path(get, path = "/api/v1/customers/{id}/timeline", tag = "timeline", operation_id = "customer_timeline", params(TimelineQuery),
    security(("bearer" = [])), responses((status = 200, body = Page<TimelineEvent>, description = "One page, newest first; follow `next_cursor` for older events")))]
async fn customer_timeline(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    QueryPairs(pairs): QueryPairs,
) -> Result<Json<Page<TimelineEvent>>, ApiError> {
    page(&state, &user, Subject::Customer(id), &pairs).await
}

/// A company's timeline, newest first: the activities linked to it, its deals' histories, its
/// orders and its people's lead status changes, each only as far as you may see the record it comes from.
#[utoipa::path(get, path = "/api/v1/companies/{id}/timeline", tag = "timeline", operation_id = "company_timeline", params(TimelineQuery),
    security(("bearer" = [])), responses((status = 200, body = Page<TimelineEvent>, description = "One page, newest first; follow `next_cursor` for older events")))]
async fn company_timeline(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    QueryPairs(pairs): QueryPairs,
) -> Result<Json<Page<TimelineEvent>>, ApiError> {
    page(&state, &user, Subject::Company(id), &pairs).await
}

/// An opportunity's timeline, newest first: its stage history, its activities, its orders and
/// the lead conversion that created it, each only as far as you may see the record it comes from.
#[utoipa::path(get, path = "/api/v1/opportunities/{id}/timeline", tag = "timeline", operation_id = "opportunity_timeline", params(TimelineQuery),
    security(("bearer" = [])), responses((status = 200, body = Page<TimelineEvent>, description = "One page, newest first; follow `next_cursor` for older events")))]
async fn opportunity_timeline(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    QueryPairs(pairs): QueryPairs,
) -> Result<Json<Page<TimelineEvent>>, ApiError> {
    page(&state, &user, Subject::Opportunity(id), &pairs).await
}
