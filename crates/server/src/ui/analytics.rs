//! The analytics page: start runs (in the background: the page shows their status and reloads
//! until the one just started ends), see recent ones, the cross-sell rules, model quality and
//! the sales forecast with its 95% band (an SVG drawn here, no chart library).

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use rapport_domain::analytics::{AnalyticsRun, RunKind, RunParams};
use rapport_domain::permissions::{Action, Object};
use serde_json::Value;

use super::{UiUser, render};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Form, Query};

pub(super) fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/analytics", get(page).post(start))
}

struct RuleRow {
    when: String,
    then: String,
    confidence: String,
    lift: String,
}

#[derive(Template)]
#[template(path = "analytics.html")]
struct Page {
    user_name: String,
    csrf: String,
    /// The buttons: (kind, label) of the runs this user may start.
    kinds: Vec<(&'static str, &'static str)>,
    /// Whether the score runs are withheld from this user's buttons.
    scores_withheld: bool,
    /// What happened to the run just started, or why the request was refused.
    notice: Option<String>,
    /// The notice is a refusal.
    refused: bool,
    /// Reload the page in a few seconds: the run just started is still running.
    refresh: bool,
    runs: Vec<AnalyticsRun>,
    rules: Vec<RuleRow>,
    forecast_svg: Option<String>,
    scatter_svg: Option<String>,
    forecast_note: String,
    quality: Vec<(String, String)>,
    tree_rules: Vec<String>,
    /// Campaign effect: (term, coefficient, std. error, p) and the fit's R².
    regression: Vec<(String, String, String, String)>,
    regression_note: String,
    /// The clusters' names with their sizes in the latest segmentation, and the rename forms.
    clusters: super::marketing::ClusterLabels,
    cluster_sizes: Vec<(i64, String)>,
}

impl Page {
    /// One line about a run's outcome.
    fn run_summary(&self, r: &AnalyticsRun) -> String {
        match (&r.result, &r.error) {
            (_, Some(e)) => e.clone(),
            (Some(res), None) => {
                let mut s = format!("{} purchases", res["purchases"]);
                if let Some(n) = res["people_scored"].as_u64().filter(|n| *n > 0) {
                    s.push_str(&format!(", {n} people scored"));
                }
                s
            }
            (None, None) => String::new(),
        }
    }
}

fn join(v: &Value) -> String {
    v.as_array().map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")).unwrap_or_default()
}

/// What each button says.
fn label(kind: RunKind) -> &'static str {
    match kind {
        RunKind::Rfm => "RFM tiers",
        RunKind::Segmentation => "Segments",
        RunKind::Propensity => "Purchase propensity",
        RunKind::Churn => "Churn risk",
        RunKind::AssociationRules => "Cross-sell rules",
        RunKind::Forecast => "Sales forecast",
        RunKind::CampaignEffect => "Campaign effect",
    }
}

