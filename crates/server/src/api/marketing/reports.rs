//! `/api/v1/reports/marketing/…`: the marketing reports (see
//! [`rapport_domain::marketing::reports`] for what each counts) as JSON or CSV (`?format=csv`
//! or `Accept: text/csv`), narrowed by period and channel: per campaign, per channel, over
//! time, and the attribution of revenue to campaigns under each model.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use rapport_domain::marketing::reports::{AttributionRow, CampaignRow, ChannelRow, MarketingFilter, OverTimeRow};
use rapport_domain::sales::report::Report;
use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::bad_query;
use crate::error::ApiError;
use crate::extract::{CurrentUser, QueryPairs};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(campaigns)).routes(routes!(channels)).routes(routes!(over_time)).routes(routes!(attribution))
}

/// The parameters every marketing report takes (documentation; read by [`MarketingFilter::parse`]).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct MarketingReportQuery {
    /// A month (`2026-07`) or a quarter (`2026-Q3`), instead of `from`/`to`.
    period: Option<String>,
    /// First day (YYYY-MM-DD, UTC): campaigns whose dates reach it; over time, events from it.
    #[param(format = Date)]
    from: Option<String>,
    /// Last day, included.
    #[param(format = Date)]
    to: Option<String>,
    /// Only campaigns of this channel (`email`, `sms`, `social`, `event`, `paid_ads`, `other`).
    channel: Option<String>,
    /// Only this campaign.
    #[param(minimum = 1)]
    campaign_id: Option<i64>,
    /// The attribution model of revenue and ROI: `first_touch`, `last_touch` (default) or `linear`.
    model: Option<String>,
    /// Days before a payment in which a response counts (1–365, default 30).
    #[param(minimum = 1, maximum = 365)]
    window_days: Option<i64>,
    /// Over time: `week` (default) or `month`.
    interval: Option<String>,
    /// `json` (the default) or `csv`; `Accept: text/csv` asks for CSV too.
    format: Option<String>,
}

fn read(pairs: &[(String, String)], headers: &HeaderMap) -> Result<(MarketingFilter, bool), ApiError> {
    let (rest, csv) = crate::api::report_format(pairs, headers)?;
    Ok((MarketingFilter::parse(&rest).map_err(bad_query)?, csv))
}

/// `prefix_key → value` for every leaf of `v`.
fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                flatten(&if prefix.is_empty() { k.clone() } else { format!("{prefix}_{k}") }, x, out);
            }
        }
        Value::Null => out.push((prefix.to_string(), String::new())),
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

/// The rows as CSV, one column per leaf field (nested ones as `outer_inner`); `header` when
/// there are none.
fn csv_of<T: Serialize>(rows: &[T], header: &[&str]) -> Result<Response, ApiError> {
    let bad = |e: csv::Error| ApiError::Internal(format!("csv: {e}"));
    let mut w = csv::Writer::from_writer(vec![]);
    if rows.is_empty() {
        w.write_record(header).map_err(bad)?;
    }
    for (i, r) in rows.iter().enumerate() {
        let mut cells = vec![];
        flatten("", &serde_json::to_value(r).unwrap_or_default(), &mut cells);
        if i == 0 {
            w.write_record(cells.iter().map(|c| c.0.as_str())).map_err(bad)?;
        }
        w.write_record(cells.iter().map(|c| c.1.as_str())).map_err(bad)?;
    }
    let body = w.into_inner().map_err(|e| ApiError::Internal(format!("csv: {e}")))?;
    let mut res = body.into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    Ok(res)
}

fn answer<T: Serialize>(
    f: &MarketingFilter,
    csv: bool,
    rows: &[T],
    header: &[&str],
    extra: Map<String, Value>,
) -> Result<Response, ApiError> {
    if csv {
        return csv_of(rows, header);
    }
    let mut out = json!({"from": f.from.map(|d| d.to_string()), "to": f.to.map(|d| d.to_string()), "rows": rows});
    if let Some(o) = out.as_object_mut() {
        o.extend(extra);
    }
    Ok(Json(out).into_response())
}

