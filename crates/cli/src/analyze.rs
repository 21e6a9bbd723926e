//! `rapport analyze KIND --transactions T.csv [--baskets B.csv] --out DIR`: the
//! built-in analytics on plain files, so analysts can use Rapport as a tool without
//! a database. Inputs, definitions and output files follow the reference script
//! `shared/peer/analytics_peer.py` (see `crates/analytics`):
//!
//! - `DIR/customers.csv`: `customer_id,r_score,f_score,m_score,kmeans,dbscan,p_purchase`
//!   (cells of analyses that were not run are empty; `p_purchase` is empty for
//!   customers with no purchase before the propensity split);
//! - `DIR/itemsets.csv`: `items` (joined by ` | `), `len`, `support`;
//! - `DIR/rules.csv`: `antecedents,consequents,support,confidence,lift,leverage,conviction`;
//! - `DIR/forecast.json`: ARIMA(1,1,1) `{"forecast": [..], "ci95_lower", "ci95_upper", "params", ...}`
//!   plus `"holt_winters"` (additive, period 12) when the series has at least 24 months;
//! - `DIR/summary.json`: model quality and parameters of every analysis that ran.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use rapport_analytics::apriori::association_rules;
use rapport_analytics::arima::{Order, fit_arima};
use rapport_analytics::dates::{format_day, parse_timestamp};
use rapport_analytics::dbscan::{DbscanParams, dbscan};
use rapport_analytics::holt_winters::fit_holt_winters;
use rapport_analytics::kmeans::{KMeansParams, kmeans, silhouette};
use rapport_analytics::propensity::propensity;
use rapport_analytics::rfm::{Transaction, rfm, segmentation_features};
use rapport_analytics::series::{Freq, sales_series};
use serde_json::json;

/// Which analysis to run.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnalysisKind {
    /// Every analysis below.
    All,
    /// RFM quintile scores.
    Rfm,
    /// k-means and DBSCAN on the RFM features.
    Segmentation,
    /// Frequent itemsets and association rules.
    #[value(name = "association_rules")]
    AssociationRules,
    /// Purchase propensity (logistic regression).
    Propensity,
    /// ARIMA(1,1,1) sales forecast.
    Forecast,
    /// Churn decision tree (on the database only).
    Churn,
    /// Campaign spend and channel against monthly sales (on the database only).
    #[value(name = "campaign_effect")]
    CampaignEffect,
}

/// How database mode prints its runs.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// One line per analysis.
    Table,
    /// The runs as JSON.
    Json,
    /// One CSV line per analysis.
    Csv,
}

/// Series frequency for the forecast.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FreqArg {
    /// Months when the data spans at least 24 months, else weeks.
    Auto,
    /// Weeks ending on Sunday.
    #[value(name = "W")]
    Weekly,
    /// Calendar months.
    #[value(name = "M")]
    Monthly,
}

/// Arguments of `rapport analyze`.
#[derive(clap::Args, Debug)]
pub struct AnalyzeArgs {
    /// Analysis to run.
    #[arg(value_enum)]
    pub kind: AnalysisKind,
    /// Transactions CSV: invoice,customer_id,product,quantity,unit_price,timestamp[,amount][,country].
    /// Without it, the analysis runs on the database's purchases and writes its scores back.
    #[arg(long, requires = "out")]
    pub transactions: Option<PathBuf>,
    /// Baskets CSV (basket_id,item); default: products grouped by invoice.
    #[arg(long)]
    pub baskets: Option<PathBuf>,
    /// Output directory for file mode (created if missing).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Output of database mode: a table, or the runs as JSON.
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    /// Number of k-means clusters.
    #[arg(long, default_value_t = 4)]
    pub k: usize,
    /// k-means restarts.
    #[arg(long, default_value_t = 10)]
    pub n_init: usize,
    /// Random seed for k-means.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// DBSCAN radius.
    #[arg(long, default_value_t = 0.3)]
    pub dbscan_eps: f64,
    /// DBSCAN minimum neighbourhood size.
    #[arg(long, default_value_t = 20)]
    pub dbscan_min_samples: usize,
    /// Minimum itemset support.
    #[arg(long, default_value_t = 0.02)]
    pub min_support: f64,
    /// Minimum rule confidence.
    #[arg(long, default_value_t = 0.2)]
    pub min_confidence: f64,
    /// Propensity holdout length in days (default: half the data span).
    #[arg(long)]
    pub horizon_days: Option<i64>,
    /// Forecast series frequency.
    #[arg(long, value_enum, default_value = "auto")]
    pub freq: FreqArg,
    /// Forecast horizon in periods.
    #[arg(long, default_value_t = 12)]
    pub steps: usize,
}

