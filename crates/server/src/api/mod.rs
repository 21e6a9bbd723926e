//! The REST API under `/api/v1`, documented by utoipa so that `openapi.json` lists exactly the
//! routes that exist.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::{IntoParams, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;
use crate::error::ApiError;

pub mod admin;
pub mod analytics;
pub mod auth;
pub mod companies;
pub mod custom_fields;
pub mod customers;
pub mod data;
pub mod marketing;
pub mod notifications;
pub mod openapi;
pub mod quality;
pub mod sales;
pub mod service;
pub mod timeline;
pub mod tokens;
pub mod webhooks;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Rapport API",
        description = "Customers, companies and everything a CRM keeps. Authenticate with POST /api/v1/auth/login and send `Authorization: Bearer <token>`. Errors are RFC 9457 problem+json naming the field."
    ),
    components(schemas(crate::error::Problem))
)]
struct ApiDoc;

/// Every API route with its documentation.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth::router())
        .merge(customers::router())
        .merge(companies::router())
        .merge(custom_fields::router())
        .merge(admin::router())
        .merge(analytics::router())
        .merge(marketing::router())
        .merge(tokens::router())
        .merge(sales::router())
        .merge(service::router())
        .merge(timeline::router())
        .merge(notifications::router())
        .merge(webhooks::router())
        .merge(quality::router())
        .merge(data::router())
        .routes(utoipa_axum::routes!(healthz))
        .routes(utoipa_axum::routes!(metrics))
}

/// Adds the bearer security scheme, the standard problem+json error responses and the
/// response descriptions to the generated document (see [`openapi`]).
pub fn finish_openapi(doc: OpenApiDoc) -> OpenApiDoc {
    openapi::finish(doc)
}

/// `/api/v1/openapi.json` and `/docs` (`/healthz` and `/metrics` are in [`router`], documented).
pub fn meta_router(doc: OpenApiDoc) -> axum::Router<AppState> {
    // Swagger UI's assets are vendored into the binary: /docs works offline.
    axum::Router::new().merge(utoipa_swagger_ui::SwaggerUi::new("/docs").url("/api/v1/openapi.json", doc))
}

/// What `/healthz` answers while the database answers.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Health {
    /// Always `ok`.
    #[schema(example = "ok")]
    status: String,
}

/// Health for load balancers: 200 while the database answers, no sign-in needed.
///
/// Otherwise a 503 problem that keeps the cause (which may name hosts, users or files) in the
/// server log.
#[utoipa::path(get, path = "/healthz", tag = "meta", operation_id = "healthz",
    responses((status = 200, body = Health, description = "The database answers"),
        (status = 503, body = crate::error::Problem, description = "The database does not answer; the cause is in the server log")))]
async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(Health { status: "ok".into() })).into_response(),
        Err(e) => ApiError::Unavailable(e.to_string()).into_response(),
    }
}

/// Request counts and latencies per route and status, in Prometheus' text format; no sign-in needed.
#[utoipa::path(get, path = "/metrics", tag = "meta", operation_id = "metrics",
    responses((status = 200, body = String, content_type = "text/plain", description = "Prometheus text exposition format 0.0.4")))]
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}

/// Unknown paths: problem+json under the API, a plain page elsewhere.
pub async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        ApiError::NotFound.into_response()
    } else {
        (StatusCode::NOT_FOUND, Html("<h1>Not found</h1><p><a href=\"/customers\">Back to customers</a></p>")).into_response()
    }
}

/// A method a path does not take: 405 problem+json (the router adds `Allow`).
pub async fn method_not_allowed() -> Response {
    ApiError::MethodNotAllowed.into_response()
}

/// `ETag` for a record version, so clients can send it back as `If-Match`.
pub fn etag(version: i64) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{version}\"")) {
        h.insert(header::ETAG, v);
    }
    h
}

/// A 201 with `Location` and `ETag`.
pub fn created(location: String, version: i64) -> (StatusCode, HeaderMap) {
    let mut h = etag(version);
    if let Ok(v) = HeaderValue::from_str(&location) {
        h.insert(header::LOCATION, v);
    }
    (StatusCode::CREATED, h)
}

