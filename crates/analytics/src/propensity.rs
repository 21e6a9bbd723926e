//! Purchase propensity: the reference's time split, features and model.
//!
//! Exactly as `analytics_peer.py` defines it: split day `s = ref_day − horizon`
//! (default horizon: half the span in whole days); features from purchases before
//! `s` — recency, frequency, monetary (clipped at 0) and tenure in days — `log1p`
//! then z-scored on the training set; label = any purchase at or after `s`;
//! customers without purchases before `s` are skipped; test set = numeric id
//! `% 4 == 0` (non-numeric ids count as 0), train = the rest; logistic regression
//! with `C = 1`.

use crate::dates::{DAY, day_of};
use crate::error::{Error, Result};
use crate::logistic::{LogisticModel, fit_logistic, log_loss, roc_auc};
use crate::rfm::{Transaction, aggregate, column_mean_std};

/// Result of [`propensity`].
#[derive(Debug, Clone, PartialEq)]
pub struct Propensity {
    /// Split day number.
    pub split_day: i64,
    /// Holdout length in days.
    pub horizon_days: i64,
    /// Customers scored (those with purchases before the split), lexicographic order.
    pub customer_ids: Vec<String>,
    /// Probability of buying in the holdout, per customer.
    pub p_purchase: Vec<f64>,
    /// Whether each customer did buy in the holdout.
    pub label: Vec<bool>,
    /// Whether each customer is in the test set.
    pub is_test: Vec<bool>,
    /// Feature means on the training set (recency, frequency, monetary, tenure).
    pub scaler_mean: Vec<f64>,
    /// Feature standard deviations on the training set.
    pub scaler_std: Vec<f64>,
    /// The fitted model (on z-scored features).
    pub model: LogisticModel,
    /// ROC AUC on the test set.
    pub test_auc: Option<f64>,
    /// Accuracy at 0.5 on the test set.
    pub test_accuracy: f64,
    /// Mean log loss on the test set.
    pub test_log_loss: f64,
}

fn id_number(id: &str) -> i64 {
    id.trim().parse::<i64>().ok().or_else(|| id.trim().parse::<f64>().ok().filter(|v| v.is_finite()).map(|v| v as i64)).unwrap_or(0)
}

/// Customers with purchases before a split day, with their raw and `log1p` features.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitFeatures {
    /// Split day number.
    pub split_day: i64,
    /// Holdout length in days.
    pub horizon_days: i64,
    /// Customer ids, lexicographic.
    pub customer_ids: Vec<String>,
    /// Raw features: recency and tenure in days, frequency, monetary (clipped at 0).
    pub raw: Vec<Vec<f64>>,
    /// Whether the customer bought at or after the split.
    pub bought: Vec<bool>,
    /// Whether the customer is in the test set (`id % 4 == 0`).
    pub is_test: Vec<bool>,
}

/// Build the calibration features and labels of the propensity/churn split.
pub fn features_before(tx: &[Transaction], horizon_days: Option<i64>) -> Result<SplitFeatures> {
    let min_ts = tx.iter().map(|t| t.timestamp).min().ok_or(Error::Empty("transactions"))?;
    let max_ts = tx.iter().map(|t| t.timestamp).max().unwrap_or(min_ts);
    let ref_day = day_of(max_ts) + 1;
    let horizon = horizon_days.unwrap_or((ref_day - day_of(min_ts)) / 2);
    if horizon <= 0 {
        return Err(Error::Parameter { name: "horizon_days", detail: format!("must be positive, got {horizon}") });
    }
    let split_day = ref_day - horizon;
    let split_ts = split_day * DAY;
    let cal = aggregate(tx.iter().filter(|t| t.timestamp < split_ts));
    let buyers: std::collections::HashSet<&str> = tx.iter().filter(|t| t.timestamp >= split_ts).map(|t| t.customer_id.as_str()).collect();
    Ok(SplitFeatures {
        split_day,
        horizon_days: horizon,
        customer_ids: cal.iter().map(|a| a.customer_id.clone()).collect(),
        raw: cal
            .iter()
            .map(|a| {
                vec![
                    (split_ts - a.last_ts).div_euclid(DAY) as f64,
                    a.frequency as f64,
                    a.monetary.max(0.0),
                    (split_ts - a.first_ts).div_euclid(DAY) as f64,
                ]
            })
            .collect(),
        bought: cal.iter().map(|a| buyers.contains(a.customer_id.as_str())).collect(),
        is_test: cal.iter().map(|a| id_number(&a.customer_id).rem_euclid(4) == 0).collect(),
    })
}

/// Fit the propensity model; `horizon_days = None` uses half the span.
pub fn propensity(tx: &[Transaction], horizon_days: Option<i64>, c: f64) -> Result<Propensity> {
    let data = features_before(tx, horizon_days)?;
    let x: Vec<Vec<f64>> = data.raw.iter().map(|r| r.iter().map(|v| v.ln_1p()).collect()).collect();
    let label = data.bought.clone();
    let is_test = data.is_test.clone();
    let n = x.len();
    let train: Vec<usize> = (0..n).filter(|&i| !is_test[i]).collect();
    if train.is_empty() {
        return Err(Error::Empty("training customers"));
    }
    let (mu, sd) = column_mean_std(train.iter().map(|&i| &x[i]).collect::<Vec<_>>().into_iter());
    let z: Vec<Vec<f64>> = x.iter().map(|r| r.iter().enumerate().map(|(j, v)| (v - mu[j]) / sd[j]).collect()).collect();
    let zt: Vec<Vec<f64>> = train.iter().map(|&i| z[i].clone()).collect();
    let yt: Vec<bool> = train.iter().map(|&i| label[i]).collect();
    let model = fit_logistic(&zt, &yt, c)?;
    let p: Vec<f64> = z.iter().map(|r| model.predict_proba(r)).collect();
    let test: Vec<usize> = (0..n).filter(|&i| is_test[i]).collect();
    let (ty, tp): (Vec<bool>, Vec<f64>) = test.iter().map(|&i| (label[i], p[i])).unzip();
    let correct = ty.iter().zip(&tp).filter(|&(&y, &p)| (p >= 0.5) == y).count();
    Ok(Propensity {
        split_day: data.split_day,
        horizon_days: data.horizon_days,
        customer_ids: data.customer_ids,
        p_purchase: p,
        label,
        is_test,
        scaler_mean: mu,
        scaler_std: sd,
        model,
        test_auc: roc_auc(&ty, &tp),
        test_accuracy: correct as f64 / test.len().max(1) as f64,
        test_log_loss: log_loss(&ty, &tp),
    })
}