/// Per-customer output columns.
#[derive(Default)]
struct Row {
    scores: Option<(u8, u8, u8)>,
    kmeans: Option<usize>,
    dbscan: Option<i64>,
    p_purchase: Option<f64>,
}

/// Run `rapport analyze`.
pub fn run(args: &AnalyzeArgs) -> anyhow::Result<()> {
    let (Some(transactions), Some(out)) = (&args.transactions, &args.out) else {
        bail!("file mode needs --transactions FILE and --out DIR");
    };
    if matches!(args.kind, AnalysisKind::Churn | AnalysisKind::CampaignEffect) {
        bail!("this analysis runs on the database only: leave out --transactions");
    }
    let tx = load_transactions(transactions)?;
    if tx.is_empty() {
        bail!("{}: no transactions with a customer id", transactions.display());
    }
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let kind = args.kind;
    let wants = |k: AnalysisKind| kind == AnalysisKind::All || kind == k;
    let mut summary = serde_json::Map::new();
    summary.insert("input".into(), json!({"transactions": transactions.display().to_string(), "rows": tx.len()}));

    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    let customer_analysis = [AnalysisKind::Rfm, AnalysisKind::Segmentation, AnalysisKind::Propensity].into_iter().any(wants);
    if customer_analysis {
        let table = rfm(&tx).context("RFM")?;
        for c in &table.customers {
            rows.entry(c.customer_id.clone()).or_default();
        }
        let mut tiers: BTreeMap<&str, usize> = BTreeMap::new();
        for c in &table.customers {
            *tiers.entry(c.tier().name()).or_default() += 1;
        }
        let clv_total: f64 = table.customers.iter().map(|c| c.historical_clv()).sum();
        summary.insert(
            "rfm".into(),
            json!({"ref_date": format_day(table.ref_day), "customers": table.customers.len(),
                   "tiers": tiers, "historical_clv_mean": clv_total / table.customers.len() as f64}),
        );
        if wants(AnalysisKind::Rfm) {
            for c in &table.customers {
                rows.get_mut(&c.customer_id).expect("known").scores = Some((c.r_score, c.f_score, c.m_score));
            }
        }
        if wants(AnalysisKind::Segmentation) {
            let x = segmentation_features(&table);
            let params = KMeansParams { k: args.k, n_init: args.n_init, seed: args.seed, ..KMeansParams::default() };
            let mut km = kmeans(&x, &params).context("k-means")?;
            km.canonicalize();
            let db = dbscan(&x, &DbscanParams { eps: args.dbscan_eps, min_samples: args.dbscan_min_samples }).context("DBSCAN")?;
            for ((c, &l), &d) in table.customers.iter().zip(&km.labels).zip(&db) {
                let row = rows.get_mut(&c.customer_id).expect("known");
                row.kmeans = Some(l);
                row.dbscan = Some(d);
            }
            // Silhouette on at most 2,000 evenly spaced customers (it is O(n²)).
            let step = x.len().div_ceil(2000).max(1);
            let idx: Vec<usize> = (0..x.len()).step_by(step).collect();
            let xs: Vec<Vec<f64>> = idx.iter().map(|&i| x[i].clone()).collect();
            let ls: Vec<i64> = idx.iter().map(|&i| km.labels[i] as i64).collect();
            let mut sizes = vec![0usize; args.k];
            for &l in &km.labels {
                sizes[l] += 1;
            }
            let n_db = db.iter().filter(|&&l| l >= 0).max().map_or(0, |m| m + 1);
            summary.insert(
                "kmeans".into(),
                json!({"k": args.k, "n_init": args.n_init, "inertia": km.inertia, "sizes": sizes,
                       "centroids_z": km.centroids, "silhouette_sample": silhouette(&xs, &ls).ok()}),
            );
            summary.insert(
                "dbscan".into(),
                json!({"eps": args.dbscan_eps, "min_samples": args.dbscan_min_samples,
                       "n_clusters": n_db, "noise": db.iter().filter(|&&l| l == -1).count()}),
            );
        }
        if wants(AnalysisKind::Propensity) {
            let p = propensity(&tx, args.horizon_days, 1.0).context("propensity")?;
            for (id, prob) in p.customer_ids.iter().zip(&p.p_purchase) {
                rows.entry(id.clone()).or_default().p_purchase = Some(*prob);
            }
            let n_test = p.is_test.iter().filter(|&&t| t).count();
            summary.insert(
                "logistic".into(),
                json!({"split_date": format_day(p.split_day), "horizon_days": p.horizon_days,
                       "n_train": p.is_test.len() - n_test, "n_test": n_test,
                       "feature_order": ["recency", "frequency", "monetary", "tenure"],
                       "scaler_mean": p.scaler_mean, "scaler_std": p.scaler_std,
                       "coef": p.model.coef, "intercept": p.model.intercept,
                       "test_accuracy": p.test_accuracy, "test_auc": p.test_auc,
                       "test_log_loss": p.test_log_loss}),
            );
        }
        write_customers(&out.join("customers.csv"), &rows)?;
    }

    if wants(AnalysisKind::AssociationRules) {
        let baskets = match &args.baskets {
            Some(path) => load_baskets(path)?,
            None => {
                let mut by_invoice: BTreeMap<&str, Vec<String>> = BTreeMap::new();
                for t in &tx {
                    by_invoice.entry(&t.invoice).or_default().push(t.product.clone());
                }
                by_invoice.into_values().collect()
            }
        };
        let res = association_rules(&baskets, args.min_support, args.min_confidence).context("association rules")?;
        let mut w = csv_writer(&out.join("itemsets.csv"))?;
        w.write_record(["items", "len", "support"])?;
        for s in &res.itemsets {
            w.write_record([s.items.join(" | "), s.items.len().to_string(), s.support.to_string()])?;
        }
        w.flush()?;
        let mut w = csv_writer(&out.join("rules.csv"))?;
        w.write_record(["antecedents", "consequents", "support", "confidence", "lift", "leverage", "conviction"])?;
        for r in &res.rules {
            w.write_record([
                r.antecedents.join(" | "),
                r.consequents.join(" | "),
                r.support.to_string(),
                r.confidence.to_string(),
                r.lift.to_string(),
                r.leverage.to_string(),
                if r.conviction.is_finite() { r.conviction.to_string() } else { "inf".to_string() },
            ])?;
        }
        w.flush()?;
        summary.insert(
            "apriori".into(),
            json!({"min_support": args.min_support, "min_confidence": args.min_confidence,
                   "baskets": res.n_baskets, "n_itemsets": res.itemsets.len(), "n_rules": res.rules.len()}),
        );
    }

    if wants(AnalysisKind::Forecast) {
        let freq = match args.freq {
            FreqArg::Auto => None,
            FreqArg::Weekly => Some(Freq::Weekly),
            FreqArg::Monthly => Some(Freq::Monthly),
        };
        let series = sales_series(&tx, freq).context("sales series")?;
        let order = Order { p: 1, d: 1, q: 1 };
        let fit = fit_arima(&series.values, order).context("ARIMA(1,1,1)")?;
        let fc = fit.forecast(args.steps, 0.95).context("forecast")?;
        let mut doc = json!({
            "order": [1, 1, 1],
            "freq": series.freq.code(),
            "n": series.values.len(),
            "series_start": series.labels.first().map(|&d| format_day(d)),
            "series_end": series.labels.last().map(|&d| format_day(d)),
            "series": series.values,
            "params": {"ar.L1": fit.ar[0], "ma.L1": fit.ma[0], "sigma2": fit.sigma2},
            "aic": fit.aic,
            "llf": fit.llf,
            "forecast": fc.mean,
            "ci95_lower": fc.lower,
            "ci95_upper": fc.upper,
        });
        // A seasonal alternative when there are two full years of months.
        if series.freq == Freq::Monthly && series.values.len() >= 24 {
            let hw = fit_holt_winters(&series.values, 12).context("Holt-Winters")?;
            let f = hw.forecast(args.steps, 0.95);
            doc["holt_winters"] = json!({
                "period": 12, "alpha": hw.smoothing.alpha, "beta": hw.smoothing.beta,
                "gamma": hw.smoothing.gamma, "sse": hw.sse,
                "forecast": f.mean, "pi95_lower": f.lower, "pi95_upper": f.upper,
            });
        }
        let path = out.join("forecast.json");
        fs::write(&path, serde_json::to_string_pretty(&doc)? + "\n").with_context(|| format!("writing {}", path.display()))?;
        summary.insert("arima".into(), json!({"freq": series.freq.code(), "n": series.values.len(), "aic": fit.aic}));
    }

    let path = out.join("summary.json");
    fs::write(&path, serde_json::to_string_pretty(&serde_json::Value::Object(summary))? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    println!("wrote results to {}", out.display());
    Ok(())
}

fn csv_writer(path: &Path) -> anyhow::Result<csv::Writer<fs::File>> {
    csv::Writer::from_path(path).with_context(|| format!("creating {}", path.display()))
}

fn write_customers(path: &Path, rows: &BTreeMap<String, Row>) -> anyhow::Result<()> {
    let mut w = csv_writer(path)?;
    w.write_record(["customer_id", "r_score", "f_score", "m_score", "kmeans", "dbscan", "p_purchase"])?;
    let opt = |v: Option<String>| v.unwrap_or_default();
    for (id, r) in rows {
        w.write_record([
            id.clone(),
            opt(r.scores.map(|s| s.0.to_string())),
            opt(r.scores.map(|s| s.1.to_string())),
            opt(r.scores.map(|s| s.2.to_string())),
            opt(r.kmeans.map(|v| v.to_string())),
            opt(r.dbscan.map(|v| v.to_string())),
            opt(r.p_purchase.map(|v| v.to_string())),
        ])?;
    }
    w.flush()?;
    Ok(())
}

fn column(headers: &csv::StringRecord, name: &str, path: &Path) -> anyhow::Result<usize> {
    headers.iter().position(|h| h.trim() == name).with_context(|| format!("{}: missing column `{name}`", path.display()))
}

/// Read transactions like the reference: rows without a customer id are skipped,
/// `amount` defaults to `quantity * unit_price`.
fn load_transactions(path: &Path) -> anyhow::Result<Vec<Transaction>> {
    let mut r = csv::Reader::from_path(path).with_context(|| format!("opening {}", path.display()))?;
    let h = r.headers()?.clone();
    let inv = column(&h, "invoice", path)?;
    let cid = column(&h, "customer_id", path)?;
    let prod = column(&h, "product", path)?;
    let ts = column(&h, "timestamp", path)?;
    let amount = column(&h, "amount", path).ok();
    let (qty, price) =
        if amount.is_none() { (Some(column(&h, "quantity", path)?), Some(column(&h, "unit_price", path)?)) } else { (None, None) };
    let mut out = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let line = i + 2;
        let rec = rec.with_context(|| format!("{}:{line}", path.display()))?;
        let get = |c: usize| rec.get(c).unwrap_or("").trim();
        let customer = get(cid);
        if customer.is_empty() {
            continue;
        }
        let num = |c: usize, what: &str| -> anyhow::Result<f64> {
            get(c).parse::<f64>().with_context(|| format!("{}:{line}: bad {what} {:?}", path.display(), get(c)))
        };
        let amount = match amount {
            Some(a) => num(a, "amount")?,
            None => num(qty.expect("checked"), "quantity")? * num(price.expect("checked"), "unit_price")?,
        };
        out.push(Transaction {
            invoice: get(inv).to_string(),
            customer_id: customer.to_string(),
            product: get(prod).to_string(),
            timestamp: parse_timestamp(get(ts)).with_context(|| format!("{}:{line}", path.display()))?,
            amount,
        });
    }
    Ok(out)
}

