//! `/api/v1/reports/…`: the sales reports, each as JSON or as CSV (`?format=csv` or
//! `Accept: text/csv`), each narrowed by the same filter (see
//! [`rapport_domain::sales::report`] for what each one counts).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use rapport_domain::sales::report::{CycleRow, FunnelRow, LeaderRow, MonthlySalesRow, PipelineRow, Report, ReportFilter, WinRateRow};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::super::bad_query;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{CurrentUser, QueryPairs};
use crate::sales::reports::{Rendered, ReportError, ReportKind, report};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(pipeline))
        .routes(routes!(win_rate))
        .routes(routes!(cycle_length))
        .routes(routes!(funnel))
        .routes(routes!(leaderboard))
        .routes(routes!(monthly_sales))
}

/// How a report is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
enum Format {
    /// `{"from", "to", "rows"}`.
    Json,
    /// A header row, then one line per row.
    Csv,
}

/// The parameters every report takes (documentation; read by [`ReportFilter::parse`]).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ReportQuery {
    /// A month (`2026-07`) or a quarter (`2026-Q3`), instead of `from`/`to`.
    #[param(pattern = "^[0-9]{4}-([0-9]{2}|[Qq][1-4])$")]
    period: Option<String>,
    /// First day counted (YYYY-MM-DD, UTC).
    #[param(format = Date)]
    from: Option<String>,
    /// Last day counted, included.
    #[param(format = Date)]
    to: Option<String>,
    /// Only records owned by this user.
    #[param(minimum = 1)]
    owner_id: Option<i64>,
    /// Only records owned by members of this team.
    #[param(minimum = 1)]
    team_id: Option<i64>,
    /// Only this pipeline's opportunities.
    #[param(minimum = 1)]
    pipeline_id: Option<i64>,
    /// `json` (the default) or `csv`; `Accept: text/csv` asks for CSV too.
    #[param(inline)]
    format: Option<Format>,
}

/// The filter and whether CSV was asked for.
fn read(pairs: &[(String, String)], headers: &HeaderMap) -> Result<(ReportFilter, bool), ApiError> {
    let (rest, csv) = crate::api::report_format(pairs, headers)?;
    Ok((ReportFilter::parse(&rest).map_err(bad_query)?, csv))
}

/// Report `kind` as the request asks for it.
async fn respond(
    state: &AppState,
    user: &CurrentUser,
    kind: ReportKind,
    pairs: &[(String, String)],
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let (f, csv) = read(pairs, headers)?;
    match report(&state.store, &user.actor, kind, &f, csv).await {
        Ok(Rendered::Json(v)) => Ok(Json(v).into_response()),
        Ok(Rendered::Csv(body)) => {
            let mut res = body.into_response();
            res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
            Ok(res)
        }
        Err(ReportError::Store(e)) => Err(e.into()),
        Err(e @ ReportError::Csv(_)) => Err(ApiError::Internal(e.to_string())),
    }
}

/// Pipeline by stage: per pipeline, stage and currency, the live opportunities (count, amount,
/// and amount weighted by the stage's win probability), closed stages included. The span
/// narrows by expected close day. The model-weighted pipeline is
/// `GET /api/v1/pipelines/{id}/win_probability` (it fits a model, so it is not summed here).
#[utoipa::path(get, path = "/api/v1/reports/pipeline", tag = "reports", operation_id = "report_pipeline", params(ReportQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "The rows, by pipeline and stage order", content((Report<PipelineRow> = "application/json"), (String = "text/csv")))))]
async fn pipeline(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    QueryPairs(pairs): QueryPairs,
) -> Result<Response, ApiError> {
    respond(&state, &user, ReportKind::Pipeline, &pairs, &headers).await
}

/// Win rate: won and lost deals closed in the span (by close day) per owner, best rate first,
/// and a last row `All` with the total.
#[utoipa::path(get, path = "/api/v1/reports/win_rate", tag = "reports", operation_id = "report_win_rate", params(ReportQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "One row per owner, then the total", content((Report<WinRateRow> = "application/json"), (String = "text/csv")))))]
async fn win_rate(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    QueryPairs(pairs): QueryPairs,
) -> Result<Response, ApiError> {
    respond(&state, &user, ReportKind::WinRate, &pairs, &headers).await
}

/// Average cycle length of the deals closed in the span: from creation (the first entry of the
/// stage history) to the close, for won, lost and all.
#[utoipa::path(get, path = "/api/v1/reports/cycle_length", tag = "reports", operation_id = "report_cycle_length", params(ReportQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "Rows `won`, `lost` and `all`", content((Report<CycleRow> = "application/json"), (String = "text/csv")))))]
async fn cycle_length(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    QueryPairs(pairs): QueryPairs,
) -> Result<Response, ApiError> {
    respond(&state, &user, ReportKind::CycleLength, &pairs, &headers).await
}

/// Stage-to-stage conversion funnel of the deals created in the span (by the first entry of their
/// stage history): per pipeline step (open
/// stages in order, then won), how many reached it or a later one by their stage history, and
/// the share of those that reached the next.
#[utoipa::path(get, path = "/api/v1/reports/funnel", tag = "reports", operation_id = "report_funnel", params(ReportQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "One row per step of each pipeline", content((Report<FunnelRow> = "application/json"), (String = "text/csv")))))]
async fn funnel(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    QueryPairs(pairs): QueryPairs,
) -> Result<Response, ApiError> {
    respond(&state, &user, ReportKind::Funnel, &pairs, &headers).await
}

/// Leaderboard of reps against target: per rep and currency, deals won in the span and their
/// amount, against the rep's `won_opportunities` targets whose periods lie in the span;
/// best attainment first, reps without a target last.
#[utoipa::path(get, path = "/api/v1/reports/leaderboard", tag = "reports", operation_id = "report_leaderboard", params(ReportQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "One row per rep and currency", content((Report<LeaderRow> = "application/json"), (String = "text/csv")))))]
async fn leaderboard(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    QueryPairs(pairs): QueryPairs,
) -> Result<Response, ApiError> {
    respond(&state, &user, ReportKind::Leaderboard, &pairs, &headers).await
}

/// Monthly sales: per UTC month and currency, the orders paid in the span (paid or shipped
/// since, by the day they were paid), their net revenue (after discounts, before tax) and their
/// distinct customers. `pipeline_id` does not apply.
#[utoipa::path(get, path = "/api/v1/reports/monthly_sales", tag = "reports", operation_id = "report_monthly_sales", params(ReportQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "One row per month and currency, oldest first", content((Report<MonthlySalesRow> = "application/json"), (String = "text/csv")))))]
async fn monthly_sales(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    QueryPairs(pairs): QueryPairs,
) -> Result<Response, ApiError> {
    respond(&state, &user, ReportKind::MonthlySales, &pairs, &headers).await
}
