//! `/api/v1/reports/service/…`: the service reports (see
//! [`rapport_domain::service::report`] for what each counts), each as JSON or CSV
//! (`?format=csv` or `Accept: text/csv`), each narrowed by period, team, agent, category,
//! priority and company, each number with a link to the tickets behind it; and `compare`,
//! which says whether two agents', teams' or periods' CSAT differ beyond chance.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use rapport_analytics::compare::{CsatComparison, Test, compare_csat};
use rapport_domain::sales::report::Report;
use rapport_domain::service::report::{
    BacklogRow, CsatBucket, CsatReport, NpsReport, ReopenReport, ServiceFilter, Side, TimeRow, TrendRow, percent,
};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::bad_query;
use crate::error::ApiError;
use crate::extract::{CurrentUser, QueryPairs};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(backlog))
        .routes(routes!(times))
        .routes(routes!(csat))
        .routes(routes!(nps))
        .routes(routes!(reopen_rate))
        .routes(routes!(trend))
        .routes(routes!(compare))
}

/// The parameters every service report takes (documentation; read by [`ServiceFilter::parse`]).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ServiceReportQuery {
    /// A month (`2026-07`) or a quarter (`2026-Q3`), instead of `from`/`to`.
    period: Option<String>,
    /// First day counted (YYYY-MM-DD, UTC).
    #[param(format = Date)]
    from: Option<String>,
    /// Last day counted, included.
    #[param(format = Date)]
    to: Option<String>,
    /// Only this team's tickets.
    #[param(minimum = 1)]
    team_id: Option<i64>,
    /// Only this agent's tickets (for CSAT and NPS: the ratings credited to them).
    #[param(minimum = 1)]
    agent_id: Option<i64>,
    /// Only this category.
    category: Option<String>,
    /// Only this priority (`low`, `normal`, `high`, `urgent`).
    priority: Option<String>,
    /// Only this company's tickets.
    #[param(minimum = 1)]
    company_id: Option<i64>,
    /// `json` (the default) or `csv`; `Accept: text/csv` asks for CSV too.
    format: Option<String>,
}

/// The filter and whether CSV was asked for; `also` are the report's own parameters.
fn read(pairs: &[(String, String)], headers: &HeaderMap, also: &[&str]) -> Result<(ServiceFilter, bool), ApiError> {
    let (rest, csv) = crate::api::report_format(pairs, headers)?;
    Ok((ServiceFilter::parse(&rest, also).map_err(bad_query)?, csv))
}

/// The rows as CSV; `header` is written when there are none (serde names the columns otherwise).
fn csv_of<T: Serialize>(rows: &[T], header: &[&str]) -> Result<Response, ApiError> {
    let mut w = csv::Writer::from_writer(vec![]);
    if rows.is_empty() {
        w.write_record(header).map_err(|e| ApiError::Internal(format!("csv: {e}")))?;
    }
    for r in rows {
        w.serialize(r).map_err(|e| ApiError::Internal(format!("csv: {e}")))?;
    }
    let body = w.into_inner().map_err(|e| ApiError::Internal(format!("csv: {e}")))?;
    let mut res = body.into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    Ok(res)
}

/// `{"from", "to", …body}` for JSON, or the rows as CSV.
fn answer<T: Serialize>(f: &ServiceFilter, csv: bool, body: Value, rows: &[T], header: &[&str]) -> Result<Response, ApiError> {
    if csv {
        return csv_of(rows, header);
    }
    let mut out = json!({"from": f.from.map(|d| d.to_string()), "to": f.to.map(|d| d.to_string())});
    if let (Some(o), Value::Object(b)) = (out.as_object_mut(), body) {
        o.extend(b);
    }
    Ok(Json(out).into_response())
}

/// Open backlog: the open tickets (every state but resolved and closed) by age (under 1 day,
/// 1–3, 3–7, 7–30, over 30 days), priority and status, oldest bucket last; the span narrows by
/// creation day.
#[utoipa::path(get, path = "/api/v1/reports/service/backlog", tag = "reports", operation_id = "report_service_backlog",
    params(ServiceReportQuery), security(("bearer" = [])),
    responses((status = 200, description = "`{from, to, rows}`", content((Report<BacklogRow> = "application/json"), (String = "text/csv")))))]
