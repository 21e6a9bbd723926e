//! `/api/v1/campaigns/{id}/members`: who a campaign reaches and how they responded.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use rapport_domain::marketing::members::{Member, ResponseState};
use rapport_store::AddMembers;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{AppJson, CurrentUser, Path, Query};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, add)).routes(routes!(respond))
}

/// Who to add: people by id, and/or the members of a segment now (a snapshot).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMembersInput {
    /// People by id (at most 10,000).
    #[serde(default)]
    pub person_ids: Vec<i64>,
    /// A segment (dynamic or static) whose members join.
    pub segment_id: Option<i64>,
}

/// How many joined.
#[derive(Debug, Serialize, ToSchema)]
pub struct Added {
    /// People who were not members before.
    pub added: u64,
}

/// The members page.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberPage {
    /// Members, by person id.
    pub data: Vec<Member>,
    /// Cursor of the next page.
    pub next_cursor: Option<String>,
    /// Members per status (of those the reader may see).
    pub counts: BTreeMap<String, i64>,
}

/// Paging and the status filter.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberQuery {
    /// Only members in this status.
    pub status: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 500 (default 100).
    pub limit: Option<u32>,
}

/// A response to record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseInput {
    /// `sent`, `delivered`, `opened`, `clicked`, `responded`, `converted`, `unsubscribed`, `bounced` or `complained`.
    pub state: String,
}

/// The member's status after the response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResponseOutcome {
    /// The status now.
    pub status: ResponseState,
    /// Whether the response changed it (a state already passed changes nothing).
    pub changed: bool,
}

/// A campaign's members with their response status, and the counts per status.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/members", tag = "campaigns", operation_id = "list_campaign_members",
    params(MemberQuery), security(("bearer" = [])), responses((status = 200, body = MemberPage)))]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<MemberQuery>,
) -> Result<Json<MemberPage>, ApiError> {
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(
            ResponseState::parse(s)
                .ok_or_else(|| ApiError::bad_field("status", format!("use one of: {}", ResponseState::NAMES.join(", "))))?,
        ),
    };
    let after = match q.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => Some(c.parse::<i64>().map_err(|_| ApiError::bad_field("cursor", "is not a cursor this list gave"))?),
    };
    let page = state.store.list_members(&user.actor, id, status, after, q.limit.unwrap_or(100)).await?;
    let counts = state.store.member_counts(&user.actor, id).await?;
    Ok(Json(MemberPage { data: page.data, next_cursor: page.next_cursor, counts }))
}

/// Add members by person id and/or from a segment (its members now; later changes to the
/// segment do not change the campaign). People already members stay as they are.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/members", tag = "campaigns", operation_id = "add_campaign_members",
    request_body = AddMembersInput, security(("bearer" = [])), responses((status = 200, body = Added)))]
async fn add(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    AppJson(input): AppJson<AddMembersInput>,
) -> Result<Json<Added>, ApiError> {
    let added = state.store.add_members(&user.actor, id, AddMembers { person_ids: input.person_ids, segment_id: input.segment_id }).await?;
    Ok(Json(Added { added }))
}

/// Record a member's response. States advance only forward (a state already passed changes
/// nothing); unsubscribed, bounced and complained end the path (409 after them).
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/members/{person_id}/responses", tag = "campaigns",
    operation_id = "record_campaign_response", request_body = ResponseInput, security(("bearer" = [])),
    params(("id" = i64, Path, description = "The campaign"), ("person_id" = i64, Path, description = "The member")),
    responses((status = 200, body = ResponseOutcome)))]
async fn respond(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, person_id)): Path<(i64, i64)>,
    AppJson(input): AppJson<ResponseInput>,
) -> Result<Json<ResponseOutcome>, ApiError> {
    let Some(s) = ResponseState::parse(&input.state).filter(|s| *s != ResponseState::Member) else {
        let message = format!("use one of: {}", ResponseState::NAMES[1..].join(", "));
        return Err(rapport_store::Error::Invalid(rapport_domain::ValidationErrors::single("state", message)).into());
    };
    let (status, changed) = state.store.respond(&user.actor, id, person_id, s).await?;
    Ok(Json(ResponseOutcome { status, changed }))
}
