//! `/api/v1/products`: the catalogue orders sell from.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use rapport_domain::query::ListParams;
use rapport_domain::sales::product::{Product, ProductInput, SPEC};
use rapport_store::Page;
use utoipa::IntoParams;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::{bad_query, created, etag, list_error};
use crate::error::ApiError;
use crate::extract::{AppJson, CurrentUser, IfMatch, Path, QueryPairs};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(get_one, update, delete))
}

/// The query parameters of `GET /api/v1/products`.
pub struct ProductListQuery;

impl IntoParams for ProductListQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        super::list_params(&SPEC)
    }
}

/// List, filter and search products (by SKU, name and description). Everyone who signs in
/// reads the catalogue; `active=true` lists what can be ordered.
#[utoipa::path(get, path = "/api/v1/products", tag = "products", operation_id = "list_products", params(ProductListQuery),
    security(("bearer" = [])), responses((status = 200, body = Page<Product>, description = "One page; follow `next_cursor` for the next")))]
async fn list(State(state): State<AppState>, user: CurrentUser, QueryPairs(pairs): QueryPairs) -> Result<Json<Page<Product>>, ApiError> {
    let params = ListParams::parse(&pairs, &SPEC, &[]).map_err(bad_query)?;
    Ok(Json(state.store.list_products(&user.actor, &params).await.map_err(list_error)?))
}

/// Create a product (admins and managers). A SKU another live product has answers 409.
#[utoipa::path(post, path = "/api/v1/products", tag = "products", operation_id = "create_product", request_body = ProductInput,
    security(("bearer" = [])),
    responses((status = 201, body = Product, headers(("Location" = String, description = "The product's URL"), ("ETag" = String, description = "The version, for `If-Match`"))),
        (status = 409, body = crate::error::Problem, description = "Another live product has this SKU")))]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(input): AppJson<ProductInput>,
) -> Result<(StatusCode, HeaderMap, Json<Product>), ApiError> {
    let p = state.store.create_product(&user.actor, input).await?;
    let (status, headers) = created(format!("/api/v1/products/{}", p.id), p.version);
    Ok((status, headers, Json(p)))
}

/// One product.
#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "products", operation_id = "get_product", security(("bearer" = [])),
    responses((status = 200, body = Product, headers(("ETag" = String, description = "The version, for `If-Match`")))))]
async fn get_one(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<(HeaderMap, Json<Product>), ApiError> {
    let p = state.store.get_product(&user.actor, id).await?;
    Ok((etag(p.version), Json(p)))
}

/// Change a product; orders keep the SKU, name and price their lines were written with. An
/// inactive product cannot be put on new lines. Send `If-Match: <version>` (412 when stale).
#[utoipa::path(patch, path = "/api/v1/products/{id}", tag = "products", operation_id = "update_product", request_body = ProductInput,
    security(("bearer" = [])), params(IfMatch),
    responses((status = 200, body = Product, headers(("ETag" = String, description = "The new version"))),
        (status = 409, body = crate::error::Problem, description = "Another live product has this SKU")))]
async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
    AppJson(input): AppJson<ProductInput>,
) -> Result<(HeaderMap, Json<Product>), ApiError> {
    let p = state.store.update_product(&user.actor, id, version, input).await?;
    Ok((etag(p.version), Json(p)))
}

/// Delete a product (kept as a tombstone for sync; order lines keep it).
#[utoipa::path(delete, path = "/api/v1/products/{id}", tag = "products", operation_id = "delete_product", security(("bearer" = [])),
    params(IfMatch), responses((status = 204)))]
async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
) -> Result<StatusCode, ApiError> {
    state.store.delete_product(&user.actor, id, version).await?;
    Ok(StatusCode::NO_CONTENT)
}
