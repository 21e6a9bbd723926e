//! Sign-in with email and password for a bearer token; sign-out; who am I; users.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use rapport_store::{LoginRefused, NewUser, User};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, CurrentUser, bearer, request_id};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login)).routes(routes!(logout)).routes(routes!(me)).routes(routes!(list_users, create_user))
}

/// Credentials.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Login email.
    email: String,
    /// Password.
    password: String,
}

/// A new bearer token, shown once.
#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`; valid for 30 days or until logout.
    token: String,
    /// The signed-in user.
    user: User,
}

/// Exchange email and password for a bearer token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", operation_id = "login", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse, description = "Signed in"), (status = 401, body = Problem, description = "Wrong email or password"),
        (status = 429, body = Problem, description = "Five failures within 15 minutes lock the email for 15 minutes")))]
async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    AppJson(req): AppJson<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    match state.store.login(&req.email, &req.password, "api", request_id(&headers)).await? {
        Ok((token, user)) => Ok(Json(LoginResponse { token, user })),
        Err(LoginRefused::BadCredentials) => Err(ApiError::Unauthorized),
        Err(LoginRefused::Locked { until }) => Err(ApiError::Locked(until)),
    }
}

/// Revoke the token this request carries.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", operation_id = "logout", security(("bearer" = [])),
    responses((status = 204, description = "The token is revoked")))]
async fn logout(State(state): State<AppState>, user: CurrentUser, headers: HeaderMap) -> Result<StatusCode, ApiError> {
    if let Some(token) = bearer(&headers) {
        state.store.revoke_token(&user.actor, token).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/users/me", tag = "users", operation_id = "get_me", security(("bearer" = [])),
    responses((status = 200, body = User, description = "The account the token belongs to")))]
async fn me(user: CurrentUser) -> Json<User> {
    Json(user.user)
}

/// Every user (owners are picked from this list).
#[utoipa::path(get, path = "/api/v1/users", tag = "users", operation_id = "list_users", security(("bearer" = [])),
    responses((status = 200, body = Vec<User>, description = "Every user")))]
async fn list_users(State(state): State<AppState>, user: CurrentUser) -> Result<Json<Vec<User>>, ApiError> {
    Ok(Json(state.store.list_users(&user.actor).await?))
}

/// A new user account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Login email.
    #[schema(format = Email)]
    email: String,
    /// Display name, 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// At least 10 characters.
    #[schema(min_length = 10)]
    password: String,
    /// Role name: built-in (`admin`, `manager`, `sales_rep`, `support_agent`, `marketer`, `viewer`) or custom.
    role: String,
}

/// Create a user (admins only).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", operation_id = "create_user", security(("bearer" = [])), request_body = CreateUser,
    responses((status = 201, body = User, headers(("Location" = String, description = "The user's URL"), ("ETag" = String, description = "The version, for `If-Match`"))),
        (status = 409, body = Problem)))]
async fn create_user(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(req): AppJson<CreateUser>,
) -> Result<(StatusCode, HeaderMap, Json<User>), ApiError> {
    let new = NewUser { email: req.email, name: req.name, password: req.password, role: req.role };
    let u = state.store.create_user(&user.actor, new).await?;
    let (status, headers) = super::created(format!("/api/v1/users/{}", u.id), u.version);
    Ok((status, headers, Json(u)))
}
