//! `/api/v1/sequences`: drip sequences (ordered steps people enter by a segment, a sign-up or
//! by hand), their activation, pausing and resuming, and their enrollments.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use rapport_domain::marketing::sequences::{EnrollInput, Enrollment, Sequence, SequenceInput};
use rapport_store::Page;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::{created, etag};
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, CurrentUser, IfMatch, Path, Query};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update, delete))
        .routes(routes!(act))
        .routes(routes!(enrollments, enroll))
        .routes(routes!(exit))
}

/// Paging of a list by id.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<u32>,
}

fn after(cursor: Option<&str>) -> Result<Option<i64>, ApiError> {
    match cursor {
        None | Some("") => Ok(None),
        Some(c) => c.parse::<i64>().map(Some).map_err(|_| ApiError::bad_field("cursor", "is not a cursor this list gave")),
    }
}

/// Every live sequence, by id, with how many people are in each enrollment state.
#[utoipa::path(get, path = "/api/v1/sequences", tag = "marketing", operation_id = "list_sequences", params(PageQuery),
    security(("bearer" = [])), responses((status = 200, body = Page<Sequence>, description = "One page; follow `next_cursor` for the next")))]
async fn list(State(state): State<AppState>, user: CurrentUser, Query(q): Query<PageQuery>) -> Result<Json<Page<Sequence>>, ApiError> {
    let after = after(q.cursor.as_deref())?;
    Ok(Json(state.store.list_sequences(&user.actor, after, q.limit.unwrap_or(50)).await?))
}

/// Create a sequence, as a draft (marketers and admins). Steps: `send_email` (a template),
/// `wait` (days and hours), `branch` (on `opened`, `clicked` or `converted` of the last mail,
/// or `in_segment`, going on at a later step), `add_to_list` (a static segment),
/// `notify_owner`. A step that names something missing is a 422 naming the step's field.
#[utoipa::path(post, path = "/api/v1/sequences", tag = "marketing", operation_id = "create_sequence", request_body = SequenceInput,
    security(("bearer" = [])),
    responses((status = 201, body = Sequence, headers(("Location" = String, description = "The sequence's URL"), ("ETag" = String, description = "The version, for `If-Match`")))))]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(input): AppJson<SequenceInput>,
) -> Result<(StatusCode, HeaderMap, Json<Sequence>), ApiError> {
    let s = state.store.create_sequence(&user.actor, input).await?;
    let (status, headers) = created(format!("/api/v1/sequences/{}", s.id), s.version);
    Ok((status, headers, Json(s)))
}

/// One sequence.
#[utoipa::path(get, path = "/api/v1/sequences/{id}", tag = "marketing", operation_id = "get_sequence", security(("bearer" = [])),
    responses((status = 200, body = Sequence, headers(("ETag" = String, description = "The version, for `If-Match`")))))]
async fn get_one(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<(HeaderMap, Json<Sequence>), ApiError> {
    let s = state.store.get_sequence(&user.actor, id).await?;
    Ok((etag(s.version), Json(s)))
}

/// Change the fields sent; `If-Match` refuses a stale version. People already enrolled keep
/// their step numbers.
#[utoipa::path(patch, path = "/api/v1/sequences/{id}", tag = "marketing", operation_id = "update_sequence", request_body = SequenceInput,
    security(("bearer" = [])), params(IfMatch), responses((status = 200, body = Sequence, headers(("ETag" = String, description = "The new version")))))]
async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
    AppJson(input): AppJson<SequenceInput>,
) -> Result<(HeaderMap, Json<Sequence>), ApiError> {
    let s = state.store.update_sequence(&user.actor, id, version, input).await?;
    Ok((etag(s.version), Json(s)))
}

/// Delete a sequence: nobody advances any more and its queued mails stay unsent.
#[utoipa::path(delete, path = "/api/v1/sequences/{id}", tag = "marketing", operation_id = "delete_sequence", security(("bearer" = [])),
    params(IfMatch), responses((status = 204)))]
async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
) -> Result<StatusCode, ApiError> {
    state.store.delete_sequence(&user.actor, id, version).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What to do with a sequence.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SequenceAction {
    /// `activate` (a draft), `pause` (an active one) or `resume` (a paused one).
    action: String,
}

/// Activate, pause or resume a sequence; the wrong state answers 409 naming what is allowed.
/// While paused nobody advances and none of its mail goes out; people keep their positions.
#[utoipa::path(post, path = "/api/v1/sequences/{id}/actions", tag = "marketing", operation_id = "act_on_sequence", request_body = SequenceAction,
    security(("bearer" = [])), responses((status = 200, body = Sequence), (status = 409, body = Problem)))]
async fn act(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    AppJson(a): AppJson<SequenceAction>,
) -> Result<Json<Sequence>, ApiError> {
    Ok(Json(state.store.act_on_sequence(&user.actor, id, &a.action).await?))
}

/// Who is in the sequence, by person id, with the steps each ran and when the next one runs.
#[utoipa::path(get, path = "/api/v1/sequences/{id}/enrollments", tag = "marketing", operation_id = "list_sequence_enrollments",
    params(PageQuery), security(("bearer" = [])), responses((status = 200, body = Page<Enrollment>)))]
async fn enrollments(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<Enrollment>>, ApiError> {
    let after = after(q.cursor.as_deref())?;
    Ok(Json(state.store.list_enrollments(&user.actor, id, after, q.limit.unwrap_or(50)).await?))
}

/// How many entered.
#[derive(Debug, Serialize, ToSchema)]
pub struct Enrolled {
    /// People who were not in the sequence before.
    pub enrolled: u64,
}

/// Enroll people by hand (anyone already in the sequence stays where they are); they start at
/// the first step when the job next runs an active sequence.
#[utoipa::path(post, path = "/api/v1/sequences/{id}/enrollments", tag = "marketing", operation_id = "enroll_in_sequence",
    request_body = EnrollInput, security(("bearer" = [])), responses((status = 200, body = Enrolled)))]
async fn enroll(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    AppJson(input): AppJson<EnrollInput>,
) -> Result<Json<Enrolled>, ApiError> {
    Ok(Json(Enrolled { enrolled: state.store.enroll(&user.actor, id, &input.person_ids).await? }))
}

/// Take one person out of the sequence: the enrollment becomes `exited`, no further step runs
/// for them and a mail of the sequence still queued for them is not sent. One that finished or
/// left already answers 409; audited, and on the person's timeline.
#[utoipa::path(post, path = "/api/v1/sequences/{id}/enrollments/{enrollment_id}/exit", tag = "marketing", operation_id = "exit_sequence_enrollment",
    params(("id" = i64, Path, description = "The sequence"), ("enrollment_id" = i64, Path, description = "The enrollment")),
    security(("bearer" = [])), responses((status = 200, body = Enrollment, description = "The enrollment, exited"), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "The person has left the sequence already")))]
async fn exit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, enrollment)): Path<(i64, i64)>,
) -> Result<Json<Enrollment>, ApiError> {
    Ok(Json(state.store.exit_enrollment(&user.actor, id, enrollment).await?))
}
