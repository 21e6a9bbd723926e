//! Analytics on the live data: runs over the purchases of the people the caller may see,
//! computed off the request path, recorded with parameters, status and a summary, and written
//! back onto those people as scores (filterable as `rfm_tier=` and `segment=`).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use rapport_analytics::kmeans::{KMeansParams, kmeans};
use rapport_analytics::rfm::{Transaction, rfm, segmentation_features};
use rapport_domain::customer::Purchase;
use rapport_domain::permissions::Actor;
use rapport_store::{AnalyticsRun, PurchaseRow, Score, Store};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{AppJson, CurrentUser, OptionalJson, Path};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(start)).routes(routes!(run)).routes(routes!(purchases, add_purchases))
}

/// Parameters of a run; each analysis reads the ones it needs.
#[derive(Debug, Default, Clone, Deserialize, serde::Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunParams {
    /// Segmentation: number of clusters (2 to 12, default 4).
    pub k: Option<usize>,
    /// Propensity and churn: length of the holdout period in days (default: half the data's span).
    pub horizon_days: Option<i64>,
    /// Association rules: minimum support of an itemset (default 0.01).
    pub min_support: Option<f64>,
    /// Association rules: minimum confidence of a rule (default 0.2).
    pub min_confidence: Option<f64>,
}

/// The kinds of analysis that run on the live data.
const KINDS: [&str; 7] = ["rfm", "segmentation", "propensity", "churn", "association_rules", "forecast", "campaign_effect"];

/// Start an analysis (`rfm`, `segmentation`, `propensity`, `churn`, `association_rules`,
/// `forecast` or `campaign_effect`)
/// over the purchases of the people you may see; answers 202 with the run, whose status to poll
/// at its `Location`. The first four write scores onto people; rules feed recommended products
/// and the forecast feeds the dashboard.
#[utoipa::path(post, path = "/api/v1/analytics/{kind}", tag = "analytics", operation_id = "start_analysis",
    request_body(content = Option<RunParams>, description = "Optional: no body runs with the defaults"), security(("bearer" = [])),
    params(("kind" = String, Path, pattern = "^(rfm|segmentation|propensity|churn|association_rules|forecast|campaign_effect)$", description = "The analysis")),
    responses((status = 202, body = AnalyticsRun, headers(("Location" = String, description = "Where to poll the run")))))]
async fn start(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(kind): Path<String>,
    // The body is optional: no parameters means the defaults.
    OptionalJson(params): OptionalJson<RunParams>,
) -> Result<(StatusCode, HeaderMap, Json<AnalyticsRun>), ApiError> {
    if !KINDS.contains(&kind.as_str()) {
        return Err(ApiError::bad_field("kind", format!("'{kind}' is not an analysis here: use {}", KINDS.join(", "))));
    }
    if params.k.is_some_and(|k| !(2..=12).contains(&k)) {
        return Err(ApiError::Invalid(rapport_domain::ValidationErrors::single("k", "must be from 2 to 12")));
    }
    for (field, v) in [("min_support", params.min_support), ("min_confidence", params.min_confidence)] {
        if v.is_some_and(|v| !(v > 0.0 && v <= 1.0)) {
            return Err(ApiError::Invalid(rapport_domain::ValidationErrors::single(field, "must be above 0 and at most 1")));
        }
    }
    let run = state.store.start_run(&user.actor, &kind, serde_json::to_value(&params).unwrap_or_default()).await?;
    let (store, actor, id) = (state.store.clone(), user.actor.clone(), run.id);
    tokio::spawn(async move {
        let outcome = execute(&store, &actor, id, &kind, &params).await.map_err(|e| e.to_string());
        if let Err(e) = store.finish_run(id, outcome).await {
            tracing::error!(run = id, error = %e, "could not record the end of an analytics run");
        }
    });
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/analytics/runs/{}", run.id)) {
        headers.insert(header::LOCATION, v);
    }
    Ok((StatusCode::ACCEPTED, headers, Json(run)))
}

