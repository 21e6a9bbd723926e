//! `/dashboard`: the sales reports drawn as server-side SVG charts (monthly sales from paid
//! orders, pipeline by stage, win rate, the conversion funnel, the leaderboard against target)
//! with the forecast band of the
//! latest sales forecast run, narrowed by a GET form (period or days, owner, team, pipeline).
//! The numbers are the API's reports (`/api/v1/reports/…`), read through the same store calls,
//! so the page counts only what the signed-in user may see.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use rapport_domain::permissions::Actor;
use rapport_domain::query::ListParams;
use rapport_domain::sales::money::Currency;
use rapport_domain::sales::report::{CycleRow, FunnelRow, LeaderRow, MonthlySalesRow, PipelineRow, ReportFilter, WinRateRow};
use rapport_domain::sales::target::Period;
use serde_json::Value;

use super::money;
use crate::AppState;
use crate::error::ApiError;
use crate::extract::QueryPairs;
use crate::ui::charts::{self, Band, BarLayout, BarSeries, Series};
use crate::ui::records::users;
use crate::ui::{UiUser, render};

pub(super) fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/dashboard", get(page))
}

#[derive(Template)]
#[template(path = "sales_dashboard.html")]
struct DashboardPage {
    user_name: String,
    csrf: String,
    /// The form's values by parameter.
    form: HashMap<String, String>,
    /// What the filter refused, if anything (the page then shows the default span).
    error: Option<String>,
    span: String,
    users: Vec<(i64, String)>,
    teams: Vec<(i64, String)>,
    pipelines: Vec<(i64, String)>,
    /// The currency the charts are drawn in (the tables show every currency).
    currency: String,
    sales_svg: String,
    pipeline_svg: String,
    win_rate_svg: String,
    funnel_svg: String,
    leaderboard_svg: String,
    forecast_svg: Option<String>,
    pipeline: Vec<PipelineRow>,
    win_rate: Vec<WinRateRow>,
    cycle: Vec<CycleRow>,
    funnel: Vec<FunnelRow>,
    leaders: Vec<LeaderRow>,
    sales: Vec<MonthlySalesRow>,
}

impl DashboardPage {
    fn money(&self, minor: &i64, currency: &str) -> String {
        money(*minor, currency)
    }

    fn percent(&self, bp: &Option<i64>) -> String {
        bp.map(|b| format!("{}.{} %", b / 100, b % 100 / 10)).unwrap_or_else(|| "—".into())
    }

    fn is(&self, param: &str, value: &i64) -> bool {
        self.form.get(param).is_some_and(|v| *v == value.to_string())
    }
}

/// The filter the form asks for: on a first visit (no parameters) the current quarter; blank
/// fields are left out, so clearing the period shows everything.
fn filter_of(pairs: &[(String, String)]) -> (HashMap<String, String>, Result<ReportFilter, String>) {
    let mut form: HashMap<String, String> = pairs.iter().filter(|(_, v)| !v.trim().is_empty()).cloned().collect();
    if pairs.is_empty() {
        form.insert("period".into(), Period::quarter_of(chrono::Utc::now().date_naive()).to_string());
    }
    let given: Vec<(String, String)> = form.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let parsed = ReportFilter::parse(&given).map_err(|e| e.to_string());
    (form, parsed)
}

/// Major units of `currency` for the charts' axes.
fn major(minor: i64, currency: &str) -> f64 {
    minor as f64 / Currency::parse(currency).map(|c| c.minor_per_major()).unwrap_or(100) as f64
}

