//! Administration: users' roles and status, teams, custom roles, and the audit log. The store
//! refuses every call here to anyone without the matching permission (admins by default).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use rapport_domain::accounts::{RoleDefinition, RoleInfo, Team, TeamChanges, User, UserChanges};
use rapport_domain::audit::{AuditEntry, AuditFilter};
use rapport_domain::permissions::Permissions;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{created, etag};
use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, CurrentUser, IfMatch, Path, Query};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(update_user))
        .routes(routes!(list_teams, create_team))
        .routes(routes!(update_team, delete_team))
        .routes(routes!(list_roles, save_role))
        .routes(routes!(delete_role))
        .routes(routes!(audit_log))
}

/// Changes an admin makes to a user; absent fields stay.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// Display name.
    pub name: Option<String>,
    /// Role name (built-in or custom).
    pub role: Option<String>,
    /// Disable (false) or re-enable (true) sign-in; disabling revokes every token.
    pub is_active: Option<bool>,
    /// A new password (at least 10 characters).
    pub password: Option<String>,
}

impl From<UserPatch> for UserChanges {
    fn from(p: UserPatch) -> Self {
        UserChanges { name: p.name, role: p.role, is_active: p.is_active, password: p.password }
    }
}

/// What a client sends to create or change a team; on update, absent fields stay.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamInput {
    /// Name, 1 to 100 characters.
    pub name: Option<String>,
    /// `private` or `team`.
    pub visibility: Option<String>,
    /// The complete member list (replaces it).
    pub member_ids: Option<Vec<i64>>,
}

impl From<TeamInput> for TeamChanges {
    fn from(t: TeamInput) -> Self {
        TeamChanges { name: t.name, visibility: t.visibility, member_ids: t.member_ids }
    }
}

/// A custom role definition.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleInput {
    /// Name: lower-case letters, digits and `_`.
    pub name: String,
    /// Grants and visibility.
    pub permissions: Permissions,
}

impl From<RoleInput> for RoleDefinition {
    fn from(r: RoleInput) -> Self {
        RoleDefinition { name: r.name, permissions: r.permissions }
    }
}

/// Filters of the audit log; newest first, paged by `before_id`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only this user's actions.
    pub actor_id: Option<i64>,
    /// Only this object kind.
    pub object: Option<String>,
    /// Only this record (with `object`).
    pub record_id: Option<i64>,
    /// Only this action.
    pub action: Option<String>,
    /// At or after this time (RFC 3339).
    pub since: Option<String>,
    /// Before this time.
    pub until: Option<String>,
    /// Entries older than this id (the last id of the previous page).
    pub before_id: Option<i64>,
    /// Page size, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

impl From<AuditQuery> for AuditFilter {
    fn from(q: AuditQuery) -> Self {
        let AuditQuery { actor_id, object, record_id, action, since, until, before_id, limit } = q;
        AuditFilter { actor_id, object, record_id, action, since, until, before_id, limit }
    }
}

/// Change a user's name, role, status or password (admins only; audited).
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", operation_id = "update_user", request_body = UserPatch,
    security(("bearer" = [])), params(IfMatch),
    responses((status = 200, body = User, headers(("ETag" = String, description = "The new version")))))]
async fn update_user(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
    AppJson(patch): AppJson<UserPatch>,
) -> Result<(HeaderMap, Json<User>), ApiError> {
    let u = state.store.update_user(&user.actor, id, version, patch.into()).await?;
    Ok((etag(u.version), Json(u)))
}

/// Every team with its members.
#[utoipa::path(get, path = "/api/v1/teams", tag = "teams", operation_id = "list_teams", security(("bearer" = [])),
    responses((status = 200, body = Vec<Team>, description = "Every team, by name")))]
async fn list_teams(State(state): State<AppState>, user: CurrentUser) -> Result<Json<Vec<Team>>, ApiError> {
    Ok(Json(state.store.list_teams(&user.actor).await?))
}

