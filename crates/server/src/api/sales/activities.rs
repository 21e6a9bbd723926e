//! `/api/v1/activities` (tasks, calls, meetings, notes, logged emails) and `/api/v1/tasks`,
//! the task lists.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use rapport_domain::now_rfc3339;
use rapport_domain::query::ListParams;
use rapport_domain::sales::activity::{Activity, ActivityInput, SPEC, TaskView};
use rapport_store::Page;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::super::{bad_query, created, etag, list_error};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{AppJson, CurrentUser, IfMatch, Path, Query, QueryPairs};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(get_one, update, delete)).routes(routes!(done)).routes(routes!(tasks))
}

/// The query parameters of `GET /api/v1/activities` (from the activity spec).
pub struct ActivityListQuery;

impl IntoParams for ActivityListQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        super::list_params(&SPEC)
    }
}

/// List and filter activities.
///
/// Filters: `kind`, `assignee_id`, `owner_id`, `customer_id`, `company_id`, `opportunity_id`,
/// `done`, and time ranges as `due_at.gte=`/`due_at.lte=` (also `starts_at` and `done_at`), a
/// day meaning its midnight UTC. `q` searches subjects. A person or company named by an
/// activity shows by name only where the caller may see them.
#[utoipa::path(get, path = "/api/v1/activities", tag = "activities", operation_id = "list_activities", params(ActivityListQuery),
    security(("bearer" = [])), responses((status = 200, body = Page<Activity>, description = "One page; follow `next_cursor` for the next")))]
async fn list(State(state): State<AppState>, user: CurrentUser, QueryPairs(pairs): QueryPairs) -> Result<Json<Page<Activity>>, ApiError> {
    let params = ListParams::parse(&pairs, &SPEC, &[]).map_err(bad_query)?;
    Ok(Json(state.store.list_activities(&user.actor, &params).await.map_err(list_error)?))
}

/// Log a call, meeting, note or email, or add a task.
///
/// Link it to a person, a company or an opportunity (at least one). Left out, the owner (who
/// reaches the activity) is the assignee, or else the caller, and the assignee is the owner.
#[utoipa::path(post, path = "/api/v1/activities", tag = "activities", operation_id = "create_activity", request_body = ActivityInput,
    security(("bearer" = [])),
    responses((status = 201, body = Activity, headers(("Location" = String, description = "The activity's URL"), ("ETag" = String, description = "The version, for `If-Match`")))))]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(input): AppJson<ActivityInput>,
) -> Result<(StatusCode, HeaderMap, Json<Activity>), ApiError> {
    let input = input.with_owner_defaults(user.actor.user_id);
    let now = now_rfc3339();
    let a = state.store.create_activity(&user.actor, || input.apply(None, &now)).await?;
    let (status, headers) = created(format!("/api/v1/activities/{}", a.id), a.version);
    Ok((status, headers, Json(a)))
}

/// One activity.
#[utoipa::path(get, path = "/api/v1/activities/{id}", tag = "activities", operation_id = "get_activity", security(("bearer" = [])),
    responses((status = 200, body = Activity, headers(("ETag" = String, description = "The version, for `If-Match`")))))]
async fn get_one(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<(HeaderMap, Json<Activity>), ApiError> {
    let a = state.store.get_activity(&user.actor, id).await?;
    Ok((etag(a.version), Json(a)))
}

/// Change some fields of an activity (its kind stays); send `If-Match: <version>`.
#[utoipa::path(patch, path = "/api/v1/activities/{id}", tag = "activities", operation_id = "update_activity", request_body = ActivityInput,
    security(("bearer" = [])), params(IfMatch),
    responses((status = 200, body = Activity, headers(("ETag" = String, description = "The new version")))))]
async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
    AppJson(input): AppJson<ActivityInput>,
) -> Result<(HeaderMap, Json<Activity>), ApiError> {
    let now = now_rfc3339();
    let a = state.store.update_activity(&user.actor, id, version, |cur| input.apply(Some(cur), &now)).await?;
    Ok((etag(a.version), Json(a)))
}

/// Delete an activity (kept as a tombstone for sync).
#[utoipa::path(delete, path = "/api/v1/activities/{id}", tag = "activities", operation_id = "delete_activity", security(("bearer" = [])),
    params(IfMatch), responses((status = 204)))]
async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
) -> Result<StatusCode, ApiError> {
    state.store.delete_activity(&user.actor, id, version).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mark an activity done (a task checked off); send `If-Match: <version>`.
///
/// Marking a done activity done again changes nothing but its version, and keeps when it was
/// first done. Undo with `PATCH {"done": false}`.
#[utoipa::path(post, path = "/api/v1/activities/{id}/done", tag = "activities", operation_id = "complete_activity", security(("bearer" = [])),
    params(IfMatch), responses((status = 200, body = Activity, headers(("ETag" = String, description = "The new version")))))]
async fn done(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
) -> Result<(HeaderMap, Json<Activity>), ApiError> {
    let now = now_rfc3339();
    let input = ActivityInput { done: Some(true), ..ActivityInput::default() };
    let a = state.store.update_activity(&user.actor, id, version, |cur| input.apply(Some(cur), &now)).await?;
    Ok((etag(a.version), Json(a)))
}

/// The parameters of a task list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct TaskQuery {
    /// `today` (due on today's UTC day, the default), `overdue` (due before now) or
    /// `upcoming` (due from tomorrow on).
    #[param(inline)]
    view: Option<TaskView>,
    /// Whose tasks (the assignee); the caller's own when left out.
    assignee_id: Option<i64>,
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A task list: open tasks of one assignee, soonest due first.
///
/// Days are UTC days. Only tasks the caller reaches are listed, as with every activity.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "activities", operation_id = "list_tasks", params(TaskQuery),
    security(("bearer" = [])), responses((status = 200, body = Page<Activity>, description = "One page; follow `next_cursor` for the next")))]
async fn tasks(State(state): State<AppState>, user: CurrentUser, Query(q): Query<TaskQuery>) -> Result<Json<Page<Activity>>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_field("limit", "must be a whole number from 1 to 500"));
    }
    let page = ListParams { limit, cursor: q.cursor.filter(|c| !c.is_empty()), ..ListParams::default() };
    let assignee = q.assignee_id.or(user.actor.user_id);
    let list = state.store.list_tasks(&user.actor, q.view.unwrap_or_default(), assignee, chrono::Utc::now(), &page).await;
    Ok(Json(list.map_err(list_error)?))
}
