//! `/api/v1/tickets`: tickets, their workflow actions, their status history and their
//! conversation.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use rapport_domain::service::message::{MessageInput, TicketMessage};
use rapport_domain::service::ticket::{SPEC, StatusChange, Ticket, TicketActionInput, TicketInput};
use rapport_store::Page;
use utoipa::IntoParams;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::{created, etag, list_error};
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, CurrentUser, IfMatch, Path, QueryPairs};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update, delete))
        .routes(routes!(action))
        .routes(routes!(history))
        .routes(routes!(messages, add_message))
}

/// The query parameters of `GET /api/v1/tickets`.
pub struct TicketListQuery;

impl IntoParams for TicketListQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        use utoipa::openapi::path::ParameterBuilder;
        let mut params = crate::api::sales::list_params(&SPEC);
        for (name, what) in [
            ("assignee", "`me`, `unassigned`, or a user id: whose tickets"),
            ("queue", "`team`: the tickets of the teams you belong to (`all`: no narrowing)"),
        ] {
            let string = utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::schema::Type::String);
            params.push(
                ParameterBuilder::new().name(name).parameter_in(ParameterIn::Query).description(Some(what)).schema(Some(string)).build(),
            );
        }
        params
    }
}

/// List, filter and search tickets (by subject and description): a queue is
/// `?team_id=…&status=new`, an agent's own `?assignee=me` (or `?owner_id=…`), the unassigned
/// `?assignee=unassigned`, the queues of the reader's teams `?queue=team`. Visibility: support
/// agents and managers see the tickets of their teams, those assigned to them and those in no
/// team and no one's hands; admins all; roles that see their own records the tickets assigned
/// to them and the unassigned ones.
#[utoipa::path(get, path = "/api/v1/tickets", tag = "tickets", operation_id = "list_tickets", params(TicketListQuery),
    security(("bearer" = [])), responses((status = 200, body = Page<Ticket>, description = "One page; follow `next_cursor` for the next")))]
async fn list(State(state): State<AppState>, user: CurrentUser, QueryPairs(pairs): QueryPairs) -> Result<Json<Page<Ticket>>, ApiError> {
    let params = super::assignment::ticket_params(&state, &user, pairs).await?;
    Ok(Json(state.store.list_tickets(&user.actor, &params).await.map_err(list_error)?))
}

/// Open a ticket for a person (`subject` and `customer_id` required). It starts `new` in the
/// team queue, or `assigned` when `owner_id` names an agent.
#[utoipa::path(post, path = "/api/v1/tickets", tag = "tickets", operation_id = "create_ticket", request_body = TicketInput,
    security(("bearer" = [])),
    responses((status = 201, body = Ticket, headers(("Location" = String, description = "The ticket's URL"), ("ETag" = String, description = "The version, for `If-Match`")))))]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(input): AppJson<TicketInput>,
) -> Result<(StatusCode, HeaderMap, Json<Ticket>), ApiError> {
    let t = state.store.create_ticket(&user.actor, input).await?;
    let (status, headers) = created(format!("/api/v1/tickets/{}", t.id), t.version);
    Ok((status, headers, Json(t)))
}

/// One ticket, with where its SLA targets stand now (`sla`, null when no policy applies) and
/// `replying`: the other agents writing a reply now. A ticket merged into
/// another answers `308 Permanent Redirect` to the survivor (`Location`), with its tombstone
/// (`merged_into_id`) as the body.
#[utoipa::path(get, path = "/api/v1/tickets/{id}", tag = "tickets", operation_id = "get_ticket", security(("bearer" = [])),
    responses((status = 200, body = super::sla::TicketWithSla, headers(("ETag" = String, description = "The version, for `If-Match`"))),
        (status = 308, description = "Merged: `Location` is the survivor; the body is `{id, merged_into_id, deleted: true}`", headers(("Location" = String, description = "The survivor's URL")))))]
async fn get_one(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    match state.store.get_ticket(&user.actor, id).await {
        Ok(mut t) => {
            t.replying = state.store.ticket_replying(&user.actor, id).await?;
            let sla = state.store.ticket_sla_of(&t, chrono::Utc::now()).await?;
            Ok((etag(t.version), Json(super::sla::TicketWithSla { ticket: t, sla })).into_response())
        }
        Err(rapport_store::Error::NotFound) => match state.store.ticket_merged_into(&user.actor, id).await? {
            Some(survivor) => {
                let mut headers = HeaderMap::new();
                if let Ok(v) = format!("/api/v1/tickets/{survivor}").parse() {
                    headers.insert(axum::http::header::LOCATION, v);
                }
                let body = serde_json::json!({"id": id, "merged_into_id": survivor, "deleted": true});
                Ok((StatusCode::PERMANENT_REDIRECT, headers, Json(body)).into_response())
            }
            None => Err(rapport_store::Error::NotFound.into()),
        },
        Err(e) => Err(e.into()),
    }
}