/// Create a team (admins only).
#[utoipa::path(post, path = "/api/v1/teams", tag = "teams", operation_id = "create_team", request_body = TeamInput, security(("bearer" = [])),
    responses((status = 201, body = Team, headers(("Location" = String, description = "The team's URL"), ("ETag" = String, description = "The version, for `If-Match`"))),
        (status = 409, body = Problem)))]
async fn create_team(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(input): AppJson<TeamInput>,
) -> Result<(StatusCode, HeaderMap, Json<Team>), ApiError> {
    let t = state.store.save_team(&user.actor, None, None, input.into()).await?;
    let (status, headers) = created(format!("/api/v1/teams/{}", t.id), t.version);
    Ok((status, headers, Json(t)))
}

/// Rename a team, change its visibility or replace its members (admins only).
#[utoipa::path(patch, path = "/api/v1/teams/{id}", tag = "teams", operation_id = "update_team", request_body = TeamInput,
    security(("bearer" = [])), params(IfMatch),
    responses((status = 200, body = Team, headers(("ETag" = String, description = "The new version"))), (status = 409, body = Problem)))]
async fn update_team(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
    AppJson(input): AppJson<TeamInput>,
) -> Result<(HeaderMap, Json<Team>), ApiError> {
    let t = state.store.save_team(&user.actor, Some(id), version, input.into()).await?;
    Ok((etag(t.version), Json(t)))
}

/// Delete a team (admins only).
#[utoipa::path(delete, path = "/api/v1/teams/{id}", tag = "teams", operation_id = "delete_team", security(("bearer" = [])),
    params(IfMatch), responses((status = 204)))]
async fn delete_team(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
) -> Result<StatusCode, ApiError> {
    state.store.delete_team(&user.actor, id, version).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Built-in and custom roles with their permissions.
#[utoipa::path(get, path = "/api/v1/roles", tag = "roles", operation_id = "list_roles", security(("bearer" = [])),
    responses((status = 200, body = Vec<RoleInfo>, description = "Built-in roles, then custom ones by name")))]
async fn list_roles(State(state): State<AppState>, user: CurrentUser) -> Result<Json<Vec<RoleInfo>>, ApiError> {
    Ok(Json(state.store.list_roles(&user.actor).await?))
}

/// Create or replace a custom role (admins only; audited as a permission change): 201 when the
/// name was new, 200 when it replaced a role.
#[utoipa::path(post, path = "/api/v1/roles", tag = "roles", operation_id = "save_role", request_body = RoleInput, security(("bearer" = [])),
    responses((status = 201, body = RoleInfo, description = "Created",
            headers(("Location" = String, description = "The role's URL"), ("ETag" = String, description = "The version, for `If-Match`"))),
        (status = 200, body = RoleInfo, description = "Replaced", headers(("ETag" = String, description = "The new version")))))]
async fn save_role(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(input): AppJson<RoleInput>,
) -> Result<(StatusCode, HeaderMap, Json<RoleInfo>), ApiError> {
    let r = state.store.save_role(&user.actor, input.into()).await?;
    // The store answers version 1 exactly when this call created the role.
    let (status, headers) =
        if r.version == 1 { created(format!("/api/v1/roles/{}", r.name), r.version) } else { (StatusCode::OK, etag(r.version)) };
    Ok((status, headers, Json(r)))
}

/// Delete a custom role that nobody holds (admins only).
#[utoipa::path(delete, path = "/api/v1/roles/{name}", tag = "roles", operation_id = "delete_role", security(("bearer" = [])),
    params(IfMatch), responses((status = 204), (status = 422, body = Problem, description = "Users still hold the role")))]
async fn delete_role(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(name): Path<String>,
    IfMatch(version): IfMatch,
) -> Result<StatusCode, ApiError> {
    state.store.delete_role(&user.actor, &name, version).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The audit log, newest first (admins only). Entries cannot be changed or deleted.
#[utoipa::path(get, path = "/api/v1/audit_log", tag = "audit", operation_id = "list_audit_log", params(AuditQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<AuditEntry>, description = "One page of entries, newest first; page on with `before_id`")))]
async fn audit_log(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    Ok(Json(state.store.list_audit(&user.actor, &q.into()).await.map_err(super::list_error)?))
}
