//! Queues and assignment: the counts beside a ticket list, bulk and automatic assignment, a
//! team's assignment rule, and the away flag.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use rapport_domain::query::ListParams;
use rapport_domain::service::assignment::{AwayInput, BulkAssign, QueueFilter, TeamAssignment, TeamAssignmentInput};
use rapport_domain::service::ticket::{SPEC, Ticket};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::{bad_query, etag, list_error};
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, CurrentUser, IfMatch, Path, QueryPairs};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(counts))
        .routes(routes!(bulk_assign))
        .routes(routes!(auto_assign))
        .routes(routes!(team_assignment, save_team_assignment))
        .routes(routes!(set_away))
}

/// A ticket list's parameters with its queue filters (`assignee=me|unassigned|<id>`,
/// `queue=team`): what the list, its counts and the queue page read.
pub(crate) async fn ticket_params(state: &AppState, user: &CurrentUser, mut pairs: Vec<(String, String)>) -> Result<ListParams, ApiError> {
    let filter = QueueFilter::take(&mut pairs, user.actor.user_id).map_err(bad_query)?;
    let p = ListParams::parse(&pairs, &SPEC, &[]).map_err(bad_query)?;
    state.store.queue_params(&user.actor, filter, p).await.map_err(list_error)
}

/// Tickets per status for a list's filters.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TicketCounts {
    /// Every status with its count, in workflow order (zeros included).
    pub counts: Vec<StatusCount>,
    /// All of them.
    pub total: i64,
}

/// One status's count.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatusCount {
    /// The status.
    pub status: String,
    /// Tickets in it.
    pub count: i64,
}

/// Count the tickets a list would show, per status: the same filters, search and queue
/// parameters as `GET /api/v1/tickets` (the status filter, if any, still applies), and the same
/// visibility.
#[utoipa::path(get, path = "/api/v1/tickets/counts", tag = "tickets", operation_id = "ticket_counts", params(super::tickets::TicketListQuery),
    security(("bearer" = [])), responses((status = 200, body = TicketCounts)))]
async fn counts(State(state): State<AppState>, user: CurrentUser, QueryPairs(pairs): QueryPairs) -> Result<Json<TicketCounts>, ApiError> {
    let p = ticket_params(&state, &user, pairs).await?;
    let (counts, total) = state.store.ticket_counts(&user.actor, &p).await.map_err(list_error)?;
    Ok(Json(TicketCounts { counts: counts.into_iter().map(|(status, count)| StatusCount { status, count }).collect(), total }))
}

/// What `POST /api/v1/tickets/bulk_assign` takes.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BulkAssignRequest {
    /// Ticket ids (1 to 500, each once).
    pub ids: Vec<i64>,
    /// A user id, `"auto"` (each ticket by its team's rule), or null (back to the team queue).
    #[schema(value_type = Object)]
    pub assignee: Value,
}

/// The tickets as assigned.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BulkAssigned {
    /// Each ticket, in the order asked.
    pub data: Vec<Ticket>,
}

/// Assign many tickets at once: to a user, back to the queue (`null`), or each by its team's
/// rule (`"auto"`). All or nothing: when any is refused, none changes and the 422 names each
/// refused one by its position (`ids[2]`) with the reason.
#[utoipa::path(post, path = "/api/v1/tickets/bulk_assign", tag = "tickets", operation_id = "bulk_assign_tickets", request_body = BulkAssignRequest,
    security(("bearer" = [])),
    responses((status = 200, body = BulkAssigned), (status = 422, body = Problem, description = "Bad input or refused tickets, each named")))]
async fn bulk_assign(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(body): AppJson<Value>,
) -> Result<Json<BulkAssigned>, ApiError> {
    let b = BulkAssign::parse(&body).map_err(ApiError::Invalid)?;
    Ok(Json(BulkAssigned { data: state.store.bulk_assign(&user.actor, &b).await? }))
}

/// Assign a ticket by its team's rule (round-robin or least-open) now. 422 when the team
/// assigns by hand or no agent is available.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/auto_assign", tag = "tickets", operation_id = "auto_assign_ticket", params(IfMatch),
    security(("bearer" = [])), responses((status = 200, body = Ticket), (status = 422, body = Problem)))]
async fn auto_assign(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
) -> Result<(HeaderMap, Json<Ticket>), ApiError> {
    let t = state.store.auto_assign_ticket(&user.actor, id, version).await?;
    Ok((etag(t.version), Json(t)))
}

/// A team's assignment rule, cap and members' loads.
#[utoipa::path(get, path = "/api/v1/teams/{id}/assignment", tag = "teams", operation_id = "team_assignment", security(("bearer" = [])),
    responses((status = 200, body = TeamAssignment)))]
async fn team_assignment(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<Json<TeamAssignment>, ApiError> {
    Ok(Json(state.store.team_assignment(&user.actor, id).await?))
}

/// Change how a team hands out its queue (`manual`, `round_robin`, `least_open`) and the most
/// open tickets an agent holds before automatic assignment skips them (admins, and managers
/// of the team).
#[utoipa::path(patch, path = "/api/v1/teams/{id}/assignment", tag = "teams", operation_id = "save_team_assignment",
    request_body = TeamAssignmentInput, security(("bearer" = [])), responses((status = 200, body = TeamAssignment)))]
async fn save_team_assignment(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    AppJson(input): AppJson<TeamAssignmentInput>,
) -> Result<Json<TeamAssignment>, ApiError> {
    Ok(Json(state.store.save_team_assignment(&user.actor, id, input).await?))
}

/// Mark a user away (automatic assignment skips them) or back: yourself, or as an admin or a
/// manager of one of their teams.
#[utoipa::path(put, path = "/api/v1/users/{id}/away", tag = "users", operation_id = "set_user_away", request_body = AwayInput,
    security(("bearer" = [])), responses((status = 200, body = AwayInput)))]
async fn set_away(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    AppJson(input): AppJson<AwayInput>,
) -> Result<Json<Value>, ApiError> {
    let away = state.store.set_away(&user.actor, id, input.away).await?;
    Ok(Json(serde_json::json!({"away": away})))
}