async fn page(State(state): State<AppState>, user: UiUser, Query(q): Query<HashMap<String, String>>) -> Result<Response, ApiError> {
    // `?run=ID`: the run just started from this page.
    let started = match q.get("run").and_then(|v| v.parse::<i64>().ok()) {
        Some(id) => match state.store.get_run(user.actor(), id).await {
            Ok(run) => Some(run),
            Err(rapport_store::Error::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let refresh = started.as_ref().is_some_and(|r| r.status == "running");
    let notice = started.map(|r| match r.status.as_str() {
        "running" => format!(
            "Run #{} ({}) is running{}: this page reloads every few seconds until it ends.",
            r.id,
            r.kind,
            r.progress.map(|p| format!(", {p}")).unwrap_or_default()
        ),
        "done" => format!("Run #{} ({}) is done.", r.id, r.kind),
        _ => format!("Run #{} ({}) failed: {}", r.id, r.kind, r.error.unwrap_or_default()),
    });
    page_with(&state, &user, notice, refresh, StatusCode::OK).await
}

async fn page_with(
    state: &AppState,
    user: &UiUser,
    notice: Option<String>,
    refresh: bool,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let actor = user.actor();
    let runs = state.store.recent_runs(actor, 15).await?;
    let latest = |kind: &'static str| {
        let store = state.store.clone();
        let actor = actor.clone();
        async move { store.latest_run(&actor, kind).await.map(|r| r.and_then(|r| r.result)) }
    };
    let rules = latest("association_rules")
        .await?
        .map(|r| {
            r["summary"]["rules"]
                .as_array()
                .into_iter()
                .flatten()
                .take(20)
                .map(|x| RuleRow {
                    when: join(&x["antecedents"]),
                    then: join(&x["consequents"]),
                    confidence: format!("{:.0} %", x["confidence"].as_f64().unwrap_or(0.0) * 100.0),
                    lift: format!("{:.2}", x["lift"].as_f64().unwrap_or(0.0)),
                })
                .collect()
        })
        .unwrap_or_default();
    let forecast = latest("forecast").await?;
    let forecast_svg = forecast.as_ref().map(|f| forecast_svg(&f["summary"]));
    let forecast_note = forecast
        .map(|f| format!("{}, AIC {:.1}", f["summary"]["model"].as_str().unwrap_or(""), f["summary"]["aic"].as_f64().unwrap_or(0.0)))
        .unwrap_or_default();
    let mut quality = vec![];
    if let Some(p) = latest("propensity").await? {
        let s = &p["summary"];
        quality.push(("Propensity: test ROC AUC".into(), s["test_auc"].as_f64().map(|v| format!("{v:.3}")).unwrap_or("—".into())));
        quality.push((
            "Propensity: test accuracy".into(),
            s["test_accuracy"].as_f64().map(|v| format!("{:.1} %", v * 100.0)).unwrap_or("—".into()),
        ));
        quality.push(("Propensity: people scored".into(), s["people"].to_string()));
    }
    let mut tree_rules = vec![];
    if let Some(c) = latest("churn").await? {
        let s = &c["summary"];
        quality.push((
            "Churn tree: test accuracy".into(),
            s["test_accuracy"].as_f64().map(|v| format!("{:.1} %", v * 100.0)).unwrap_or("—".into()),
        ));
        let m = &s["confusion"];
        quality.push(("Churn tree: confusion (tn fp / fn tp)".into(), format!("{} {} / {} {}", m[0][0], m[0][1], m[1][0], m[1][1])));
        tree_rules = s["rules"].as_array().into_iter().flatten().filter_map(|r| r.as_str().map(str::to_string)).collect();
    }
    let effect = latest("campaign_effect").await?;
    let regression = effect.as_ref().map(regression_rows).unwrap_or_default();
    let regression_note = effect
        .map(|e| {
            format!(
                "{} months; R² {:.3}, adjusted {:.3}",
                e["summary"]["months"],
                e["summary"]["r_squared"].as_f64().unwrap_or(0.0),
                e["summary"]["adj_r_squared"].as_f64().unwrap_or(0.0)
            )
        })
        .unwrap_or_default();
    let segmentation = latest("segmentation").await?;
    let clusters = super::marketing::cluster_labels(state, actor).await?;
    let cluster_sizes: Vec<(i64, String)> = segmentation
        .as_ref()
        .map(|s| s["summary"]["sizes"].as_array().into_iter().flatten().enumerate().map(|(i, n)| (i as i64, n.to_string())).collect())
        .unwrap_or_default();
    let scatter_svg = segmentation.as_ref().map(|s| {
        // The legend names the clusters as people named them.
        let mut summary = s["summary"].clone();
        summary["names"] = cluster_sizes.iter().map(|(i, _)| Value::from(clusters.name(i))).collect();
        scatter_svg(&summary)
    });
    if let Some(s) = segmentation {
        quality.push(("Segmentation: clusters".into(), s["summary"]["k"].to_string()));
        quality.push(("Segmentation: inertia".into(), s["summary"]["inertia"].as_f64().map(|v| format!("{v:.1}")).unwrap_or_default()));
    }
    let may_score = actor.perms.allows(Object::Analytics, Action::Run);
    let page = Page {
        user_name: user.user().name.clone(),
        csrf: user.csrf.clone(),
        kinds: RunKind::ALL.into_iter().filter(|k| may_score || !k.writes_scores()).map(|k| (k.as_str(), label(k))).collect(),
        scores_withheld: !may_score,
        refused: status.is_client_error(),
        notice,
        refresh,
        runs,
        rules,
        forecast_svg,
        scatter_svg,
        forecast_note,
        quality,
        tree_rules,
        regression,
        regression_note,
        clusters,
        cluster_sizes,
    };
    Ok((status, render(&page)).into_response())
}

/// Starts a run from the page's buttons and returns at once, to the page showing its status;
/// an unknown kind or a refused run is shown on the page with what went wrong.
async fn start(State(state): State<AppState>, user: UiUser, Form(form): Form<HashMap<String, String>>) -> Result<Response, ApiError> {
    let kind = match RunKind::parse(form.get("kind").map(String::as_str).unwrap_or_default()) {
        Ok(k) => k,
        Err(e) => return page_with(&state, &user, Some(e.to_string()), false, StatusCode::UNPROCESSABLE_ENTITY).await,
    };
    match crate::analytics::start(&state.store, user.actor(), kind, RunParams::default()).await {
        Ok(run) => Ok(Redirect::to(&format!("/analytics?run={}", run.id)).into_response()),
        Err(rapport_store::Error::Denied(_)) => {
            let why = if kind.writes_scores() {
                format!(
                    "{} writes scores onto everyone's records: it needs the analytics run permission, which your role '{}' lacks.",
                    label(kind),
                    user.user().role
                )
            } else {
                format!("your role '{}' may not read the people {} needs.", user.user().role, label(kind))
            };
            page_with(&state, &user, Some(format!("Not started: {why}")), false, StatusCode::FORBIDDEN).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The campaign-effect run's coefficients as table rows: term, coefficient, standard error, p.
pub fn regression_rows(effect: &Value) -> Vec<(String, String, String, String)> {
    effect["summary"]["coefficients"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let f = |k: &str, d: usize| c[k].as_f64().map(|v| format!("{v:.d$}")).unwrap_or_default();
            (c["name"].as_str().unwrap_or("").to_string(), f("coef", 1), f("std_err", 1), f("p", 4))
        })
        .collect()
}

/// Monthly sales and the forecast with its 95% band, as an SVG.
pub fn forecast_svg(s: &Value) -> String {
    use std::fmt::Write;
    let nums = |k: &str| s[k].as_array().map(|a| a.iter().filter_map(Value::as_f64).collect::<Vec<_>>()).unwrap_or_default();
    let (sales, mean, lower, upper) = (nums("sales"), nums("forecast"), nums("lower95"), nums("upper95"));
    let months: Vec<String> = s["months"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_str().map(|m| m.get(..7).unwrap_or(m).to_string())).collect())
        .unwrap_or_default();
    let n = sales.len() + mean.len();
    if sales.is_empty() || n < 2 {
        return String::new();
    }
    let (w, h, pad) = (860.0, 260.0, 36.0);
    let top = sales.iter().chain(&upper).cloned().fold(1.0_f64, f64::max);
    let x = |i: usize| pad + (w - 2.0 * pad) * i as f64 / (n - 1) as f64;
    let y = |v: f64| h - pad - (h - 2.0 * pad) * v.max(0.0) / top;
    let pts = |start: usize, vals: &[f64]| {
        vals.iter().enumerate().map(|(i, v)| format!("{:.1},{:.1}", x(start + i), y(*v))).collect::<Vec<_>>().join(" ")
    };
    let last = sales.len() - 1;
    let mut band = format!("{:.1},{:.1} ", x(last), y(sales[last]));
    band.push_str(&pts(sales.len(), &upper));
    band.push(' ');
    let low: Vec<String> = lower.iter().enumerate().rev().map(|(i, v)| format!("{:.1},{:.1}", x(sales.len() + i), y(*v))).collect();
    band.push_str(&low.join(" "));
    let mut svg = format!(r#"<svg viewBox="0 0 {w} {h}" width="100%" role="img" aria-label="Monthly sales and forecast" class="chart">"#);
    let _ = write!(svg, r#"<line x1="{pad}" y1="{0}" x2="{1}" y2="{0}" class="axis"/>"#, h - pad, w - pad);
    let _ = write!(svg, r#"<polygon points="{band}" class="band"><title>95% interval</title></polygon>"#);
    let _ = write!(svg, r#"<polyline points="{}" class="history"/>"#, pts(0, &sales));
    let forecast_pts = format!("{:.1},{:.1} {}", x(last), y(sales[last]), pts(sales.len(), &mean));
    let _ = write!(svg, r#"<polyline points="{forecast_pts}" class="forecast"/>"#);
    for (i, label) in [(0, months.first()), (last, months.last())] {
        if let Some(l) = label {
            let _ = write!(svg, r#"<text x="{:.1}" y="{}" class="tick">{l}</text>"#, x(i), h - 12.0);
        }
    }
    let _ = write!(svg, r#"<text x="{:.1}" y="{}" class="tick">+12 months</text>"#, x(n - 1) - 60.0, h - 12.0);
    let _ = write!(svg, r#"<text x="{pad}" y="{}" class="tick">{:.0}</text></svg>"#, pad - 8.0, top);
    svg
}

/// Cluster colours, in label order.
const COLOURS: [&str; 12] =
    ["#3856d6", "#e0712c", "#2f9e62", "#c0392b", "#8e44ad", "#16a2b8", "#b8860b", "#6b7385", "#d63384", "#20c997", "#795548", "#343a40"];

/// Recency against spend for a sample of people, coloured by segment (spend on a log scale,
/// as the clustering sees it).
pub fn scatter_svg(s: &Value) -> String {
    use std::fmt::Write;
    let points: Vec<(f64, f64, usize)> = s["points"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p[0].as_f64()?, p[1].as_f64()?.max(0.0).ln_1p(), p[2].as_u64()? as usize)))
        .collect();
    if points.is_empty() {
        return String::new();
    }
    let (w, h, pad) = (860.0, 260.0, 36.0);
    let max_r = points.iter().map(|p| p.0).fold(1.0_f64, f64::max);
    let max_m = points.iter().map(|p| p.1).fold(1.0_f64, f64::max);
    let mut svg =
        format!(r#"<svg viewBox="0 0 {w} {h}" width="100%" role="img" aria-label="Segments by recency and spend" class="chart">"#);
    let _ = write!(svg, r#"<line x1="{pad}" y1="{0}" x2="{1}" y2="{0}" class="axis"/>"#, h - pad, w - pad);
    for (r, m, c) in &points {
        let (x, y) = (pad + (w - 2.0 * pad) * r / max_r, h - pad - (h - 2.0 * pad) * m / max_m);
        let _ = write!(svg, r#"<circle cx="{x:.1}" cy="{y:.1}" r="3" fill="{}" fill-opacity="0.7"/>"#, COLOURS[c % COLOURS.len()]);
    }
    let _ = write!(svg, r#"<text x="{pad}" y="{}" class="tick">days since last purchase →</text>"#, h - 12.0);
    let _ = write!(svg, r#"<text x="{pad}" y="{}" class="tick">spend (log) ↑</text>"#, pad - 8.0);
    for (i, n) in s["sizes"].as_array().into_iter().flatten().enumerate() {
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{}" class="tick" style="fill:{}">● {}: {n}</text>"#,
            w - pad - 230.0,
            pad + 14.0 * i as f64,
            COLOURS[i % COLOURS.len()],
            super::charts::escape(s["names"][i].as_str().map(String::from).unwrap_or_else(|| format!("segment {i}")).as_str())
        );
    }
    svg.push_str("</svg>");
    svg
}
