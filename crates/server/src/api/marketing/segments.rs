//! `/api/v1/segments`: who to reach, as rules (dynamic) or a list (static), with live counts;
//! and the `segment_id=` filter of the people list.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use rapport_domain::marketing::segments::{Audience, SPEC, Segment, SegmentInput, ValueType, catalogue};
use rapport_domain::permissions::Actor;
use rapport_domain::query::ListParams;
use rapport_store::Page;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::{bad_query, created, etag, list_error};
use crate::error::ApiError;
use crate::extract::{AppJson, CurrentUser, IfMatch, Path, QueryPairs};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update, delete))
        .routes(routes!(count))
        .routes(routes!(preview_count))
        .routes(routes!(fields))
        .routes(routes!(join, leave))
}

/// Takes `segment_id=` out of a people list's query and resolves it: the list then holds only
/// that segment's members.
pub(crate) async fn segment_filter(
    state: &AppState,
    actor: &Actor,
    pairs: Vec<(String, String)>,
) -> Result<(Vec<(String, String)>, Option<Audience>), ApiError> {
    let (seg, rest): (Vec<_>, Vec<_>) = pairs.into_iter().partition(|(k, _)| k == "segment_id");
    let Some((_, v)) = seg.into_iter().rfind(|(_, v)| !v.is_empty()) else { return Ok((rest, None)) };
    let id: i64 = v.trim().parse().map_err(|_| ApiError::bad_field("segment_id", format!("'{v}' is not a segment id")))?;
    match state.store.audience(actor, id).await {
        Ok(a) => Ok((rest, Some(a))),
        Err(rapport_store::Error::NotFound) => Err(ApiError::bad_field("segment_id", format!("there is no segment with id {id}"))),
        Err(e) => Err(e.into()),
    }
}

/// The query parameters of `GET /api/v1/segments`.
pub struct SegmentListQuery;

impl IntoParams for SegmentListQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        crate::api::sales::list_params(&SPEC)
    }
}

/// A count of people.
#[derive(Debug, Serialize, ToSchema)]
pub struct Count {
    /// Live people in the segment that the reader may see.
    pub count: i64,
}

/// Rules to count before saving them.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewInput {
    /// The rule tree, as a segment's `rules`.
    #[schema(value_type = Object)]
    pub rules: Value,
    /// Segments whose members are left out.
    #[serde(default)]
    pub exclude: Vec<i64>,
}

/// People to add to or remove from a list.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PeopleInput {
    /// People by id.
    pub person_ids: Vec<i64>,
}

/// How many people a list change touched.
#[derive(Debug, Serialize, ToSchema)]
pub struct Changed {
    /// People added or removed.
    pub changed: u64,
}

/// A field rules may name.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuleFieldInfo {
    /// The name rules use (`orders.total_spend`, `custom.shoe_size`).
    pub field: String,
    /// Its label.
    pub label: String,
    /// `text`, `number`, `date`, `bool`, `tag` or `campaign`.
    #[serde(rename = "type")]
    pub ty: String,
    /// The operators it takes.
    pub ops: Vec<String>,
}

/// List, filter and search segments.
#[utoipa::path(get, path = "/api/v1/segments", tag = "segments", operation_id = "list_segments", params(SegmentListQuery),
    security(("bearer" = [])), responses((status = 200, body = Page<Segment>, description = "One page; follow `next_cursor` for the next")))]
async fn list(State(state): State<AppState>, user: CurrentUser, QueryPairs(pairs): QueryPairs) -> Result<Json<Page<Segment>>, ApiError> {
    let params = ListParams::parse(&pairs, &SPEC, &[]).map_err(bad_query)?;
    Ok(Json(state.store.list_segments(&user.actor, &params).await.map_err(list_error)?))
}

/// Create a segment (marketers and admins). Rules are checked: an unknown field, an operator
/// its type does not take or a value of the wrong type answers 422 naming its path
/// (`rules.all[1].field`).
#[utoipa::path(post, path = "/api/v1/segments", tag = "segments", operation_id = "create_segment", request_body = SegmentInput,
    security(("bearer" = [])),
    responses((status = 201, body = Segment, headers(("Location" = String, description = "The segment's URL"), ("ETag" = String, description = "The version, for `If-Match`")))))]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(input): AppJson<SegmentInput>,
) -> Result<(StatusCode, HeaderMap, Json<Segment>), ApiError> {
    let s = state.store.create_segment(&user.actor, input).await?;
    let (status, headers) = created(format!("/api/v1/segments/{}", s.id), s.version);
    Ok((status, headers, Json(s)))
}

