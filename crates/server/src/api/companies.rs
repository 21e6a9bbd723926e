//! `/api/v1/companies`: organisations.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use rapport_domain::company::{Company, CompanyInput};
use rapport_domain::query::ListParams;
use rapport_store::Page;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ListQuery, MergeInput, bad_query, created, etag, list_error};
use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, CurrentUser, IfMatch, Path, QueryPairs};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(get_one, update, delete)).routes(routes!(merge))
}

/// List, filter and search companies.
///
/// Custom fields filter as `custom.<key>=value`, and number and date fields also as
/// `custom.<key>.gte=` and `custom.<key>.lte=` (OpenAPI cannot declare a family of parameters).
/// Unknown parameters, people-only filters and unknown custom keys answer 400 naming them.
#[utoipa::path(get, path = "/api/v1/companies", tag = "companies", operation_id = "list_companies", params(ListQuery),
    security(("bearer" = [])), responses((status = 200, body = Page<Company>, description = "One page; follow `next_cursor` for the next")))]
async fn list(State(state): State<AppState>, user: CurrentUser, QueryPairs(pairs): QueryPairs) -> Result<Json<Page<Company>>, ApiError> {
    let defs = state.store.company_fields(&user.actor).await?;
    let params = ListParams::parse(&pairs, &rapport_domain::company::SPEC, &defs).map_err(bad_query)?;
    Ok(Json(state.store.list_companies(&user.actor, &params).await.map_err(list_error)?))
}

/// Create a company.
#[utoipa::path(post, path = "/api/v1/companies", tag = "companies", operation_id = "create_company", request_body = CompanyInput,
    security(("bearer" = [])),
    responses((status = 201, body = Company, headers(("Location" = String, description = "The company's URL"), ("ETag" = String, description = "The version, for `If-Match`"))),
        (status = 409, body = Problem)))]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(mut input): AppJson<CompanyInput>,
) -> Result<(StatusCode, HeaderMap, Json<Company>), ApiError> {
    // Left out, the owner is the creator (as in the UI); `null` asks for an unowned record.
    input.owner_id = Some(user.actor.owner_for_new(input.owner_id));
    let defs = state.store.company_fields(&user.actor).await?;
    let region = state.config.phone_region;
    let c = state.store.create_company(&user.actor, || input.apply(None, &defs, region)).await?;
    let (status, headers) = created(format!("/api/v1/companies/{}", c.id), c.version);
    Ok((status, headers, Json(c)))
}

/// One company. A company merged into another answers 410 with the survivor's id in the
/// problem's `merged_into` (and its URL in `Location`).
#[utoipa::path(get, path = "/api/v1/companies/{id}", tag = "companies", operation_id = "get_company", security(("bearer" = [])),
    responses((status = 200, body = Company, headers(("ETag" = String, description = "The version, for `If-Match`"))),
        (status = 410, body = Problem, description = "Merged into the company `merged_into` names (its URL in `Location`)",
            headers(("Location" = String, description = "The survivor's URL"))))
)]
async fn get_one(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<(HeaderMap, Json<Company>), ApiError> {
    let c = state.store.get_company(&user.actor, id).await?;
    Ok((etag(c.version), Json(c)))
}

/// Change some fields of a company; send `If-Match: <version>` to refuse overwriting a newer edit.
#[utoipa::path(patch, path = "/api/v1/companies/{id}", tag = "companies", operation_id = "update_company", request_body = CompanyInput,
    security(("bearer" = [])), params(IfMatch),
    responses((status = 200, body = Company, headers(("ETag" = String, description = "The new version"))), (status = 409, body = Problem)))]
async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
    AppJson(input): AppJson<CompanyInput>,
) -> Result<(HeaderMap, Json<Company>), ApiError> {
    let defs = state.store.company_fields(&user.actor).await?;
    let region = state.config.phone_region;
    let c = state.store.update_company(&user.actor, id, version, |cur| input.apply(Some(cur), &defs, region)).await?;
    Ok((etag(c.version), Json(c)))
}

/// Delete a company (kept as a tombstone for sync); its people are unlinked.
#[utoipa::path(delete, path = "/api/v1/companies/{id}", tag = "companies", operation_id = "delete_company", security(("bearer" = [])),
    params(IfMatch), responses((status = 204)))]
async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
) -> Result<StatusCode, ApiError> {
    state.store.delete_company(&user.actor, id, version).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Merge duplicates into this company. In one transaction: every field takes the chosen
/// record's value (tags left out are the union); the losers' people, orders, opportunities,
/// activities, tickets and SLA policies move here; each loser becomes a tombstone with
/// `merged_into` (its `GET` answers 410, sync listings show it deleted with `merged_into`); one
/// `merge` audit row names them all and a `company.merged` webhook event is queued. Send
/// `If-Match` with this company's version. Needs `update` and `delete` on companies.
#[utoipa::path(post, path = "/api/v1/companies/{id}/merge", tag = "companies", operation_id = "merge_companies", request_body = MergeInput,
    security(("bearer" = [])), params(IfMatch),
    responses((status = 200, body = Company, description = "The survivor", headers(("ETag" = String, description = "The survivor's new version"))),
        (status = 410, body = Problem, description = "This company was merged into another already (`merged_into` names it)"),
        (status = 409, body = Problem, description = "The merged values collide with another company's unique value"),
        (status = 422, body = Problem, description = "No losers, this company among them, a loser unknown, deleted or merged, or a field choice naming an unknown field or a record not in the merge")))]
async fn merge(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
    AppJson(input): AppJson<MergeInput>,
) -> Result<(HeaderMap, Json<Company>), ApiError> {
    let (c, _) = state.store.merge_companies(&user.actor, id, &input.losers, version, &input.fields).await?;
    Ok((etag(c.version), Json(c)))
}
