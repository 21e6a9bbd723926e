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
    /// `["read"]` (the default), `["read", "write"]`, or `["inbound_mail"]` for a mail
    /// provider's inbound webhook, which may then deliver mail and do nothing else.
    #[schema(max_items = 3)]
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
    const SCOPES: [&str; 3] = ["read", "write", "inbound_mail"];
    if let Some(bad) = req.scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
        return Err(ApiError::Invalid(rapport_domain::ValidationErrors::single(
            "scopes",
            format!("unknown scope '{bad}': use read, write and inbound_mail"),
        )));
    }
    // Write access includes reading; the canonical order keeps stored scopes comparable.
    let write = req.scopes.iter().any(|s| s == "write");
    let wanted = |s: &str| req.scopes.iter().any(|x| x == s) || (s == "read" && (write || req.scopes.is_empty()));
    let scopes: Vec<&str> = SCOPES.into_iter().filter(|s| wanted(s)).collect();
    let (token, info) =
        state.store.create_scoped_token(&user.actor, &req.name, &scopes.join(" "), req.expires_in_days.unwrap_or(90)).await?;
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