/// One segment.
#[utoipa::path(get, path = "/api/v1/segments/{id}", tag = "segments", operation_id = "get_segment", security(("bearer" = [])),
    responses((status = 200, body = Segment, headers(("ETag" = String, description = "The version, for `If-Match`")))))]
async fn get_one(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<(HeaderMap, Json<Segment>), ApiError> {
    let s = state.store.get_segment(&user.actor, id).await?;
    Ok((etag(s.version), Json(s)))
}

/// Change the fields sent; `If-Match` refuses a stale version.
#[utoipa::path(patch, path = "/api/v1/segments/{id}", tag = "segments", operation_id = "update_segment", request_body = SegmentInput,
    security(("bearer" = [])), params(IfMatch), responses((status = 200, body = Segment, headers(("ETag" = String, description = "The new version")))))]
async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
    AppJson(input): AppJson<SegmentInput>,
) -> Result<(HeaderMap, Json<Segment>), ApiError> {
    let s = state.store.update_segment(&user.actor, id, version, input).await?;
    Ok((etag(s.version), Json(s)))
}

/// Delete a segment.
#[utoipa::path(delete, path = "/api/v1/segments/{id}", tag = "segments", operation_id = "delete_segment", security(("bearer" = [])),
    params(IfMatch), responses((status = 204)))]
async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
) -> Result<StatusCode, ApiError> {
    state.store.delete_segment(&user.actor, id, version).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How many people are in the segment now (only people the reader may see count).
#[utoipa::path(get, path = "/api/v1/segments/{id}/count", tag = "segments", operation_id = "count_segment", security(("bearer" = [])),
    responses((status = 200, body = Count)))]
async fn count(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<Json<Count>, ApiError> {
    let a = state.store.audience(&user.actor, id).await?;
    Ok(Json(Count { count: state.store.audience_count(&user.actor, &a).await? }))
}

/// Count rules before saving them (the builder's live count); checked as a save would be.
#[utoipa::path(post, path = "/api/v1/segments/preview_count", tag = "segments", operation_id = "preview_segment_count",
    request_body = PreviewInput, security(("bearer" = [])), responses((status = 200, body = Count)))]
async fn preview_count(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(input): AppJson<PreviewInput>,
) -> Result<Json<Count>, ApiError> {
    Ok(Json(Count { count: state.store.preview_count(&user.actor, &input.rules, &input.exclude).await? }))
}

/// The fields rules may name, with their operators.
#[utoipa::path(get, path = "/api/v1/segments/fields", tag = "segments", operation_id = "segment_fields", security(("bearer" = [])),
    responses((status = 200, body = Vec<RuleFieldInfo>)))]
async fn fields(State(state): State<AppState>, user: CurrentUser) -> Result<Json<Vec<RuleFieldInfo>>, ApiError> {
    let defs = state.store.customer_fields(&user.actor).await?;
    Ok(Json(rule_fields(&defs)))
}

pub(crate) fn rule_fields(defs: &[rapport_domain::custom_field::CustomField]) -> Vec<RuleFieldInfo> {
    catalogue(defs)
        .into_iter()
        .map(|(field, label, ty)| RuleFieldInfo {
            field,
            label,
            ty: serde_json::to_value(ty).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
            ops: ValueType::ops(ty).iter().map(|s| s.to_string()).collect(),
        })
        .collect()
}

/// Add people to a static segment (a list).
#[utoipa::path(post, path = "/api/v1/segments/{id}/members", tag = "segments", operation_id = "join_segment", request_body = PeopleInput,
    security(("bearer" = [])), responses((status = 200, body = Changed)))]
async fn join(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    AppJson(input): AppJson<PeopleInput>,
) -> Result<Json<Changed>, ApiError> {
    Ok(Json(Changed { changed: state.store.join_list(&user.actor, id, &input.person_ids).await? }))
}

/// Take people out of a static segment.
#[utoipa::path(delete, path = "/api/v1/segments/{id}/members", tag = "segments", operation_id = "leave_segment", request_body = PeopleInput,
    security(("bearer" = [])), responses((status = 200, body = Changed)))]
async fn leave(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    AppJson(input): AppJson<PeopleInput>,
) -> Result<Json<Changed>, ApiError> {
    Ok(Json(Changed { changed: state.store.leave_list(&user.actor, id, &input.person_ids).await? }))
}
