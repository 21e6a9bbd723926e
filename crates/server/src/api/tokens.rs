//! Personal API tokens: for scripts and integrations, scoped (read, or read and write),
//! expiring, revocable, and shown only once.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rapport_store::TokenInfo;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, CurrentUser};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(revoke))
}

/// A token request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// What it is for ("nightly export", "Zapier").
    name: String,
    /// `["read"]` or `["read", "write"]`.
    scopes: Vec<String>,
    /// Lifetime in days, 1 to 365 (default 90).
    expires_in_days: Option<i64>,
}

/// The new token, shown this once.
#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    /// Send as `Authorization: Bearer <token>`. Store it now: it cannot be shown again.
    token: String,
    /// The token's details.
    info: TokenInfo,
}

/// Your tokens (sign-in, UI sessions and personal ones), without their secrets.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", security(("bearer" = [])), responses((status = 200, body = Vec<TokenInfo>)))]
async fn list(State(state): State<AppState>, user: CurrentUser) -> Result<Json<Vec<TokenInfo>>, ApiError> {
    Ok(Json(state.store.list_tokens(&user.actor).await?))
}

/// Create a personal token.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = NewToken, security(("bearer" = [])),
    responses((status = 201, body = CreatedToken), (status = 422, body = Problem)))]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(req): AppJson<NewToken>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    if let Some(bad) = req.scopes.iter().find(|s| *s != "read" && *s != "write") {
        return Err(ApiError::Invalid(rapport_domain::ValidationErrors::single(
            "scopes",
            format!("unknown scope '{bad}': use read and write"),
        )));
    }
    let write = req.scopes.iter().any(|s| s == "write");
    let (token, info) = state.store.create_personal_token(&user.actor, &req.name, write, req.expires_in_days.unwrap_or(90)).await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { token, info })))
}

/// Revoke a token at once (yours; admins may revoke anyone's).
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", security(("bearer" = [])),
    responses((status = 204), (status = 404, body = Problem)))]
async fn revoke(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<StatusCode, ApiError> {
    state.store.revoke_token_id(&user.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
