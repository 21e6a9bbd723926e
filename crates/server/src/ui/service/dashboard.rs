//! `/service`: the service dashboard. The service reports (`/api/v1/reports/service/…`, read
//! through the same store calls, so it counts only what the signed-in user may see) drawn as
//! server-side SVG charts: the open backlog by age and priority, the CSAT distribution,
//! first-response and resolution times, and the weekly trend; narrowed by a GET form, each
//! number linking to the tickets list behind it.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use rapport_domain::service::report::{AGE_BUCKETS, BacklogRow, CsatReport, NpsReport, ReopenReport, ServiceFilter, TimeRow, TrendRow};
use rapport_domain::service::ticket::Priority;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::QueryPairs;
use crate::ui::charts::{self, BarLayout, BarSeries, Series};
use crate::ui::records::users;
use crate::ui::{UiUser, render};

pub(super) fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/service", get(page))
}

#[derive(Template)]
#[template(path = "service_dashboard.html")]
struct DashboardPage {
    user_name: String,
    csrf: String,
    form: HashMap<String, String>,
    error: Option<String>,
    users: Vec<(i64, String)>,
    teams: Vec<(i64, String)>,
    backlog_svg: String,
    csat_svg: String,
    times_svg: String,
    trend_svg: String,
    backlog: Vec<BacklogRow>,
    times: Vec<TimeRow>,
    csat: CsatReport,
    nps: NpsReport,
    reopen: ReopenReport,
    trend: Vec<TrendRow>,
}

impl DashboardPage {
    /// The tickets page behind a report's link (the API's list, in the UI).
    fn ui(&self, link: &str) -> String {
        link.replacen("/api/v1/tickets", "/tickets", 1)
    }

    fn is(&self, param: &str, value: &i64) -> bool {
        self.form.get(param).is_some_and(|v| *v == value.to_string())
    }

    fn chosen(&self, param: &str, value: &str) -> bool {
        self.form.get(param).is_some_and(|v| v == value)
    }

    fn hours(&self, h: &Option<f64>) -> String {
        h.map(|h| format!("{h:.1} h")).unwrap_or_else(|| "—".into())
    }

    fn num(&self, v: &Option<f64>) -> String {
        v.map(|v| format!("{v}")).unwrap_or_else(|| "—".into())
    }
}

async fn page(State(state): State<AppState>, user: UiUser, QueryPairs(pairs): QueryPairs) -> Result<Response, ApiError> {
    let actor = user.actor();
    let form: HashMap<String, String> = pairs.iter().filter(|(_, v)| !v.trim().is_empty()).cloned().collect();
    let given: Vec<(String, String)> = form.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let (f, error) = match ServiceFilter::parse(&given, &[]) {
        Ok(f) => (f, None),
        Err(e) => (ServiceFilter::default(), Some(e.to_string())),
    };
    let store = &state.store;
    let backlog = store.service_backlog(actor, &f).await?;
    let times = store.service_times(actor, &f).await?;
    let csat = store.service_csat(actor, &f).await?;
    let nps = store.service_nps(actor, &f).await?;
    let reopen = store.service_reopen_rate(actor, &f).await?;
    let trend = store.service_trend(actor, &f).await?;

    let ages: Vec<&str> = AGE_BUCKETS.iter().map(|a| a.0).collect();
    let per_priority: Vec<Vec<f64>> = Priority::NAMES
        .iter()
        .map(|p| ages.iter().map(|a| backlog.iter().filter(|r| r.age == *a && r.priority == *p).map(|r| r.count as f64).sum()).collect())
        .collect();
    let series: Vec<BarSeries> = Priority::NAMES.iter().zip(&per_priority).map(|(p, v)| BarSeries { name: p, values: v }).collect();
    let whole = |v: f64| charts::fmt_number(v);
    let backlog_svg = if backlog.is_empty() {
        charts::no_data("Open backlog by age and priority")
    } else {
        charts::grouped_bars("Open backlog by age and priority", &ages, &series, BarLayout::Stacked, &whole)
    };
    let dist: Vec<(String, f64)> = csat.distribution.iter().map(|b| (format!("{} ★", b.rating), b.count as f64)).collect();
    let csat_svg = if csat.count == 0 { charts::no_data("CSAT ratings") } else { charts::bar_chart("CSAT ratings", &dist, &whole) };
    let labels = ["First response", "Resolution"];
    let medians: Vec<f64> = times.iter().map(|t| t.median_hours.unwrap_or(f64::NAN)).collect();
    let p90s: Vec<f64> = times.iter().map(|t| t.p90_hours.unwrap_or(f64::NAN)).collect();
    let hours = |v: f64| format!("{} h", charts::fmt_number(v));
    let times_svg = if times.iter().all(|t| t.count == 0) {
        charts::no_data("Response and resolution times (wall-clock hours)")
    } else {
        charts::grouped_bars(
            "Response and resolution times (wall-clock hours)",
            &labels,
            &[BarSeries { name: "Median", values: &medians }, BarSeries { name: "90th percentile", values: &p90s }],
            BarLayout::Grouped,
            &hours,
        )
    };
    let created: Vec<(&str, f64)> = trend.iter().map(|w| (w.week.as_str(), w.created as f64)).collect();
    let resolved: Vec<(&str, f64)> = trend.iter().map(|w| (w.week.as_str(), w.resolved as f64)).collect();
    let trend_svg = if trend.is_empty() {
        charts::no_data("Tickets per week")
    } else {
        charts::line_chart(
            "Tickets per week",
            &[Series { name: "Opened", points: &created, dashed: false }, Series { name: "Resolved", points: &resolved, dashed: false }],
            None,
            &whole,
        )
    };
    let teams = store.list_teams(actor).await.map(|t| t.into_iter().map(|t| (t.id, t.name)).collect()).unwrap_or_default();
    let page = DashboardPage {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        form,
        error,
        users: users(&state, actor).await?,
        teams,
        backlog_svg,
        csat_svg,
        times_svg,
        trend_svg,
        backlog,
        times,
        csat,
        nps,
        reopen,
        trend,
    };
    Ok(render(&page))
}
