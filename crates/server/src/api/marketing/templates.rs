//! `/api/v1/email_templates`: subject, plain text and HTML with merge fields, checked on save
//! (an unknown merge field is a 422 naming it), and a preview rendered for a chosen person.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use rapport_domain::marketing::templates::{EmailTemplate, Preview, TemplateInput};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::{created, etag};
use crate::error::ApiError;
use crate::extract::{AppJson, CurrentUser, IfMatch, Path, Query};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(get_one, update, delete)).routes(routes!(preview))
}

/// Every email template, newest first.
#[utoipa::path(get, path = "/api/v1/email_templates", tag = "marketing", operation_id = "list_email_templates", security(("bearer" = [])),
    responses((status = 200, body = Vec<EmailTemplate>, description = "Every live template")))]
async fn list(State(state): State<AppState>, user: CurrentUser) -> Result<Json<Vec<EmailTemplate>>, ApiError> {
    Ok(Json(state.store.list_email_templates(&user.actor).await?))
}

/// Create a template (marketers and admins). Merge fields: `{{name}}`, `{{first_name}}`,
/// `{{last_name}}`, `{{email}}`, `{{company}}`, custom fields (`{{key}}` or `{{custom.key}}`),
/// `{{unsubscribe_url}}`, `{{preferences_url}}`, `{{web_view_url}}`, each with an optional
/// `| default: "text"`.
#[utoipa::path(post, path = "/api/v1/email_templates", tag = "marketing", operation_id = "create_email_template", request_body = TemplateInput,
    security(("bearer" = [])), responses((status = 201, body = EmailTemplate, headers(("Location" = String, description = "The template's URL")))))]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(d): AppJson<TemplateInput>,
) -> Result<(StatusCode, HeaderMap, Json<EmailTemplate>), ApiError> {
    let t = state.store.create_email_template(&user.actor, d.into()).await?;
    let (status, headers) = created(format!("/api/v1/email_templates/{}", t.id), t.version);
    Ok((status, headers, Json(t)))
}

/// One template.
#[utoipa::path(get, path = "/api/v1/email_templates/{id}", tag = "marketing", operation_id = "get_email_template", security(("bearer" = [])),
    responses((status = 200, body = EmailTemplate)))]
async fn get_one(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<(HeaderMap, Json<EmailTemplate>), ApiError> {
    let t = state.store.get_email_template(&user.actor, id).await?;
    Ok((etag(t.version), Json(t)))
}

/// Replace a template's fields; `If-Match` refuses a stale version.
#[utoipa::path(patch, path = "/api/v1/email_templates/{id}", tag = "marketing", operation_id = "update_email_template", request_body = TemplateInput,
    security(("bearer" = [])), params(IfMatch), responses((status = 200, body = EmailTemplate)))]
async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
    AppJson(d): AppJson<TemplateInput>,
) -> Result<(HeaderMap, Json<EmailTemplate>), ApiError> {
    let t = state.store.update_email_template(&user.actor, id, version, d.into()).await?;
    Ok((etag(t.version), Json(t)))
}

/// Delete a template.
#[utoipa::path(delete, path = "/api/v1/email_templates/{id}", tag = "marketing", operation_id = "delete_email_template", security(("bearer" = [])),
    params(IfMatch), responses((status = 204)))]
async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
) -> Result<StatusCode, ApiError> {
    state.store.delete_email_template(&user.actor, id, version).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The person to render a preview for.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct PreviewQuery {
    /// The person.
    person_id: i64,
}

/// The template rendered for one person (links are placeholders, nothing is tracked).
#[utoipa::path(get, path = "/api/v1/email_templates/{id}/preview", tag = "marketing", operation_id = "preview_email_template",
    security(("bearer" = [])), params(PreviewQuery), responses((status = 200, body = Preview)))]
async fn preview(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<PreviewQuery>,
) -> Result<Json<Preview>, ApiError> {
    Ok(Json(state.store.preview_email_template(&user.actor, id, q.person_id).await.map_err(crate::api::list_error)?))
}