/// Read `basket_id,item` rows into baskets of distinct items.
fn load_baskets(path: &Path) -> anyhow::Result<Vec<Vec<String>>> {
    let mut r = csv::Reader::from_path(path).with_context(|| format!("opening {}", path.display()))?;
    let h = r.headers()?.clone();
    let (b, it) = (column(&h, "basket_id", path)?, column(&h, "item", path)?);
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.with_context(|| format!("{}:{}", path.display(), i + 2))?;
        let item = rec.get(it).unwrap_or("");
        if item.is_empty() {
            continue;
        }
        map.entry(rec.get(b).unwrap_or("").to_string()).or_default().push(item.to_string());
    }
    Ok(map.into_values().collect())
}

/// Database mode: runs the analyses on the purchases in the database as the system (every
/// record), in one batch that reads them once, writes the scores back onto people, and prints
/// the runs.
pub async fn run_live(store: &rapport_store::Store, args: &AnalyzeArgs) -> anyhow::Result<()> {
    use rapport_domain::analytics::{RunKind, RunParams};
    use rapport_server::analytics::run_batch;
    let kinds: &[RunKind] = match args.kind {
        AnalysisKind::All => &RunKind::ALL,
        AnalysisKind::CampaignEffect => &[RunKind::CampaignEffect],
        AnalysisKind::Rfm => &[RunKind::Rfm],
        AnalysisKind::Segmentation => &[RunKind::Segmentation],
        AnalysisKind::Propensity => &[RunKind::Propensity],
        AnalysisKind::Churn => &[RunKind::Churn],
        AnalysisKind::AssociationRules => &[RunKind::AssociationRules],
        AnalysisKind::Forecast => &[RunKind::Forecast],
    };
    let params = RunParams {
        k: Some(args.k),
        horizon_days: args.horizon_days,
        min_support: Some(args.min_support),
        min_confidence: Some(args.min_confidence),
    };
    // One batch: the purchase history is read once for every analysis asked for.
    let bar = indicatif::ProgressBar::new_spinner().with_message(format!("running {} analyses", kinds.len()));
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let runs = run_batch(store, &rapport_domain::permissions::Actor::system(), kinds, &params)
        .await
        .map_err(|e| anyhow::anyhow!("analyze: {e}"))?;
    bar.finish_and_clear();
    match args.format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&runs)?),
        OutputFormat::Csv => {
            let mut w = csv::Writer::from_writer(std::io::stdout());
            w.write_record(["run", "analysis", "status", "purchases", "people_scored", "finished_at"])?;
            for r in &runs {
                let res = r.result.clone().unwrap_or_default();
                let cells = [
                    r.id.to_string(),
                    r.kind.clone(),
                    r.status.clone(),
                    res["purchases"].to_string(),
                    res["people_scored"].to_string(),
                    r.finished_at.clone().unwrap_or_default(),
                ];
                w.write_record(&cells)?;
            }
            w.flush()?;
        }
        OutputFormat::Table => {
            println!("{:<5} {:<18} {:<7} {:>10} {:>8}  detail", "run", "analysis", "status", "purchases", "scored");
            for r in &runs {
                let res = r.result.clone().unwrap_or_default();
                let s = &res["summary"];
                let detail = match r.kind.as_str() {
                    "segmentation" => format!("k={} inertia={:.1}", s["k"], s["inertia"].as_f64().unwrap_or(0.0)),
                    "propensity" => format!("test AUC={}", s["test_auc"].as_f64().map(|v| format!("{v:.3}")).unwrap_or("-".into())),
                    "churn" => format!("test accuracy={:.3}", s["test_accuracy"].as_f64().unwrap_or(0.0)),
                    "association_rules" => format!("{} itemsets, {} rules shown", s["itemsets"], s["rules"].as_array().map_or(0, Vec::len)),
                    "forecast" => format!("next month {:.0}", s["forecast"][0].as_f64().unwrap_or(0.0)),
                    "campaign_effect" => format!("{} months, R² {:.3}", s["months"], s["r_squared"].as_f64().unwrap_or(0.0)),
                    _ => r.error.clone().unwrap_or_default(),
                };
                println!(
                    "{:<5} {:<18} {:<7} {:>10} {:>8}  {}",
                    r.id,
                    r.kind,
                    r.status,
                    res["purchases"].to_string(),
                    res["people_scored"].to_string(),
                    detail
                );
            }
        }
    }
    Ok(())
}
