//! `/api/v1/custom_fields`: typed fields admins add to people and companies.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use rapport_domain::custom_field::{CustomField, CustomFieldInput, FieldObject};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{created, etag};
use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, CurrentUser, IfMatch, Path, Query};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(update, delete))
}

/// Which object's fields to list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FieldsQuery {
    /// `customer` or `company`; all when absent.
    object: Option<FieldObject>,
}

/// Custom field definitions: all of them with `custom_field:read`, otherwise those of the
/// objects you may read (they are the schema of records you see).
#[utoipa::path(get, path = "/api/v1/custom_fields", tag = "custom_fields", operation_id = "list_custom_fields", params(FieldsQuery),
    security(("bearer" = [])), responses((status = 200, body = Vec<CustomField>, description = "The definitions, oldest first")))]
async fn list(State(state): State<AppState>, user: CurrentUser, Query(q): Query<FieldsQuery>) -> Result<Json<Vec<CustomField>>, ApiError> {
    Ok(Json(state.store.list_custom_fields(&user.actor, q.object).await?))
}

/// Define a custom field (admins only).
#[utoipa::path(post, path = "/api/v1/custom_fields", tag = "custom_fields", operation_id = "create_custom_field", request_body = CustomFieldInput,
    security(("bearer" = [])),
    responses((status = 201, body = CustomField, headers(("Location" = String, description = "The field's URL"), ("ETag" = String, description = "The version, for `If-Match`"))),
        (status = 409, body = Problem)))]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(input): AppJson<CustomFieldInput>,
) -> Result<(StatusCode, HeaderMap, Json<CustomField>), ApiError> {
    let f = state.store.create_custom_field(&user.actor, || input.validate()).await?;
    let (status, headers) = created(format!("/api/v1/custom_fields/{}", f.id), f.version);
    Ok((status, headers, Json(f)))
}

/// Remove a custom field and its values (admins only).
#[utoipa::path(delete, path = "/api/v1/custom_fields/{id}", tag = "custom_fields", operation_id = "delete_custom_field",
    security(("bearer" = [])), params(IfMatch), responses((status = 204)))]
async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
) -> Result<StatusCode, ApiError> {
    state.store.delete_custom_field(&user.actor, id, version).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What can change on a custom field.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldPatch {
    /// New label.
    label: Option<String>,
    /// Mask the values for roles without `pii`.
    sensitive: Option<bool>,
}

/// Relabel a custom field or mark it sensitive (admins only).
#[utoipa::path(patch, path = "/api/v1/custom_fields/{id}", tag = "custom_fields", operation_id = "update_custom_field", request_body = FieldPatch,
    security(("bearer" = [])), params(IfMatch),
    responses((status = 200, body = CustomField, headers(("ETag" = String, description = "The new version")))))]
async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
    AppJson(p): AppJson<FieldPatch>,
) -> Result<(HeaderMap, Json<CustomField>), ApiError> {
    let f = state.store.update_custom_field(&user.actor, id, version, p.label, p.sensitive).await?;
    Ok((etag(f.version), Json(f)))
}