fn model(f: &MarketingFilter) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("model".into(), serde_json::to_value(f.model).unwrap_or_default());
    m.insert("window_days".into(), f.window_days.into());
    m
}

/// Per campaign: reach, sent, delivered, bounced, opened, clicked (human only), responded and
/// converted, with delivery, bounce, open and click rates (over sent or delivered) and response
/// and conversion rates (over reach, in percent); actual spend, cost per lead and per
/// acquisition; attributed revenue and ROI under `model`.
#[utoipa::path(get, path = "/api/v1/reports/marketing/campaigns", tag = "reports", operation_id = "report_marketing_campaigns",
    params(MarketingReportQuery), security(("bearer" = [])),
    responses((status = 200, description = "`{from, to, model, window_days, rows}`", content((Report<CampaignRow> = "application/json"), (String = "text/csv")))))]
async fn campaigns(
    State(s): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    QueryPairs(p): QueryPairs,
) -> Result<Response, ApiError> {
    let (f, csv) = read(&p, &headers)?;
    let rows = s.store.marketing_campaigns(&user.actor, &f).await?;
    answer(&f, csv, &rows, &["campaign_id", "name", "channel", "currency", "reach"], model(&f))
}

/// The campaigns report added up per channel (and currency).
#[utoipa::path(get, path = "/api/v1/reports/marketing/channels", tag = "reports", operation_id = "report_marketing_channels",
    params(MarketingReportQuery), security(("bearer" = [])),
    responses((status = 200, description = "`{from, to, model, window_days, rows}`", content((Report<ChannelRow> = "application/json"), (String = "text/csv")))))]
async fn channels(
    State(s): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    QueryPairs(p): QueryPairs,
) -> Result<Response, ApiError> {
    let (f, csv) = read(&p, &headers)?;
    let rows = s.store.marketing_channels(&user.actor, &f).await?;
    answer(&f, csv, &rows, &["channel", "currency", "campaigns", "reach"], model(&f))
}

/// Per week (from Monday, UTC) or month: mails sent, bounces, first opens, clicks, responses and
/// conversions then, and the revenue paid then, attributed under `model`.
#[utoipa::path(get, path = "/api/v1/reports/marketing/over_time", tag = "reports", operation_id = "report_marketing_over_time",
    params(MarketingReportQuery), security(("bearer" = [])),
    responses((status = 200, description = "`{from, to, model, window_days, rows}`", content((Report<OverTimeRow> = "application/json"), (String = "text/csv")))))]
async fn over_time(
    State(s): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    QueryPairs(p): QueryPairs,
) -> Result<Response, ApiError> {
    let (f, csv) = read(&p, &headers)?;
    let rows = s.store.marketing_over_time(&user.actor, &f).await?;
    answer(&f, csv, &rows, &["period", "sent", "bounced", "opened", "clicked", "responded", "converted", "revenue_minor"], model(&f))
}

/// Revenue per campaign under first touch, last touch and linear attribution (orders linked
/// directly, or through a member's click, response or conversion within `window_days` before
/// the payment), its own and rolled up through its child campaigns.
#[utoipa::path(get, path = "/api/v1/reports/marketing/attribution", tag = "reports", operation_id = "report_marketing_attribution",
    params(MarketingReportQuery), security(("bearer" = [])),
    responses((status = 200, description = "`{from, to, model, window_days, rows}`", content((Report<AttributionRow> = "application/json"), (String = "text/csv")))))]
async fn attribution(
    State(s): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    QueryPairs(p): QueryPairs,
) -> Result<Response, ApiError> {
    let (f, csv) = read(&p, &headers)?;
    let rows = s.store.marketing_attribution(&user.actor, &f).await?;
    answer(
        &f,
        csv,
        &rows,
        &["campaign_id", "name", "parent_id", "currency", "first_touch_minor", "last_touch_minor", "linear_minor"],
        model(&f),
    )
}