/// Query parameters every list takes (documentation; parsed by `ListParams::parse`).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListQuery {
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Full-text search over names, emails, phones and company names; case and accents ignored.
    q: Option<String>,
    /// `name`, `created_at`, `updated_at`, `id` or `relevance` (default with `q`), `-` for descending.
    /// `relevance` ranks the newest 1,000 matches (as CRMs cap search results); any other sort
    /// with `q` pages through every match.
    #[param(pattern = "^-?(name|created_at|updated_at|id|relevance)$")]
    sort: Option<String>,
    /// Only records with this tag.
    tag: Option<String>,
    /// Only records owned by this user.
    owner_id: Option<i64>,
    /// Created at or after (date or RFC 3339).
    created_after: Option<String>,
    /// Created before.
    created_before: Option<String>,
    /// Updated at or after.
    updated_after: Option<String>,
    /// Updated before.
    updated_before: Option<String>,
    /// Incremental sync: everything changed after this time, in commit order, deleted records included as tombstones (`deleted_at` set); the page carries a `sync_token`.
    updated_since: Option<String>,
    /// Incremental sync: everything committed after the poll that returned this token.
    sync_token: Option<String>,
}

/// Filters only people have (documentation).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct PeopleFilters {
    /// Only people at this stage.
    #[param(inline)]
    lifecycle_stage: Option<rapport_domain::customer::LifecycleStage>,
    /// Only leads with this lead status (with `lifecycle_stage=lead`: the lead list).
    #[param(inline)]
    lead_status: Option<rapport_domain::sales::lead::LeadStatus>,
    /// Only people of this company.
    company_id: Option<i64>,
    /// Only the person with this primary email (exact, case ignored).
    email: Option<String>,
    /// Only the person with this id in another system.
    external_id: Option<String>,
    /// Only people in this RFM tier, as the latest `rfm` run named it (`Champions`, `At risk`…).
    rfm_tier: Option<String>,
    /// Only people in this segment (0-based cluster of the latest `segmentation` run).
    segment: Option<i64>,
    /// Only the members of this marketing segment (its rules now, or its list).
    segment_id: Option<i64>,
}

/// The query parameters of `GET /api/v1/customers`: every list's, and people's own filters.
/// Custom fields filter as `custom.<key>=value` (OpenAPI cannot name a family of parameters;
/// the operation's description does).
pub struct CustomerListQuery;

impl IntoParams for CustomerListQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let query = || Some(ParameterIn::Query);
        let mut params = ListQuery::into_params(query);
        params.extend(PeopleFilters::into_params(query));
        params
    }
}

/// A report's query split into whether CSV is asked for (`format=csv`, or `Accept: text/csv`
/// unless `format=json`) and the rest: the report's filter.
pub fn report_format(pairs: &[(String, String)], headers: &axum::http::HeaderMap) -> Result<(Vec<(String, String)>, bool), ApiError> {
    let accept = headers.get(axum::http::header::ACCEPT).and_then(|v| v.to_str().ok());
    let mut csv = accept.is_some_and(|v| v.contains("text/csv"));
    let mut rest = vec![];
    for (k, v) in pairs {
        match (k.as_str(), v.as_str()) {
            ("format", "csv") => csv = true,
            ("format", "json") => csv = false,
            ("format", other) => return Err(ApiError::bad_field("format", format!("'{other}' is not a format: use json or csv"))),
            _ => rest.push((k.clone(), v.clone())),
        }
    }
    Ok((rest, csv))
}

/// Parse errors in a query string are the client's: 400 with every field named.
pub fn bad_query(e: rapport_domain::ValidationErrors) -> ApiError {
    ApiError::BadRequest { detail: e.to_string(), errors: e.0 }
}

/// A list call's errors: what the store refuses about the query (a stale cursor, a filter
/// the object does not have) is a bad request too.
pub fn list_error(e: rapport_store::Error) -> ApiError {
    match e {
        rapport_store::Error::Invalid(v) => bad_query(v),
        other => other.into(),
    }
}

/// What a merge of duplicates (`POST /api/v1/{customers,companies}/{id}/merge`) takes.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeInput {
    /// The records merged into this one (the survivor); each becomes a tombstone naming it.
    pub losers: Vec<i64>,
    /// Per field, the id of the record whose value survives (this record's or a loser's): an
    /// editable field (`name`, `email`, `phone`, `domain`, `address.city`, `owner_id`, `tags`…)
    /// or `custom.<key>`. A field left out keeps this record's value, or a loser's when this one
    /// has none; the lists left out (`tags`, and a person's `additional_emails` and
    /// `additional_phones`) are the union of all, and a person's primary email or phone that
    /// does not survive joins the additional ones.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub fields: std::collections::BTreeMap<String, i64>,
}
