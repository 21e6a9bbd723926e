//! The computations behind each run, on the purchase history already loaded: pure functions
//! of the purchases (and campaigns), so they run on a blocking thread and are tested without a
//! database. Also what the person page derives from a finished run (recommended products).

use rapport_analytics::kmeans::{KMeansParams, kmeans};
use rapport_analytics::rfm::{Transaction, rfm, segmentation_features};
use rapport_domain::analytics::{RunKind, RunParams};
use rapport_domain::marketing::campaigns::Campaign;
use rapport_store::{PurchaseHistory, Score};
use serde_json::{Value, json};

use super::Error;

/// Runs one analysis on the purchase history (and, for the campaign effect, the campaigns):
/// the scores per person (none for the analyses that only read) and a summary.
pub fn compute(
    kind: RunKind,
    history: &PurchaseHistory,
    campaigns: &[Campaign],
    params: &RunParams,
) -> Result<(Vec<(i64, Score)>, Value), Error> {
    let (k, horizon) = (params.k.unwrap_or(4), params.horizon_days);
    // The analytics crate's rows, built for this run only: the batch shares the compact history.
    let tx: Vec<Transaction> = (0..history.len())
        .map(|i| Transaction {
            invoice: history.order_id[i].to_string(),
            customer_id: history.customer_id[i].to_string(),
            product: history.product_name(i).to_string(),
            timestamp: history.paid_at[i],
            amount: history.amount_minor[i] as f64 / 100.0,
        })
        .collect();
    let id = |s: &str| s.parse::<i64>().unwrap_or_default();
    Ok(match kind {
        RunKind::Rfm => {
            let table = rfm(&tx)?;
            let scores = table
                .customers
                .iter()
                .map(|c| (id(&c.customer_id), Score::Rfm { cell: c.cell(), tier: c.tier().name().to_string() }))
                .collect();
            (scores, json!({"purchases": history.len(), "people": table.customers.len()}))
        }
        RunKind::Segmentation => {
            let table = rfm(&tx)?;
            let model = kmeans(&segmentation_features(&table), &KMeansParams { k, ..Default::default() })?;
            let scores = table.customers.iter().zip(&model.labels).map(|(c, l)| (id(&c.customer_id), Score::Segment(*l as i64))).collect();
            // A sample of points for the scatter plot: recency, monetary and cluster.
            let step = (table.customers.len() / 600).max(1);
            let points: Vec<Value> =
                table.customers.iter().zip(&model.labels).step_by(step).map(|(c, l)| json!([c.recency, c.monetary, l])).collect();
            let sizes: Vec<usize> = (0..k).map(|j| model.labels.iter().filter(|l| **l == j).count()).collect();
            // Names read from the centres ("recent, frequent, high spend"), stored by the job.
            let names = rapport_analytics::cluster_names::cluster_names(&model.centroids);
            (
                scores,
                json!({"purchases": history.len(), "people": table.customers.len(), "k": k, "inertia": model.inertia, "sizes": sizes,
                    "points": points, "names": names}),
            )
        }
        RunKind::AssociationRules => {
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
            (vec![], json!({"purchases": history.len(), "baskets": res.n_baskets, "itemsets": res.itemsets.len(), "rules": rules}))
        }
        RunKind::Churn => {
            use rapport_analytics::tree::{TreeParams, churn_tree};
            let model = churn_tree(&tx, horizon, TreeParams::default())?;
            let data = rapport_analytics::propensity::features_before(&tx, horizon)?;
            let scores =
                data.customer_ids.iter().zip(&data.raw).map(|(c, x)| (id(c), Score::Churn(model.tree.predict_proba(x)[1]))).collect();
            let summary = json!({"purchases": history.len(), "people": data.customer_ids.len(), "test_accuracy": model.test_accuracy,
                "confusion": model.confusion, "depth": model.tree.depth(), "rules": model.tree.rules()});
            (scores, summary)
        }
        RunKind::Forecast => {
            use rapport_analytics::series::{Freq, sales_series};
            let series = sales_series(&tx, Some(Freq::Monthly))?;
            // ARIMA with d = 1 and the (p, q) up to 2 of lowest AIC; with two full years of
            // months, Holt-Winters with a yearly season competes on AIC-like grounds (its SSE
            // over the same data) and the seasonal model is reported beside it.
            let fit = rapport_analytics::arima::select_by_aic(&series.values, 1, 2)?;
            let fc = fit.forecast(12, 0.95)?;
            let labels: Vec<String> = series.labels.iter().map(|d| rapport_analytics::dates::format_day(*d)).collect();
            let o = fit.order;
            let mut summary = json!({"purchases": history.len(), "model": format!("ARIMA({},{},{}) chosen by AIC", o.p, o.d, o.q), "aic": fit.aic, "months": labels,
                "sales": series.values, "forecast": fc.mean, "lower95": fc.lower, "upper95": fc.upper});
            if series.values.len() >= 24
                && let Ok(hw) = rapport_analytics::holt_winters::fit_holt_winters(&series.values, 12)
            {
                let f = hw.forecast(12, 0.95);
                summary["holt_winters"] = json!({"period": 12, "sse": hw.sse, "forecast": f.mean, "lower95": f.lower, "upper95": f.upper});
            }
            (vec![], summary)
        }
        RunKind::CampaignEffect => (vec![], campaign_effect(history, campaigns)?),
        RunKind::Propensity => {
            let p = rapport_analytics::propensity::propensity(&tx, horizon, 1.0)?;
            let scores = p.customer_ids.iter().zip(&p.p_purchase).map(|(c, v)| (id(c), Score::Propensity(*v))).collect();
            (
                scores,
                json!({"purchases": history.len(), "people": p.customer_ids.len(), "horizon_days": p.horizon_days, "test_auc": p.test_auc, "test_accuracy": p.test_accuracy}),
            )
        }
    })
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
pub fn campaign_effect(history: &PurchaseHistory, campaigns: &[Campaign]) -> Result<Value, Error> {
    use std::collections::BTreeMap;
    let mut by_month: BTreeMap<(i64, u32), f64> = BTreeMap::new();
    for (at, amount) in history.paid_at.iter().zip(&history.amount_minor) {
        let (y, m, _) = rapport_analytics::dates::civil_from_days(rapport_analytics::dates::day_of(*at));
        *by_month.entry((y, m)).or_default() += *amount as f64 / 100.0;
    }
    let sales: BTreeMap<String, f64> = by_month.into_iter().map(|((y, m), v)| (format!("{y:04}-{m:02}"), v)).collect();
    let mut spend: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    for c in campaigns {
        for (month, amount) in c.data.spend_by_month() {
            *spend.entry(month).or_default().entry(c.data.channel.clone()).or_default() += amount;
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
        return Err(Error::Data(format!(
            "{} months of sales are too few to estimate {} coefficients: record more purchases or fewer channels",
            y.len(),
            design.names.len()
        )));
    }
    let fit = rapport_analytics::ols::ols(&y, &design)?;
    let coefficients: Vec<Value> = fit
        .names
        .iter()
        .enumerate()
        .map(|(i, n)| json!({"name": n, "coef": fit.coef[i], "std_err": fit.std_err[i], "t": fit.t[i], "p": fit.p[i]}))
        .collect();
    Ok(json!({"purchases": history.len(), "months": y.len(), "coefficients": coefficients, "r_squared": fit.r_squared,
        "adj_r_squared": fit.adj_r_squared, "f_p_value": fit.f_p_value}))
}
