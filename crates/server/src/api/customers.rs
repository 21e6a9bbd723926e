//! `/api/v1/customers`: people.

use axum::Json;
use axum::extract::State;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use rapport_domain::customer::{Customer, CustomerInput, Purchase};
use rapport_domain::query::ListParams;
use rapport_store::Page;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{CustomerListQuery, MergeInput, bad_query, created, etag, list_error};
use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, CurrentUser, IfMatch, Path, Query, QueryPairs};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update, delete))
        .routes(routes!(privacy_export))
        .routes(routes!(erase))
        .routes(routes!(merge))
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

/// How a create treats people who look like the new one.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct CreateQuery {
    /// `warn` (the default): create the person and list the look-alikes in `duplicates`;
    /// `refuse`: answer 409 naming them, and create nothing.
    #[param(inline)]
    duplicates: Option<DuplicateMode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum DuplicateMode {
    Warn,
    Refuse,
}

/// Create a person. People already stored who share an email, a phone number or the whole name
/// (in any order, accents and case aside) are listed in `duplicates` (the header `Warning: 299`
/// says so too); with `duplicates=refuse` such a create answers 409 naming them instead.
#[utoipa::path(post, path = "/api/v1/customers", tag = "customers", operation_id = "create_customer", request_body = CustomerInput,
    security(("bearer" = [])), params(CreateQuery),
    responses((status = 201, body = Customer, headers(("Location" = String, description = "The person's URL"), ("ETag" = String, description = "The version, for `If-Match`"),
            ("Warning" = String, description = "`299 rapport \"possible duplicates: 12, 40\"` when `duplicates` is not empty"))),
        (status = 409, body = Problem, description = "A unique value is taken, or (with `duplicates=refuse`) the person looks like people already stored, named in `errors`")))]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<CreateQuery>,
    AppJson(mut input): AppJson<CustomerInput>,
) -> Result<(StatusCode, HeaderMap, Json<Customer>), ApiError> {
    // Left out, the owner is the creator (as in the UI); `null` asks for an unowned record.
    input.owner_id = Some(user.actor.owner_for_new(input.owner_id));
    let defs = state.store.customer_fields(&user.actor).await?;
    let region = state.config.phone_region;
    // Validated once for the look-alike search (a bad input fails the create below as usual).
    let duplicates = match input.clone().apply(None, &defs, region) {
        Ok(data) => state.store.duplicates_of(&user.actor, &data, None).await?,
        Err(_) => vec![],
    };
    if q.duplicates == Some(DuplicateMode::Refuse) && !duplicates.is_empty() {
        let ids: Vec<String> = duplicates.iter().map(|d| d.id.to_string()).collect();
        return Err(ApiError::Conflict {
            field: "duplicates".into(),
            message: format!("this person looks like people already stored ({}): merge or edit them instead", ids.join(", ")),
        });
    }
    let mut c = state.store.create_customer(&user.actor, || input.apply(None, &defs, region)).await?;
    let (status, mut headers) = created(format!("/api/v1/customers/{}", c.id), c.version);
    if !duplicates.is_empty() {
        let ids: Vec<String> = duplicates.iter().map(|d| d.id.to_string()).collect();
        if let Ok(v) = HeaderValue::from_str(&format!("299 rapport \"possible duplicates: {}\"", ids.join(", "))) {
            headers.insert(header::WARNING, v);
        }
    }
    c.duplicates = duplicates;
    Ok((status, headers, Json(c)))
}

/// One person. A person merged into another answers 410 with the survivor's id in the
/// problem's `merged_into` (and its URL in `Location`): follow it, their records moved there.
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers", operation_id = "get_customer", security(("bearer" = [])),
    responses((status = 200, body = Customer, headers(("ETag" = String, description = "The version, for `If-Match`"))),
        (status = 410, body = Problem, description = "Merged into the person `merged_into` names (its URL in `Location`)",
            headers(("Location" = String, description = "The survivor's URL"))))
)]
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

/// What a merge takes.
/// Merge duplicates into this person. In one transaction: every field takes the chosen
/// record's value; the losers' orders, opportunities, activities, tickets (and ticket
/// follows), feedback, campaign and segment memberships, consents, sequence enrollments, lead
/// history and marketing events move here (a membership both had is kept once); sales
/// summaries are moved with the orders; each loser becomes a tombstone with `merged_into` (its
/// `GET` answers 410, sync listings show it deleted with `merged_into`); one `merge` audit row
/// names them all and a `customer.merged` webhook event is queued. Send `If-Match` with this
/// person's version. Needs `update` and `delete` on people.
#[utoipa::path(post, path = "/api/v1/customers/{id}/merge", tag = "customers", operation_id = "merge_customers", request_body = MergeInput,
    security(("bearer" = [])), params(IfMatch),
    responses((status = 200, body = Customer, description = "The survivor", headers(("ETag" = String, description = "The survivor's new version"))),
        (status = 410, body = Problem, description = "This person was merged into another already (`merged_into` names it)"),
        (status = 409, body = Problem, description = "The merged values collide with another person's unique value"),
        (status = 422, body = Problem, description = "No losers, this person among them, a loser unknown, deleted or merged, or a field choice naming an unknown field or a record not in the merge")))]
async fn merge(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    IfMatch(version): IfMatch,
    AppJson(input): AppJson<MergeInput>,
) -> Result<(HeaderMap, Json<Customer>), ApiError> {
    let (c, _) = state.store.merge_customers(&user.actor, id, &input.losers, version, &input.fields).await?;
    Ok((etag(c.version), Json(c)))
}
