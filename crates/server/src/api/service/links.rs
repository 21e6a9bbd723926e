//! `/api/v1/tickets/{id}/…`: followers, merge and split, and the replying notice.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use rapport_domain::service::links::{Follower, FollowerInput, MergeInput, ParentInput, PresenceInput, Replying, SplitInput};
use rapport_domain::service::ticket::Ticket;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::{created, etag};
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, CurrentUser, Path};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(followers, add_follower))
        .routes(routes!(remove_follower))
        .routes(routes!(merge))
        .routes(routes!(split))
        .routes(routes!(set_parent))
        .routes(routes!(replying, presence))
}

/// The people following the ticket beside its own person (`customer_id`): contacts of the
/// ticket, whose replies thread onto it.
#[utoipa::path(get, path = "/api/v1/tickets/{id}/contacts", tag = "tickets", operation_id = "ticket_followers", security(("bearer" = [])),
    responses((status = 200, body = Vec<Follower>)))]
async fn followers(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<Json<Vec<Follower>>, ApiError> {
    Ok(Json(state.store.ticket_followers(&user.actor, id).await?))
}

/// Add a follower (a person the caller may see; not the ticket's own person): 201 when new,
/// 200 when they followed already.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/contacts", tag = "tickets", operation_id = "add_ticket_follower", request_body = FollowerInput,
    security(("bearer" = [])),
    responses((status = 201, body = Follower), (status = 200, body = Follower, description = "Followed already"),
        (status = 422, body = Problem, description = "`customer_id` missing, unknown, or the ticket's own person")))]
async fn add_follower(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    AppJson(input): AppJson<FollowerInput>,
) -> Result<(StatusCode, Json<Follower>), ApiError> {
    let (added, f) = state.store.add_ticket_follower(&user.actor, id, input).await?;
    Ok((if added { StatusCode::CREATED } else { StatusCode::OK }, Json(f)))
}

/// Stop a person following the ticket (404 when they do not).
#[utoipa::path(delete, path = "/api/v1/tickets/{id}/contacts/{customer_id}", tag = "tickets", operation_id = "remove_ticket_follower",
    security(("bearer" = [])), responses((status = 204)))]
async fn remove_follower(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, customer)): Path<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    state.store.remove_ticket_follower(&user.actor, id, customer).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Merge this ticket into the survivor `into`: the conversation, status history (each step
/// keeps `merged_from_id`), followers (this ticket's person among them) and tags move to the
/// survivor, children become the survivor's, and this ticket becomes a tombstone with
/// `merged_into_id` (`GET` on it answers 308 to the survivor; sync listings show the tombstone).
/// Answers the survivor.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/merge", tag = "tickets", operation_id = "merge_ticket", request_body = MergeInput,
    security(("bearer" = [])),
    responses((status = 200, body = Ticket, description = "The survivor", headers(("ETag" = String, description = "The survivor's version"))),
        (status = 422, body = Problem, description = "`into` missing, this ticket itself, unknown, deleted or merged already")))]
async fn merge(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    AppJson(input): AppJson<MergeInput>,
) -> Result<(HeaderMap, Json<Ticket>), ApiError> {
    let t = state.store.merge_ticket(&user.actor, id, input).await?;
    Ok((etag(t.version), Json(t)))
}

/// Split a message off this ticket into a new child ticket (`parent_id` = this one) for the
/// same person, company, team, priority and category; the message moves there.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/split", tag = "tickets", operation_id = "split_ticket", request_body = SplitInput,
    security(("bearer" = [])),
    responses((status = 201, body = Ticket, description = "The new ticket", headers(("Location" = String, description = "The new ticket's URL"))),
        (status = 422, body = Problem, description = "`message_id` missing or not a message of this ticket")))]
async fn split(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    AppJson(input): AppJson<SplitInput>,
) -> Result<(StatusCode, HeaderMap, Json<Ticket>), ApiError> {
    let t = state.store.split_ticket(&user.actor, id, input).await?;
    let (status, headers) = created(format!("/api/v1/tickets/{}", t.id), t.version);
    Ok((status, headers, Json(t)))
}

/// Link this ticket under a parent ticket (`parent_id`), or unlink it (`null`); the parent's
/// children are `GET /api/v1/tickets?parent_id=…`. A link that would make a loop answers 422.
#[utoipa::path(put, path = "/api/v1/tickets/{id}/parent", tag = "tickets", operation_id = "set_ticket_parent", request_body = ParentInput,
    security(("bearer" = [])),
    responses((status = 200, body = Ticket), (status = 422, body = Problem, description = "`parent_id` unknown, this ticket, or one of its descendants")))]
async fn set_parent(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    AppJson(input): AppJson<ParentInput>,
) -> Result<(HeaderMap, Json<Ticket>), ApiError> {
    let t = state.store.set_ticket_parent(&user.actor, id, input).await?;
    Ok((etag(t.version), Json(t)))
}

/// The other agents writing a reply to this ticket now.
#[utoipa::path(get, path = "/api/v1/tickets/{id}/presence", tag = "tickets", operation_id = "ticket_replying", security(("bearer" = [])),
    responses((status = 200, body = Vec<Replying>)))]
async fn replying(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<Json<Vec<Replying>>, ApiError> {
    Ok(Json(state.store.ticket_replying(&user.actor, id).await?))
}

/// Say the caller is writing a reply (`replying`: true, the default; repeat within 30 seconds
/// to stay listed) or stopped (`false`). Answers the other agents replying now.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/presence", tag = "tickets", operation_id = "ticket_presence", request_body = PresenceInput,
    security(("bearer" = [])), responses((status = 200, body = Vec<Replying>)))]
async fn presence(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    AppJson(input): AppJson<PresenceInput>,
) -> Result<Json<Vec<Replying>>, ApiError> {
    Ok(Json(state.store.set_ticket_presence(&user.actor, id, input.replying.unwrap_or(true)).await?))
}