/// Runs an analysis to the end before returning (the CLI and the demo use this).
pub async fn run_now(store: &Store, actor: &Actor, kind: &str, params: &RunParams) -> Result<AnalyticsRun, ApiError> {
    let run = store.start_run(actor, kind, serde_json::to_value(params).unwrap_or_default()).await?;
    let outcome = execute(store, actor, run.id, kind, params).await.map_err(|e| e.to_string());
    store.finish_run(run.id, outcome).await?;
    Ok(store.get_run(actor, run.id).await?)
}

/// Loads the visible purchases, computes off the async threads, writes the scores back.
async fn execute(store: &Store, actor: &Actor, run: i64, kind: &str, params: &RunParams) -> anyhow::Result<Value> {
    store.run_progress(run, "loading purchases").await?;
    let rows = store.analytics_input(actor).await?;
    store.run_progress(run, &format!("computing over {} purchase lines", rows.len())).await?;
    if kind == "campaign_effect" {
        let campaigns = store.list_campaigns(actor).await?;
        let summary = tokio::task::spawn_blocking(move || campaign_effect(&rows, &campaigns)).await??;
        return Ok(json!({"people_scored": 0, "purchases": summary["purchases"], "summary": summary}));
    }
    let (kind, params) = (kind.to_string(), params.clone());
    let (scores, summary) = tokio::task::spawn_blocking(move || compute(&kind, &rows, &params)).await??;
    store.run_progress(run, &format!("writing {} scores", scores.len())).await?;
    let written = store.write_scores(actor, &scores).await?;
    Ok(json!({"people_scored": written, "purchases": summary["purchases"], "summary": summary}))
}