async fn backlog(
    State(s): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    QueryPairs(p): QueryPairs,
) -> Result<Response, ApiError> {
    let (f, csv) = read(&p, &headers, &[])?;
    let rows = s.store.service_backlog(&user.actor, &f).await?;
    answer(&f, csv, json!({"rows": rows}), &rows, &["age", "priority", "status", "count", "link"])
}

/// First-response time (creation to the first public agent reply) and resolution time
/// (creation to the last resolution) of the tickets created in the span: median and 90th
/// percentile, in wall-clock hours (`clock: wall`; business hours arrive with the team
/// calendars).
#[utoipa::path(get, path = "/api/v1/reports/service/times", tag = "reports", operation_id = "report_service_times",
    params(ServiceReportQuery), security(("bearer" = [])),
    responses((status = 200, description = "`{from, to, rows}`", content((Report<TimeRow> = "application/json"), (String = "text/csv")))))]
async fn times(State(s): State<AppState>, user: CurrentUser, headers: HeaderMap, QueryPairs(p): QueryPairs) -> Result<Response, ApiError> {
    let (f, csv) = read(&p, &headers, &[])?;
    let rows = s.store.service_times(&user.actor, &f).await?;
    answer(&f, csv, json!({"rows": rows}), &rows, &[])
}

/// CSAT of the survey answers given in the span: count, average (1–5), percent satisfied
/// (4–5) and the count per rating (the CSV has one line per rating).
#[utoipa::path(get, path = "/api/v1/reports/service/csat", tag = "reports", operation_id = "report_service_csat",
    params(ServiceReportQuery), security(("bearer" = [])),
    responses((status = 200, description = "The CSAT", content((CsatReport = "application/json"), (String = "text/csv")))))]
async fn csat(State(s): State<AppState>, user: CurrentUser, headers: HeaderMap, QueryPairs(p): QueryPairs) -> Result<Response, ApiError> {
    let (f, csv) = read(&p, &headers, &[])?;
    let r = s.store.service_csat(&user.actor, &f).await?;
    let rows: Vec<CsatBucket> = r.distribution.clone();
    answer(&f, csv, serde_json::to_value(&r).unwrap_or_default(), &rows, &[])
}

/// NPS of the survey answers given in the span that rated it: promoters (9–10), passives
/// (7–8), detractors (0–6) and the score (percent promoters minus percent detractors).
#[utoipa::path(get, path = "/api/v1/reports/service/nps", tag = "reports", operation_id = "report_service_nps",
    params(ServiceReportQuery), security(("bearer" = [])),
    responses((status = 200, description = "The NPS", content((NpsReport = "application/json"), (String = "text/csv")))))]
async fn nps(State(s): State<AppState>, user: CurrentUser, headers: HeaderMap, QueryPairs(p): QueryPairs) -> Result<Response, ApiError> {
    let (f, csv) = read(&p, &headers, &[])?;
    let r = s.store.service_nps(&user.actor, &f).await?;
    answer(&f, csv, serde_json::to_value(&r).unwrap_or_default(), std::slice::from_ref(&r), &[])
}

/// Reopen rate: of the tickets resolved in the span (by their last resolution), the share
/// that was reopened at least once.
#[utoipa::path(get, path = "/api/v1/reports/service/reopen_rate", tag = "reports", operation_id = "report_service_reopen_rate",
    params(ServiceReportQuery), security(("bearer" = [])),
    responses((status = 200, description = "The reopen rate", content((ReopenReport = "application/json"), (String = "text/csv")))))]
async fn reopen_rate(
    State(s): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    QueryPairs(p): QueryPairs,
) -> Result<Response, ApiError> {
    let (f, csv) = read(&p, &headers, &[])?;
    let r = s.store.service_reopen_rate(&user.actor, &f).await?;
    answer(&f, csv, serde_json::to_value(&r).unwrap_or_default(), std::slice::from_ref(&r), &[])
}

/// Weekly trend (weeks from Monday, UTC): tickets opened, tickets resolved, and survey answers
/// with their mean rating.
#[utoipa::path(get, path = "/api/v1/reports/service/trend", tag = "reports", operation_id = "report_service_trend",
    params(ServiceReportQuery), security(("bearer" = [])),
    responses((status = 200, description = "`{from, to, rows}`", content((Report<TrendRow> = "application/json"), (String = "text/csv")))))]
