//! `/api/v1/service/calendars` and `/api/v1/service/sla_policies`: the working calendars and
//! SLA policies admins keep; and `/api/v1/tickets/{id}/sla`, where a ticket stands.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use rapport_domain::ValidationErrors;
use rapport_domain::service::sla_policy::{SlaPolicy, SlaPolicyInput, SlaStanding};
use rapport_domain::service::ticket::Ticket;
use rapport_domain::service::work_calendar::{WorkCalendar, WorkCalendarInput};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::{bad_query, created, etag};
use crate::error::ApiError;
use crate::extract::{AppJson, CurrentUser, IfMatch, Path, QueryPairs};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_calendars, create_calendar))
        .routes(routes!(get_calendar, update_calendar, delete_calendar))
        .routes(routes!(list_policies, create_policy))
        .routes(routes!(get_policy, update_policy, delete_policy))
        .routes(routes!(ticket_sla))
}

/// A ticket as `GET /api/v1/tickets/{id}` returns it: its fields and its SLA standing.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct TicketWithSla {
    /// The ticket.
    #[serde(flatten)]
    pub ticket: Ticket,
    /// Where its SLA targets stand now; null when no policy applies.
    pub sla: Option<SlaStanding>,
}

/// The `at` of a query (RFC 3339), or now.
pub fn at_param(pairs: &[(String, String)]) -> Result<DateTime<Utc>, ApiError> {
    match pairs.iter().find(|(k, _)| k == "at") {
        None => Ok(Utc::now()),
        Some((_, v)) => DateTime::parse_from_rfc3339(v)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| bad_query(ValidationErrors::single("at", format!("'{v}' is not an RFC 3339 time")))),
    }
}

/// Every working calendar, by name.
#[utoipa::path(get, path = "/api/v1/service/calendars", tag = "service", operation_id = "list_calendars", security(("bearer" = [])),
    responses((status = 200, body = Vec<WorkCalendar>)))]
async fn list_calendars(State(state): State<AppState>, user: CurrentUser) -> Result<Json<Vec<WorkCalendar>>, ApiError> {
    Ok(Json(state.store.list_calendars(&user.actor).await?))
}

/// Add a working calendar (admins): a team's (`team_id`), or the default for teams without one
/// (`is_default`). `week` maps weekdays to periods `HH:MM-HH:MM`; `holidays` are dates.
#[utoipa::path(post, path = "/api/v1/service/calendars", tag = "service", operation_id = "create_calendar", request_body = WorkCalendarInput,
    security(("bearer" = [])), responses((status = 201, body = WorkCalendar, headers(("Location" = String, description = "The calendar's URL"))),
        (status = 409, body = crate::error::Problem, description = "Another calendar has this name or team, or is the default already")))]
async fn create_calendar(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(input): AppJson<WorkCalendarInput>,
) -> Result<(StatusCode, HeaderMap, Json<WorkCalendar>), ApiError> {
    let c = state.store.save_calendar(&user.actor, None, None, input).await?;
    let (status, headers) = created(format!("/api/v1/service/calendars/{}", c.id), c.version);
    Ok((status, headers, Json(c)))
}

/// One calendar.
#[utoipa::path(get, path = "/api/v1/service/calendars/{id}", tag = "service", operation_id = "get_calendar", security(("bearer" = [])),
    responses((status = 200, body = WorkCalendar)))]
async fn get_calendar(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<(HeaderMap, Json<WorkCalendar>), ApiError> {
    let c = state.store.get_calendar(&user.actor, id).await?;
    Ok((etag(c.version), Json(c)))
}

/// Change a calendar (admins); `If-Match` guards against lost updates.
#[utoipa::path(patch, path = "/api/v1/service/calendars/{id}", tag = "service", operation_id = "update_calendar", request_body = WorkCalendarInput,
    params(IfMatch), security(("bearer" = [])), responses((status = 200, body = WorkCalendar),
        (status = 409, body = crate::error::Problem, description = "Another calendar has this name or team, or is the default already")))]
async fn update_calendar(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
    AppJson(input): AppJson<WorkCalendarInput>,
) -> Result<(HeaderMap, Json<WorkCalendar>), ApiError> {
    let c = state.store.save_calendar(&user.actor, Some(id), version, input).await?;
    Ok((etag(c.version), Json(c)))
}