/// Change a ticket's fields. The status is not a field: it moves by actions; giving a new
/// ticket an `owner_id` assigns it, `owner_id: null` returns an open one to the queue, and a
/// resolved or closed ticket keeps its assignee (409). Send `If-Match: <version>` (412 when
/// stale).
#[utoipa::path(patch, path = "/api/v1/tickets/{id}", tag = "tickets", operation_id = "update_ticket", request_body = TicketInput,
    security(("bearer" = [])), params(IfMatch),
    responses((status = 200, body = Ticket, headers(("ETag" = String, description = "The new version"))),
        (status = 409, body = Problem, description = "The status does not allow the change: `allowed_actions` says what is allowed now")))]
async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
    AppJson(input): AppJson<TicketInput>,
) -> Result<(HeaderMap, Json<Ticket>), ApiError> {
    let t = state.store.update_ticket(&user.actor, id, version, input).await?;
    Ok((etag(t.version), Json(t)))
}

/// Take a workflow action: `assign` (to `owner_id`, or to the caller), `unassign`, `start`,
/// `wait_on_customer`, `wait_on_third_party`, `resume`, `snooze` (until `until`), `wake`,
/// `resolve` or `reopen`. `confirm` belongs to the customer and `auto_close` and
/// `customer_reply` to the system. An action the status does not allow answers 409 naming
/// `allowed_actions`.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/actions", tag = "tickets", operation_id = "ticket_action", request_body = TicketActionInput,
    security(("bearer" = [])), params(IfMatch),
    responses((status = 200, body = Ticket, headers(("ETag" = String, description = "The new version"))),
        (status = 409, body = Problem, description = "The status does not allow the action: `allowed_actions` says what is allowed now")))]
async fn action(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
    AppJson(input): AppJson<TicketActionInput>,
) -> Result<(HeaderMap, Json<Ticket>), ApiError> {
    let t = state.store.ticket_action(&user.actor, id, version, input).await?;
    Ok((etag(t.version), Json(t)))
}

/// The ticket's status history, oldest first: every state it entered, when and by whom.
#[utoipa::path(get, path = "/api/v1/tickets/{id}/history", tag = "tickets", operation_id = "ticket_history", security(("bearer" = [])),
    responses((status = 200, body = Vec<StatusChange>)))]
async fn history(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<Json<Vec<StatusChange>>, ApiError> {
    Ok(Json(state.store.ticket_history(&user.actor, id).await?))
}

/// The ticket's conversation, oldest first: public replies and internal notes.
#[utoipa::path(get, path = "/api/v1/tickets/{id}/messages", tag = "tickets", operation_id = "ticket_messages", security(("bearer" = [])),
    responses((status = 200, body = Vec<TicketMessage>)))]
async fn messages(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<Json<Vec<TicketMessage>>, ApiError> {
    Ok(Json(state.store.ticket_messages(&user.actor, id).await?))
}

/// Reply to the customer, or add an internal note (`internal: true`) that only agents see.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/messages", tag = "tickets", operation_id = "add_ticket_message", request_body = MessageInput,
    security(("bearer" = [])),
    responses((status = 201, body = TicketMessage, headers(("Location" = String, description = "The ticket's conversation")))))]
async fn add_message(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    AppJson(input): AppJson<MessageInput>,
) -> Result<(StatusCode, HeaderMap, Json<TicketMessage>), ApiError> {
    let m = state.store.add_ticket_message(&user.actor, id, input).await?;
    let mut headers = HeaderMap::new();
    if let Ok(v) = format!("/api/v1/tickets/{id}/messages").parse() {
        headers.insert(axum::http::header::LOCATION, v);
    }
    Ok((StatusCode::CREATED, headers, Json(m)))
}

/// Delete a ticket (kept as a tombstone for sync; its history stays).
#[utoipa::path(delete, path = "/api/v1/tickets/{id}", tag = "tickets", operation_id = "delete_ticket", security(("bearer" = [])),
    params(IfMatch), responses((status = 204)))]
async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
) -> Result<StatusCode, ApiError> {
    state.store.delete_ticket(&user.actor, id, version).await?;
    Ok(StatusCode::NO_CONTENT)
}
