//! `/api/v1/customers`: people.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use rapport_domain::customer::{Customer, CustomerInput};
use rapport_domain::query::ListParams;
use rapport_store::Page;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ListQuery, bad_query, created, etag, list_error};
use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, CurrentUser, IfMatch, QueryPairs};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update, delete))
        .routes(routes!(privacy_export))
        .routes(routes!(erase))
}

/// List, filter and search people.
#[utoipa::path(get, path = "/api/v1/customers", tag = "customers", params(ListQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<Customer>), (status = 400, body = Problem), (status = 401, body = Problem)))]
async fn list(State(state): State<AppState>, user: CurrentUser, QueryPairs(pairs): QueryPairs) -> Result<Json<Page<Customer>>, ApiError> {
    let defs = state.store.customer_fields(&user.actor).await?;
    let params = ListParams::parse(&pairs, &rapport_domain::customer::SPEC, &defs).map_err(bad_query)?;
    Ok(Json(state.store.list_customers(&user.actor, &params).await.map_err(list_error)?))
}

/// Create a person.
#[utoipa::path(post, path = "/api/v1/customers", tag = "customers", request_body = CustomerInput, security(("bearer" = [])),
    responses((status = 201, body = Customer, headers(("Location" = String), ("ETag" = String))), (status = 400, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
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
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers", security(("bearer" = [])),
    responses((status = 200, body = Customer, headers(("ETag" = String))), (status = 404, body = Problem)))]
async fn get_one(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<(HeaderMap, Json<Customer>), ApiError> {
    let c = state.store.get_customer(&user.actor, id).await?;
    Ok((etag(c.version), Json(c)))
}

/// Change some fields of a person; send `If-Match: <version>` to refuse overwriting a newer edit.
#[utoipa::path(patch, path = "/api/v1/customers/{id}", tag = "customers", request_body = CustomerInput, security(("bearer" = [])),
    params(("If-Match" = Option<String>, Header, description = "version the change is based on")),
    responses((status = 200, body = Customer), (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem),
        (status = 422, body = Problem)))]
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
#[utoipa::path(delete, path = "/api/v1/customers/{id}", tag = "customers", security(("bearer" = [])),
    params(("If-Match" = Option<String>, Header, description = "version the deletion is based on")),
    responses((status = 204), (status = 404, body = Problem), (status = 412, body = Problem)))]
async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
) -> Result<StatusCode, ApiError> {
    state.store.delete_customer(&user.actor, id, version).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Everything held about one person (a privacy request), unmasked; needs `export` and `pii`. Audited.
#[utoipa::path(get, path = "/api/v1/customers/{id}/privacy_export", tag = "customers", security(("bearer" = [])),
    responses((status = 200, description = "The person, their company and their audit history"), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn privacy_export(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(state.store.privacy_export(&user.actor, id).await?))
}

/// Erase a person's personal data, keeping the record for accounting; needs `delete`. Audited.
#[utoipa::path(post, path = "/api/v1/customers/{id}/erase", tag = "customers", security(("bearer" = [])),
    responses((status = 200, body = Customer), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn erase(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<Json<Customer>, ApiError> {
    Ok(Json(state.store.erase_customer(&user.actor, id).await?))
}