async fn trend(State(s): State<AppState>, user: CurrentUser, headers: HeaderMap, QueryPairs(p): QueryPairs) -> Result<Response, ApiError> {
    let (f, csv) = read(&p, &headers, &[])?;
    let rows = s.store.service_trend(&user.actor, &f).await?;
    answer(&f, csv, json!({"rows": rows}), &rows, &["week", "created", "resolved", "csat_count", "csat_average", "link"])
}

/// The parameters of `compare` (besides the filter).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct CompareQuery {
    /// One side: `agent:ID`, `team:ID` or `period:2026-07` (a month or a quarter).
    a: String,
    /// The other side, of the same forms.
    b: String,
}

fn test_json(t: &Result<Test, String>) -> Value {
    match t {
        Ok(t) => json!({"statistic": t.statistic, "df": t.df, "p_value": t.p_value, "significant": t.p_value < 0.05}),
        Err(why) => json!({"undefined": why}),
    }
}

/// The CSAT rating counts of both sides.
async fn sides(
    s: &AppState,
    user: &CurrentUser,
    f: &ServiceFilter,
    p: &[(String, String)],
) -> Result<Vec<(String, ServiceFilter, [i64; 5])>, ApiError> {
    let mut out = vec![];
    for name in ["a", "b"] {
        let raw = p.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let raw = raw.ok_or_else(|| ApiError::bad_field(name, "is required: agent:ID, team:ID or period:YYYY-MM"))?;
        let side = Side::parse(&raw).map_err(|m| ApiError::bad_field(name, m))?;
        let narrowed = side.narrow(f);
        let counts = s.store.csat_counts(&user.actor, &narrowed).await?;
        out.push((raw, narrowed, counts));
    }
    Ok(out)
}

/// Is a difference real? Compares the CSAT of two agents, teams or periods (`a` and `b`; the
/// other filters narrow both): Welch's t-test on the ratings and a chi-square test
/// (Yates-corrected) on satisfied (4–5) against unsatisfied counts, each with its p value, or
/// `undefined` with the reason when the data cannot support it. `significant` means p < 0.05.
#[utoipa::path(get, path = "/api/v1/reports/service/compare", tag = "reports", operation_id = "report_service_compare",
    params(CompareQuery, ServiceReportQuery), security(("bearer" = [])),
    responses((status = 200, description = "`{a, b, welch_t_test, chi_square}` (the CSV: one line per side with both p values)")))]
async fn compare(
    State(s): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    QueryPairs(p): QueryPairs,
) -> Result<Response, ApiError> {
    let (f, csv) = read(&p, &headers, &["a", "b"])?;
    let sides = sides(&s, &user, &f, &p).await?;
    let counts = |c: &[i64; 5]| c.map(|n| u64::try_from(n).unwrap_or(0));
    let c: CsatComparison = compare_csat(&counts(&sides[0].2), &counts(&sides[1].2));
    let group = |(raw, narrowed, n): &(String, ServiceFilter, [i64; 5]), g: &rapport_analytics::compare::Group| {
        json!({
            "side": raw,
            "count": g.n,
            "average": g.mean.map(|m| (m * 100.0).round() / 100.0),
            "satisfied": g.satisfied,
            "satisfied_percent": percent(g.satisfied as i64, g.n as i64),
            "distribution": n,
            "link": narrowed.tickets_link(None, &[]),
        })
    };
    if csv {
        #[derive(Serialize)]
        struct Line<'a> {
            side: &'a str,
            count: u64,
            average: Option<f64>,
            satisfied: u64,
            welch_p_value: Option<f64>,
            chi_square_p_value: Option<f64>,
        }
        let lines: Vec<Line> = sides
            .iter()
            .zip([&c.a, &c.b])
            .map(|(side, g)| Line {
                side: &side.0,
                count: g.n,
                average: g.mean,
                satisfied: g.satisfied,
                welch_p_value: c.welch.as_ref().ok().map(|t| t.p_value),
                chi_square_p_value: c.chi_square.as_ref().ok().map(|t| t.p_value),
            })
            .collect();
        return csv_of(&lines, &[]);
    }
    let body = json!({
        "a": group(&sides[0], &c.a),
        "b": group(&sides[1], &c.b),
        "welch_t_test": test_json(&c.welch),
        "chi_square": test_json(&c.chi_square),
    });
    answer::<()>(&f, false, body, &[], &[])
}