async fn page(State(state): State<AppState>, user: UiUser, QueryPairs(pairs): QueryPairs) -> Result<Response, ApiError> {
    let actor = user.actor();
    let (form, parsed) = filter_of(&pairs);
    let (f, error) = match parsed {
        Ok(f) => (f, None),
        Err(e) => (ReportFilter::default(), Some(e)),
    };
    let store = &state.store;
    let pipeline = store.pipeline_report(actor, &f).await?;
    let win_rate = store.win_rate_report(actor, &f).await?;
    let cycle = store.cycle_report(actor, &f).await?;
    let funnel = store.funnel_report(actor, &f).await?;
    let leaders = store.leaderboard_report(actor, &f).await?;
    let sales = store.monthly_sales_report(actor, &f).await?;
    let pipelines: Vec<(i64, String)> = store
        .list_pipelines(actor, &ListParams { limit: 100, ..ListParams::default() })
        .await?
        .data
        .into_iter()
        .map(|p| (p.id, p.data.name))
        .collect();
    let teams = store.list_teams(actor).await.map(|t| t.into_iter().map(|t| (t.id, t.name)).collect()).unwrap_or_default();
    // The charts show one pipeline (the chosen one, else the first) in one currency (the one
    // with the most open pipeline, else the most won).
    let shown = f.pipeline_id.or(pipelines.first().map(|p| p.0)).unwrap_or(1);
    let mut totals: HashMap<&str, i64> = HashMap::new();
    for r in pipeline.iter().filter(|r| r.outcome == "open") {
        *totals.entry(r.currency.as_str()).or_default() += r.amount_minor;
    }
    for r in &leaders {
        *totals.entry(r.currency.as_str()).or_default() += r.won_minor;
    }
    for r in &sales {
        *totals.entry(r.currency.as_str()).or_default() += r.revenue_minor;
    }
    let currency =
        totals.iter().max_by_key(|(c, n)| (**n, std::cmp::Reverse(**c))).map(|(c, _)| c.to_string()).unwrap_or_else(|| "USD".into());
    let fmt = charts::money(&currency);

    let months: Vec<(String, f64)> =
        sales.iter().filter(|r| r.currency == currency).map(|r| (r.month.clone(), major(r.revenue_minor, &currency))).collect();
    let sales_svg = charts::bar_chart(&format!("Monthly sales, net of discounts ({currency})"), &months, &fmt);
    let open: Vec<&PipelineRow> =
        pipeline.iter().filter(|r| r.pipeline_id == shown && r.outcome == "open" && r.currency == currency).collect();
    let stages: Vec<&str> = open.iter().map(|r| r.stage_name.as_str()).collect();
    let amounts: Vec<f64> = open.iter().map(|r| major(r.amount_minor, &currency)).collect();
    let weighted: Vec<f64> = open.iter().map(|r| major(r.weighted_minor, &currency)).collect();
    let pipeline_svg = charts::grouped_bars(
        &format!("Open pipeline by stage ({currency})"),
        &stages,
        &[BarSeries { name: "Amount", values: &amounts }, BarSeries { name: "Weighted by stage", values: &weighted }],
        BarLayout::Grouped,
        &fmt,
    );
    let rates: Vec<(String, f64)> = win_rate
        .iter()
        .filter(|r| r.owner_id.is_some() || r.owner_name == "Unowned")
        .filter_map(|r| r.win_rate_bp.map(|bp| (r.owner_name.clone(), bp as f64 / 10_000.0)))
        .collect();
    let win_rate_svg = charts::bar_chart("Win rate by owner", &rates, &charts::fmt_percent);
    let steps: Vec<(&str, u64)> =
        funnel.iter().filter(|r| r.pipeline_id == shown).map(|r| (r.stage_name.as_str(), r.reached as u64)).collect();
    let funnel_svg = charts::funnel("Stage-to-stage conversion", &steps);
    let board: Vec<(String, f64, Option<f64>)> = leaders
        .iter()
        .filter(|r| r.currency == currency)
        .map(|r| (r.name.clone(), major(r.won_minor, &currency), r.target_minor.map(|t| major(t, &currency))))
        .collect();
    let leaderboard_svg = charts::hbar(&format!("Won against target ({currency})"), &board, &fmt);
    let forecast_svg = forecast(&state, actor).await?;
    let span = match (f.from, f.to) {
        (None, None) => "all time".to_string(),
        (a, b) => format!(
            "{} to {}",
            a.map(|d| d.to_string()).unwrap_or_else(|| "the start".into()),
            b.map(|d| d.to_string()).unwrap_or_else(|| "now".into())
        ),
    };
    let page = DashboardPage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        form,
        error,
        span,
        users: users(&state, actor).await?,
        teams,
        pipelines,
        currency,
        sales_svg,
        pipeline_svg,
        win_rate_svg,
        funnel_svg,
        leaderboard_svg,
        forecast_svg,
        pipeline,
        win_rate,
        cycle,
        funnel,
        leaders,
        sales,
    };
    Ok(render(&page))
}

/// Monthly sales and the forecast with its 95 % band from the latest sales forecast run the
/// user may read (none until one has run).
async fn forecast(state: &AppState, actor: &Actor) -> Result<Option<String>, ApiError> {
    let run = match state.store.latest_run(actor, "forecast").await {
        Ok(r) => r.and_then(|r| r.result),
        Err(rapport_store::Error::Denied(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let Some(run) = run else { return Ok(None) };
    let s = &run["summary"];
    let nums = |k: &str| s[k].as_array().map(|a| a.iter().filter_map(Value::as_f64).collect::<Vec<_>>()).unwrap_or_default();
    let (sales, mean, lower, upper) = (nums("sales"), nums("forecast"), nums("lower95"), nums("upper95"));
    let months: Vec<String> = s["months"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(|m| m.get(..7).unwrap_or(m).to_string())).collect())
        .unwrap_or_default();
    let (Some(last_month), Some(last_sale)) = (months.last(), sales.last()) else { return Ok(None) };
    // The months after the history, named as the history's are.
    let mut ahead = vec![];
    let mut m = Period::parse(last_month).ok();
    for _ in 0..mean.len() {
        m = m.and_then(Period::next);
        ahead.push(m.map(|p| p.to_string()).unwrap_or_default());
    }
    let history: Vec<(String, f64)> = months.iter().cloned().zip(sales.iter().copied()).collect();
    let mut predicted = vec![(last_month.clone(), *last_sale)];
    predicted.extend(ahead.iter().cloned().zip(mean.iter().copied()));
    let band: Vec<(String, f64, f64)> =
        ahead.iter().cloned().zip(lower.iter().copied().zip(upper.iter().copied())).map(|(m, (l, u))| (m, l, u)).collect();
    Ok(Some(charts::line_chart(
        "Monthly sales and forecast",
        &[Series { name: "Sales", points: &history, dashed: false }, Series { name: "Forecast", points: &predicted, dashed: true }],
        Some(Band { name: "95% interval", points: &band }),
        &charts::fmt_compact,
    )))
}
