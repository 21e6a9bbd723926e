//! `/api/v1/data_quality`: cleansing people's data with a preview of every change before it is
//! applied, and the data-quality report. The rules are [`rapport_domain::quality`]'s.

use axum::Json;
use axum::extract::State;
use rapport_domain::ValidationErrors;
use rapport_domain::quality::duplicates::DuplicatePair;
use rapport_domain::quality::{CleanPage, CleanRecord, QualityReport};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::list_error;
use crate::error::ApiError;
use crate::extract::{AppJson, CurrentUser, Query};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(clean)).routes(routes!(report)).routes(routes!(duplicates))
}

/// Most records one apply call changes, and most people one preview call reads.
const MAX_APPLY: usize = 1000;
const MAX_SCAN: u32 = 10_000;

/// A person to clean at the version the preview showed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CleanTarget {
    /// The person.
    pub id: i64,
    /// The `version` the preview returned; a person changed since is refused with 412.
    pub version: i64,
}

/// What to clean. With `preview: true` nothing is written: the answer lists, for up to `scan`
/// people after `cursor` (in id order), every change cleansing would make and every value it
/// cannot fix. With `preview: false` the changes are applied to exactly the `records` named,
/// each at the version given, in one transaction, audited like edits by hand.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CleanRequest {
    /// The object to clean; only `customers` (people) for now.
    #[serde(default = "customers")]
    pub object: String,
    /// `true` to see the changes, `false` to apply them.
    pub preview: bool,
    /// Preview only: continue a scan from the `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Preview only: how many people to read, 1 to 10,000 (default 1,000).
    pub scan: Option<u32>,
    /// Apply only: the people to change, 1 to 1,000, as the preview returned them.
    #[serde(default)]
    pub records: Vec<CleanTarget>,
}

fn customers() -> String {
    "customers".into()
}

/// What a clean call did or would do.
#[derive(Debug, Serialize, ToSchema)]
pub struct CleanResult {
    /// Whether this was a preview (nothing written).
    pub preview: bool,
    /// Previewed: the people with findings; applied: the people changed, with their new version.
    pub records: Vec<CleanRecord>,
    /// Preview only: how many people were read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scanned: Option<usize>,
    /// Preview only: pass as `cursor` to read on; `null` at the end.
    pub next_cursor: Option<String>,
}

fn check(req: &CleanRequest) -> Result<(), ApiError> {
    let mut errs = ValidationErrors::default();
    if req.object != "customers" {
        errs.add("object", format!("'{}' cannot be cleaned: only customers can", req.object));
    }
    if req.preview {
        if req.scan.is_some_and(|n| n == 0 || n > MAX_SCAN) {
            errs.add("scan", format!("read 1 to {MAX_SCAN} people per preview"));
        }
        if !req.records.is_empty() {
            errs.add("records", "a preview reads people by cursor; name records only to apply");
        }
    } else {
        if req.records.is_empty() || req.records.len() > MAX_APPLY {
            errs.add("records", format!("name 1 to {MAX_APPLY} people to apply cleansing to, with the versions the preview returned"));
        }
        if req.cursor.is_some() || req.scan.is_some() {
            errs.add("cursor", "cursor and scan belong to previews");
        }
    }
    errs.into_result(()).map_err(ApiError::Invalid)
}

/// Preview or apply cleansing: whitespace trimmed and collapsed, email addresses normalized
/// (lower case, the domain in Unicode), phone numbers to E.164 (read in the person's country,
/// else the server's default region), country names to ISO 3166 alpha-2 codes, names typed in
/// capitals to the case people write. Needs `update` and `pii` on people.
#[utoipa::path(post, path = "/api/v1/data_quality/clean", tag = "data quality", operation_id = "clean_data", request_body = CleanRequest,
    security(("bearer" = [])),
    responses((status = 200, body = CleanResult), (status = 404, description = "A person named in `records` does not exist or is not one you may see"),
        (status = 412, description = "A person named in `records` changed since the preview: nothing was applied; preview again")))]
async fn clean(
    State(state): State<AppState>,
    user: CurrentUser,
    AppJson(req): AppJson<CleanRequest>,
) -> Result<Json<CleanResult>, ApiError> {
    check(&req)?;
    let region = state.config.phone_region;
    if req.preview {
        let CleanPage { records, scanned, next_cursor } =
            state.store.clean_preview(&user.actor, region, req.cursor, req.scan.unwrap_or(1000)).await.map_err(list_error)?;
        return Ok(Json(CleanResult { preview: true, records, scanned: Some(scanned), next_cursor }));
    }
    let targets: Vec<(i64, i64)> = req.records.iter().map(|r| (r.id, r.version)).collect();
    let records = state.store.clean_apply(&user.actor, region, &targets).await?;
    Ok(Json(CleanResult { preview: false, records, scanned: None, next_cursor: None }))
}

/// Which object to report on.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// `customers` (the default) or `companies`.
    pub object: Option<String>,
}

/// The data-quality report: missing and invalid values per field, records cleansing would
/// change, and suspected duplicates (people sharing a normalized email, phone or name).
#[utoipa::path(get, path = "/api/v1/data_quality/report", tag = "data quality", operation_id = "data_quality_report", params(ReportQuery),
    security(("bearer" = [])), responses((status = 200, body = QualityReport)))]
async fn report(State(state): State<AppState>, user: CurrentUser, Query(q): Query<ReportQuery>) -> Result<Json<QualityReport>, ApiError> {
    if let Some(object) = q.object.filter(|o| o != "customers") {
        return Err(ApiError::bad_field("object", format!("'{object}' has no data-quality report: only customers has")));
    }
    Ok(Json(state.store.quality_report(&user.actor, state.config.phone_region).await?))
}

/// Which duplicates to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DuplicatesQuery {
    /// `customers` (the default) or `companies`.
    pub object: Option<String>,
    /// Lowest score listed, 0 to 1 (default 0.3).
    pub min_score: Option<f64>,
    /// Most pairs listed, 1 to 1,000 (default 100).
    pub limit: Option<usize>,
}

/// Pairs of people that may be one person, best first: found by blocking (people sharing an
/// email, a phone number, a name word or all of them in any order are compared) and scored from
/// what they share (email, phone, name similarity by Jaro-Winkler with accents folded, company,
/// city), each with its reasons. Needs `pii` on people. With `object=companies`, pairs of
/// companies: the same domain, email or phone, or names alike once their legal form (Ltd, Inc,
/// GmbH, S.A.…) is left out.
#[utoipa::path(get, path = "/api/v1/duplicates", tag = "data quality", operation_id = "list_duplicates", params(DuplicatesQuery),
    security(("bearer" = [])), responses((status = 200, body = Vec<DuplicatePair>)))]
async fn duplicates(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<DuplicatesQuery>,
) -> Result<Json<Vec<DuplicatePair>>, ApiError> {
    let companies = match q.object.as_deref() {
        None | Some("customers") => false,
        Some("companies") => true,
        Some(other) => {
            return Err(ApiError::bad_field("object", format!("'{other}' has no duplicate detection: customers and companies have")));
        }
    };
    let min_score = q.min_score.unwrap_or(0.3);
    if !(0.0..=1.0).contains(&min_score) {
        return Err(ApiError::bad_field("min_score", "a score between 0 and 1"));
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_field("limit", "list 1 to 1000 pairs"));
    }
    let pairs = if companies {
        state.store.find_company_duplicates(&user.actor, min_score, limit).await?
    } else {
        state.store.find_duplicates(&user.actor, min_score, limit).await?
    };
    Ok(Json(pairs))
}
