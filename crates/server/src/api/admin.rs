//! Administration: users' roles and status, teams, custom roles, and the audit log. The store
//! refuses every call here to anyone without the matching permission (admins by default).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use rapport_store::{AuditEntry, AuditQuery, RoleInfo, RoleInput, Team, TeamInput, User, UserPatch};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{created, etag};
use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, CurrentUser, IfMatch};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(update_user))
        .routes(routes!(list_teams, create_team))
        .routes(routes!(update_team, delete_team))
        .routes(routes!(list_roles, save_role))
        .routes(routes!(delete_role))
        .routes(routes!(audit_log))
}

/// Change a user's name, role, status or password (admins only; audited).
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", request_body = UserPatch, security(("bearer" = [])),
    responses((status = 200, body = User), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_user(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
    AppJson(patch): AppJson<UserPatch>,
) -> Result<(HeaderMap, Json<User>), ApiError> {
    let u = state.store.update_user(&user.actor, id, version, patch).await?;
    Ok((etag(u.version), Json(u)))
}

/// Every team with its members.
#[utoipa::path(get, path = "/api/v1/teams", tag = "teams", security(("bearer" = [])), responses((status = 200, body = Vec<Team>)))]
async fn list_teams(State(state): State<AppState>, user: CurrentUser) -> Result<Json<Vec<Team>>, ApiError> {
    Ok(Json(state.store.list_teams(&user.actor).await?))
}

/// Create a team (admins only).
#[utoipa::path(post, path = "/api/v1/teams", tag = "teams", request_body = TeamInput, security(("bearer" = [])),
    responses((status = 201, body = Team), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_team(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(input): AppJson<TeamInput>,
) -> Result<(StatusCode, HeaderMap, Json<Team>), ApiError> {
    let t = state.store.save_team(&user.actor, None, None, input).await?;
    let (status, headers) = created(format!("/api/v1/teams/{}", t.id), t.version);
    Ok((status, headers, Json(t)))
}

/// Rename a team, change its visibility or replace its members (admins only).
#[utoipa::path(patch, path = "/api/v1/teams/{id}", tag = "teams", request_body = TeamInput, security(("bearer" = [])),
    responses((status = 200, body = Team), (status = 403, body = Problem), (status = 404, body = Problem), (status = 412, body = Problem)))]
async fn update_team(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
    AppJson(input): AppJson<TeamInput>,
) -> Result<Json<Team>, ApiError> {
    Ok(Json(state.store.save_team(&user.actor, Some(id), version, input).await?))
}

/// Delete a team (admins only).
#[utoipa::path(delete, path = "/api/v1/teams/{id}", tag = "teams", security(("bearer" = [])),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete_team(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<StatusCode, ApiError> {
    state.store.delete_team(&user.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Built-in and custom roles with their permissions.
#[utoipa::path(get, path = "/api/v1/roles", tag = "roles", security(("bearer" = [])), responses((status = 200, body = Vec<RoleInfo>)))]
async fn list_roles(State(state): State<AppState>, user: CurrentUser) -> Result<Json<Vec<RoleInfo>>, ApiError> {
    Ok(Json(state.store.list_roles(&user.actor).await?))
}

/// Create or replace a custom role (admins only; audited as a permission change).
#[utoipa::path(post, path = "/api/v1/roles", tag = "roles", request_body = RoleInput, security(("bearer" = [])),
    responses((status = 200, body = RoleInfo), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn save_role(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(input): AppJson<RoleInput>,
) -> Result<Json<RoleInfo>, ApiError> {
    Ok(Json(state.store.save_role(&user.actor, input).await?))
}

/// Delete a custom role that nobody holds (admins only).
#[utoipa::path(delete, path = "/api/v1/roles/{name}", tag = "roles", security(("bearer" = [])),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn delete_role(State(state): State<AppState>, user: CurrentUser, Path(name): Path<String>) -> Result<StatusCode, ApiError> {
    state.store.delete_role(&user.actor, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The audit log, newest first (admins only). Entries cannot be changed or deleted.
#[utoipa::path(get, path = "/api/v1/audit_log", tag = "audit", params(AuditQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<AuditEntry>), (status = 403, body = Problem)))]
async fn audit_log(
    State(state): State<AppState>,
    user: CurrentUser,
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad_field("query", e.body_text()))?;
    Ok(Json(state.store.list_audit(&user.actor, &q).await.map_err(super::list_error)?))
}