/// Delete a calendar (admins): its team's clocks fall back to the default calendar.
#[utoipa::path(delete, path = "/api/v1/service/calendars/{id}", tag = "service", operation_id = "delete_calendar", security(("bearer" = [])),
    responses((status = 204)))]
async fn delete_calendar(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<StatusCode, ApiError> {
    state.store.delete_calendar(&user.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every SLA policy, in the order they are tried (the first that matches a ticket applies).
#[utoipa::path(get, path = "/api/v1/service/sla_policies", tag = "service", operation_id = "list_sla_policies", security(("bearer" = [])),
    responses((status = 200, body = Vec<SlaPolicy>)))]
async fn list_policies(State(state): State<AppState>, user: CurrentUser) -> Result<Json<Vec<SlaPolicy>>, ApiError> {
    Ok(Json(state.store.list_sla_policies(&user.actor).await?))
}

/// Add an SLA policy (admins): conditions (`priority`, `category`, `channel`, `company_id`,
/// each optional), targets in business minutes, and the near-breach threshold in percent.
#[utoipa::path(post, path = "/api/v1/service/sla_policies", tag = "service", operation_id = "create_sla_policy", request_body = SlaPolicyInput,
    security(("bearer" = [])), responses((status = 201, body = SlaPolicy, headers(("Location" = String, description = "The policy's URL"))),
        (status = 409, body = crate::error::Problem, description = "Another policy has this name")))]
async fn create_policy(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(input): AppJson<SlaPolicyInput>,
) -> Result<(StatusCode, HeaderMap, Json<SlaPolicy>), ApiError> {
    let p = state.store.save_sla_policy(&user.actor, None, None, input).await?;
    let (status, headers) = created(format!("/api/v1/service/sla_policies/{}", p.id), p.version);
    Ok((status, headers, Json(p)))
}

/// One SLA policy.
#[utoipa::path(get, path = "/api/v1/service/sla_policies/{id}", tag = "service", operation_id = "get_sla_policy", security(("bearer" = [])),
    responses((status = 200, body = SlaPolicy)))]
async fn get_policy(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<(HeaderMap, Json<SlaPolicy>), ApiError> {
    let p = state.store.get_sla_policy(&user.actor, id).await?;
    Ok((etag(p.version), Json(p)))
}

/// Change an SLA policy (admins); a condition or target sent as null is dropped.
#[utoipa::path(patch, path = "/api/v1/service/sla_policies/{id}", tag = "service", operation_id = "update_sla_policy", request_body = SlaPolicyInput,
    params(IfMatch), security(("bearer" = [])), responses((status = 200, body = SlaPolicy),
        (status = 409, body = crate::error::Problem, description = "Another policy has this name")))]
async fn update_policy(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
    AppJson(input): AppJson<SlaPolicyInput>,
) -> Result<(HeaderMap, Json<SlaPolicy>), ApiError> {
    let p = state.store.save_sla_policy(&user.actor, Some(id), version, input).await?;
    Ok((etag(p.version), Json(p)))
}

/// Delete an SLA policy (admins).
#[utoipa::path(delete, path = "/api/v1/service/sla_policies/{id}", tag = "service", operation_id = "delete_sla_policy", security(("bearer" = [])),
    responses((status = 204)))]
async fn delete_policy(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<StatusCode, ApiError> {
    state.store.delete_sla_policy(&user.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Where the ticket's SLA targets stand (now, or `?at=` an RFC 3339 time): the policy, the
/// calendar, and per target its due time, near breach, breach, pause or result. `null` when no
/// policy applies.
#[utoipa::path(get, path = "/api/v1/tickets/{id}/sla", tag = "tickets", operation_id = "ticket_sla", security(("bearer" = [])),
    params(("at" = Option<String>, Query, description = "Evaluate at this time instead of now")),
    responses((status = 200, body = Option<SlaStanding>)))]
async fn ticket_sla(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    QueryPairs(pairs): QueryPairs,
) -> Result<Json<Option<SlaStanding>>, ApiError> {
    let at = at_param(&pairs)?;
    Ok(Json(state.store.ticket_sla(&user.actor, id, at).await?))
}
