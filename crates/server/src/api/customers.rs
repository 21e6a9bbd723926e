//! `/api/v1/customers`: people.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use rapport_domain::customer::{Customer, CustomerInput, Purchase};
use rapport_domain::query::ListParams;
use rapport_store::Page;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{CustomerListQuery, bad_query, created, etag, list_error};
use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, CurrentUser, IfMatch, Path, QueryPairs};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update, delete))
        .routes(routes!(privacy_export))
        .routes(routes!(erase))
}

/// List, filter and search people.
///
/// Custom fields filter as `custom.<key>=value`, and number and date fields also as
/// `custom.<key>.gte=` and `custom.<key>.lte=` (OpenAPI cannot declare a family of parameters).
/// Unknown parameters and custom keys answer 400 naming them.
#[utoipa::path(get, path = "/api/v1/customers", tag = "customers", operation_id = "list_customers", params(CustomerListQuery),
    security(("bearer" = [])), responses((status = 200, body = Page<Customer>, description = "One page; follow `next_cursor` for the next")))]
async fn list(State(state): State<AppState>, user: CurrentUser, QueryPairs(pairs): QueryPairs) -> Result<Json<Page<Customer>>, ApiError> {
    let defs = state.store.customer_fields(&user.actor).await?;
    let (pairs, audience) = super::marketing::segments::segment_filter(&state, &user.actor, pairs).await?;
    let mut params = ListParams::parse(&pairs, &rapport_domain::customer::SPEC, &defs).map_err(bad_query)?;
    params.audience = audience;
    Ok(Json(state.store.list_customers(&user.actor, &params).await.map_err(list_error)?))
}

/// Create a person.
#[utoipa::path(post, path = "/api/v1/customers", tag = "customers", operation_id = "create_customer", request_body = CustomerInput,
    security(("bearer" = [])),
    responses((status = 201, body = Customer, headers(("Location" = String, description = "The person's URL"), ("ETag" = String, description = "The version, for `If-Match`"))),
        (status = 409, body = Problem)))]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(mut input): AppJson<CustomerInput>,
) -> Result<(StatusCode, HeaderMap, Json<Customer>), ApiError> {
    // Left out, the owner is the creator (as in the UI); `null` asks for an unowned record.
    input.owner_id = Some(user.actor.owner_for_new(input.owner_id));
    let defs = state.store.customer_fields(&user.actor).await?;
    let region = state.config.phone_region;
    let c = state.store.create_customer(&user.actor, || input.apply(None, &defs, region)).await?;
    let (status, headers) = created(format!("/api/v1/customers/{}", c.id), c.version);
    Ok((status, headers, Json(c)))
}

/// One person.
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers", operation_id = "get_customer", security(("bearer" = [])),
    responses((status = 200, body = Customer, headers(("ETag" = String, description = "The version, for `If-Match`")))))]
async fn get_one(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<(HeaderMap, Json<Customer>), ApiError> {
    let c = state.store.get_customer(&user.actor, id).await?;
    Ok((etag(c.version), Json(c)))
}

/// Change some fields of a person; send `If-Match: <version>` to refuse overwriting a newer edit.
#[utoipa::path(patch, path = "/api/v1/customers/{id}", tag = "customers", operation_id = "update_customer", request_body = CustomerInput,
    security(("bearer" = [])), params(IfMatch),
    responses((status = 200, body = Customer, headers(("ETag" = String, description = "The new version"))), (status = 409, body = Problem)))]
async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
    AppJson(input): AppJson<CustomerInput>,
) -> Result<(HeaderMap, Json<Customer>), ApiError> {
    let defs = state.store.customer_fields(&user.actor).await?;
    let region = state.config.phone_region;
    let c = state.store.update_customer(&user.actor, id, version, |cur| input.apply(Some(cur), &defs, region)).await?;
    Ok((etag(c.version), Json(c)))
}

/// Delete a person (kept as a tombstone for sync).
#[utoipa::path(delete, path = "/api/v1/customers/{id}", tag = "customers", operation_id = "delete_customer", security(("bearer" = [])),
    params(IfMatch), responses((status = 204)))]
async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
) -> Result<StatusCode, ApiError> {
    state.store.delete_customer(&user.actor, id, version).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Everything held about one person, as a privacy export answers it (documentation of the
/// store's JSON).
#[derive(ToSchema)]
#[allow(dead_code)]
struct PrivacyExport {
    /// When the export was made (RFC 3339 UTC).
    exported_at: String,
    /// The person, unmasked.
    person: Customer,
    /// Their purchase lines, oldest first (`id` is not part of the export).
    purchases: Vec<Purchase>,
    /// Every audited change of the record, oldest first.
    history: Vec<ExportedChange>,
}

/// One audited change in a privacy export.
#[derive(ToSchema)]
#[allow(dead_code)]
struct ExportedChange {
    /// When (RFC 3339 UTC).
    at: String,
    /// Who (`null` for the system).
    actor_id: Option<i64>,
    /// `create`, `update`, `erase`, `export`…
    action: String,
    /// Before/after values of what changed.
    #[schema(value_type = Object)]
    diff: serde_json::Value,
}

/// Everything held about one person (a privacy request), unmasked; needs `export` and `pii`. Audited.
#[utoipa::path(get, path = "/api/v1/customers/{id}/privacy_export", tag = "customers", operation_id = "privacy_export_customer",
    security(("bearer" = [])), responses((status = 200, body = PrivacyExport, description = "The person, their purchases and their audit history")))]
async fn privacy_export(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(state.store.privacy_export(&user.actor, id).await?))
}

/// Erase a person's personal data, keeping the record for accounting; needs `delete`. Audited.
#[utoipa::path(post, path = "/api/v1/customers/{id}/erase", tag = "customers", operation_id = "erase_customer", security(("bearer" = [])),
    responses((status = 200, body = Customer, description = "The record as it stays, without personal data")))]
async fn erase(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<Json<Customer>, ApiError> {
    Ok(Json(state.store.erase_customer(&user.actor, id).await?))
}