/// Runs one analysis on purchase rows: the scores per person and a summary.
pub fn compute(kind: &str, rows: &[PurchaseRow], params: &RunParams) -> anyhow::Result<(Vec<(i64, Score)>, Value)> {
    let (k, horizon) = (params.k.unwrap_or(4), params.horizon_days);
    let tx: Vec<Transaction> = rows
        .iter()
        .map(|r| {
            Ok(Transaction {
                invoice: r.invoice.clone(),
                customer_id: r.customer_id.to_string(),
                product: r.product.clone(),
                timestamp: rapport_analytics::dates::parse_timestamp(&r.purchased_at)?,
                amount: r.amount_minor as f64 / 100.0,
            })
        })
        .collect::<Result<_, rapport_analytics::Error>>()?;
    let id = |s: &str| s.parse::<i64>().unwrap_or_default();
    Ok(match kind {
        "rfm" => {
            let table = rfm(&tx)?;
            let scores = table
                .customers
                .iter()
                .map(|c| (id(&c.customer_id), Score::Rfm { cell: c.cell(), tier: c.tier().name().to_string() }))
                .collect();
            (scores, json!({"purchases": rows.len(), "people": table.customers.len()}))
        }
        "segmentation" => {
            let table = rfm(&tx)?;
            let model = kmeans(&segmentation_features(&table), &KMeansParams { k, ..Default::default() })?;
            let scores = table.customers.iter().zip(&model.labels).map(|(c, l)| (id(&c.customer_id), Score::Segment(*l as i64))).collect();
            // A sample of points for the scatter plot: recency, monetary and cluster.
            let step = (table.customers.len() / 600).max(1);
            let points: Vec<Value> =
                table.customers.iter().zip(&model.labels).step_by(step).map(|(c, l)| json!([c.recency, c.monetary, l])).collect();
            let sizes: Vec<usize> = (0..k).map(|j| model.labels.iter().filter(|l| **l == j).count()).collect();
            (
                scores,
                json!({"purchases": rows.len(), "people": table.customers.len(), "k": k, "inertia": model.inertia, "sizes": sizes, "points": points}),
            )
        }
        "association_rules" => {
            // A basket is an invoice's set of products.
            let mut baskets: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
            for t in &tx {
                let b = baskets.entry(&t.invoice).or_default();
                if !b.contains(&t.product) {
                    b.push(t.product.clone());
                }
            }
            let baskets: Vec<Vec<String>> = baskets.into_values().collect();
            let (support, confidence) = (params.min_support.unwrap_or(0.01), params.min_confidence.unwrap_or(0.2));
            let res = rapport_analytics::apriori::association_rules(&baskets, support, confidence)?;
            let mut rules = res.rules.clone();
            rules.sort_by(|a, b| b.lift.total_cmp(&a.lift).then(b.confidence.total_cmp(&a.confidence)));
            let rules: Vec<Value> = rules
                .iter()
                .take(100)
                .map(|r| json!({"antecedents": r.antecedents, "consequents": r.consequents, "support": r.support, "confidence": r.confidence, "lift": r.lift}))
                .collect();
            (vec![], json!({"purchases": rows.len(), "baskets": res.n_baskets, "itemsets": res.itemsets.len(), "rules": rules}))
        }
        "churn" => {
            use rapport_analytics::tree::{TreeParams, churn_tree};
            let model = churn_tree(&tx, horizon, TreeParams::default())?;
            let data = rapport_analytics::propensity::features_before(&tx, horizon)?;
            let scores =
                data.customer_ids.iter().zip(&data.raw).map(|(c, x)| (id(c), Score::Churn(model.tree.predict_proba(x)[1]))).collect();
            let summary = json!({"purchases": rows.len(), "people": data.customer_ids.len(), "test_accuracy": model.test_accuracy,
                "confusion": model.confusion, "depth": model.tree.depth(), "rules": model.tree.rules()});
            (scores, summary)
        }
        "forecast" => {
            use rapport_analytics::series::{Freq, sales_series};
            let series = sales_series(&tx, Some(Freq::Monthly))?;
            // ARIMA with d = 1 and the (p, q) up to 2 of lowest AIC; with two full years of
            // months, Holt-Winters with a yearly season competes on AIC-like grounds (its SSE
            // over the same data) and the seasonal model is reported beside it.
            let fit = rapport_analytics::arima::select_by_aic(&series.values, 1, 2)?;
            let fc = fit.forecast(12, 0.95)?;
            let labels: Vec<String> = series.labels.iter().map(|d| rapport_analytics::dates::format_day(*d)).collect();
            let o = fit.order;
            let mut summary = json!({"purchases": rows.len(), "model": format!("ARIMA({},{},{}) chosen by AIC", o.p, o.d, o.q), "aic": fit.aic, "months": labels,
                "sales": series.values, "forecast": fc.mean, "lower95": fc.lower, "upper95": fc.upper});
            if series.values.len() >= 24 {
                if let Ok(hw) = rapport_analytics::holt_winters::fit_holt_winters(&series.values, 12) {
                    let f = hw.forecast(12, 0.95);
                    summary["holt_winters"] =
                        json!({"period": 12, "sse": hw.sse, "forecast": f.mean, "lower95": f.lower, "upper95": f.upper});
                }
            }
            (vec![], summary)
        }
        _ => {
            let p = rapport_analytics::propensity::propensity(&tx, horizon, 1.0)?;
            let scores = p.customer_ids.iter().zip(&p.p_purchase).map(|(c, v)| (id(c), Score::Propensity(*v))).collect();
            (
                scores,
                json!({"purchases": rows.len(), "people": p.customer_ids.len(), "horizon_days": p.horizon_days, "test_auc": p.test_auc, "test_accuracy": p.test_accuracy}),
            )
        }
    })
}

/// A run's status and summary.
#[utoipa::path(get, path = "/api/v1/analytics/runs/{id}", tag = "analytics", operation_id = "get_analysis_run", security(("bearer" = [])),
    responses((status = 200, body = AnalyticsRun, description = "The run as it stands")))]
async fn run(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<Json<AnalyticsRun>, ApiError> {
    Ok(Json(state.store.get_run(&user.actor, id).await?))
}

/// A person's purchase history, newest first (at most 500 lines).
#[utoipa::path(get, path = "/api/v1/customers/{id}/purchases", tag = "customers", operation_id = "list_customer_purchases",
    security(("bearer" = [])), responses((status = 200, body = Vec<Purchase>, description = "Newest first")))]
async fn purchases(State(state): State<AppState>, user: CurrentUser, Path(id): Path<i64>) -> Result<Json<Vec<Purchase>>, ApiError> {
    Ok(Json(state.store.purchases_of(&user.actor, id, 500).await?))
}

