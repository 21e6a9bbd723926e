//! Personal API tokens: for scripts and integrations, scoped (read, or read and write),
//! expiring, revocable, and shown only once.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use rapport_store::TokenInfo;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{AppJson, CurrentUser, Path};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(revoke))
}

/// A token request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// What it is for ("nightly export", "Zapier"), 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// `["read"]` or `["read", "write"]`.
    #[schema(max_items = 2)]
    scopes: Vec<String>,
    /// Lifetime in days, 1 to 365 (default 90).
    #[schema(minimum = 1, maximum = 365)]
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
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", operation_id = "list_tokens", security(("bearer" = [])),
    responses((status = 200, body = Vec<TokenInfo>, description = "Your tokens, newest first")))]
async fn list(State(state): State<AppState>, user: CurrentUser) -> Result<Json<Vec<TokenInfo>>, ApiError> {
    Ok(Json(state.store.list_tokens(&user.actor).await?))
}

/// Create a personal token.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", operation_id = "create_token", request_body = NewToken, security(("bearer" = [])),
    responses((status = 201, body = CreatedToken, headers(("Location" = String, description = "The token's URL (to revoke it)")))))]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(req): AppJson<NewToken>,
) -> Result<(StatusCode, HeaderMap, Json<CreatedToken>), ApiError> {
    if let Some(bad) = req.scopes.iter().find(|s| *s != "read" && *s != "write") {
        return Err(ApiError::Invalid(rapport_domain::ValidationErrors::single(
            "scopes",
            format!("unknown scope '{bad}': use read and write"),
        )));
    }
    let write = req.scopes.iter().any(|s| s == "write");
    let (token, info) = state.store.create_personal_token(&user.actor, &req.name, write, req.expires_in_days.unwrap_or(90)).await?;
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/tokens/{}", info.id)) {
        headers.insert(header::LOCATION, v);
    }
    Ok((StatusCode::CREATED, headers, Json(CreatedToken { token, info })))
}

/// Revoke a token at once (yours; admins may revoke anyone's).
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", operation_id = "revoke_token", security(("bearer" = [])),
    responses((status = 204, description = "Revoked")))]
async fn revoke(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<StatusCode, ApiError> {
    state.store.revoke_token_id(&user.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