/// Record purchase lines of a person.
#[utoipa::path(post, path = "/api/v1/customers/{id}/purchases", tag = "customers", operation_id = "add_customer_purchases",
    request_body = Vec<Purchase>, security(("bearer" = [])),
    responses((status = 201, body = Vec<Purchase>, headers(("Location" = String, description = "The person's purchase history")))))]
async fn add_purchases(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    AppJson(lines): AppJson<Vec<Purchase>>,
) -> Result<(StatusCode, HeaderMap, Json<Vec<Purchase>>), ApiError> {
    let added = state.store.add_purchases(&user.actor, id, lines).await?;
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/customers/{id}/purchases")) {
        headers.insert(header::LOCATION, v);
    }
    Ok((StatusCode::CREATED, headers, Json(added)))
}

/// Products to suggest to someone who bought `bought`: consequents of the rules whose
/// antecedents they all bought, best lift first, without what they already have.
pub fn recommend(rules: &Value, bought: &[String]) -> Vec<(String, f64, f64)> {
    let mut out: Vec<(String, f64, f64)> = Vec::new();
    for r in rules.as_array().into_iter().flatten() {
        let list = |k: &str| {
            r[k].as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect::<Vec<_>>()).unwrap_or_default()
        };
        if !list("antecedents").iter().all(|a| bought.contains(a)) {
            continue;
        }
        for c in list("consequents") {
            if !bought.contains(&c) && !out.iter().any(|(p, _, _)| *p == c) {
                out.push((c, r["confidence"].as_f64().unwrap_or(0.0), r["lift"].as_f64().unwrap_or(0.0)));
            }
        }
    }
    out.truncate(5);
    out
}

/// The effect of marketing on sales: monthly sales regressed (OLS) on that month's campaign
/// spend (in thousands) and its leading channel (the channel with the most spend, as dummies
/// against the first in alphabetical order; `none` for months without campaigns).
pub fn campaign_effect(rows: &[PurchaseRow], campaigns: &[rapport_domain::campaign::Campaign]) -> anyhow::Result<Value> {
    use std::collections::BTreeMap;
    let mut sales: BTreeMap<String, f64> = BTreeMap::new();
    for r in rows {
        *sales.entry(r.purchased_at.get(..7).unwrap_or("").to_string()).or_default() += r.amount_minor as f64 / 100.0;
    }
    let mut spend: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    for c in campaigns {
        for (month, amount) in c.spend_by_month() {
            *spend.entry(month).or_default().entry(c.channel.clone()).or_default() += amount;
        }
    }
    let months: Vec<&String> = sales.keys().collect();
    let y: Vec<f64> = months.iter().map(|m| sales[*m]).collect();
    let budget: Vec<f64> = months.iter().map(|m| spend.get(*m).map_or(0.0, |s| s.values().sum::<f64>()) / 1000.0).collect();
    let lead: Vec<String> = months
        .iter()
        .map(|m| {
            spend.get(*m).and_then(|s| s.iter().max_by(|a, b| a.1.total_cmp(b.1)).map(|(c, _)| c.clone())).unwrap_or_else(|| "none".into())
        })
        .collect();
    let design = rapport_analytics::ols::design_matrix(true, &[("budget_k", &budget)], &[("channel", &lead)])?;
    if y.len() < design.names.len() + 2 {
        anyhow::bail!(
            "{} months of sales are too few to estimate {} coefficients: record more purchases or fewer channels",
            y.len(),
            design.names.len()
        );
    }
    let fit = rapport_analytics::ols::ols(&y, &design)?;
    let coefficients: Vec<Value> = fit
        .names
        .iter()
        .enumerate()
        .map(|(i, n)| json!({"name": n, "coef": fit.coef[i], "std_err": fit.std_err[i], "t": fit.t[i], "p": fit.p[i]}))
        .collect();
    Ok(json!({"purchases": rows.len(), "months": y.len(), "coefficients": coefficients, "r_squared": fit.r_squared,
        "adj_r_squared": fit.adj_r_squared, "f_p_value": fit.f_p_value}))
}
