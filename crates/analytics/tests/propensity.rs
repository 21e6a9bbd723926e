//! Propensity (logistic regression) against the reference script's scikit-learn run.

mod util;

use rapport_analytics::dates::format_day;
use rapport_analytics::propensity::propensity;
use util::*;

fn check(tx_file: &str, dir: &str) {
    let tx = transactions(data(tx_file));
    let r = propensity(&tx, None, 1.0).unwrap();
    let peer = json(reference(&format!("{dir}/peer.json")));
    let want = &peer["logistic"];
    assert_eq!(format_day(r.split_day), want["split_date"].as_str().unwrap());
    assert_eq!(r.horizon_days, want["horizon_days"].as_i64().unwrap());
    let n_test = r.is_test.iter().filter(|&&t| t).count();
    assert_eq!(n_test as u64, want["n_test"].as_u64().unwrap());
    assert_eq!((r.is_test.len() - n_test) as u64, want["n_train"].as_u64().unwrap());
    let mut worst = 0f64;
    let coefs = want["coef"].as_array().unwrap();
    for (g, w) in r.model.coef.iter().chain([&r.model.intercept]).zip(coefs.iter().chain([&want["intercept"]])) {
        let w = w.as_f64().unwrap();
        let err = (g - w).abs() / w.abs().max(1.0);
        worst = worst.max(err);
        assert!(err <= 1e-3, "{dir}: coefficient {g} vs {w}");
    }
    for (g, key) in [(r.test_auc.unwrap(), "test_auc"), (r.test_log_loss, "test_log_loss")] {
        assert!((g - want[key].as_f64().unwrap()).abs() <= 1e-4, "{dir}: {key} {g}");
    }
    // Accuracy is discrete: a customer sitting at p = 0.5 may flip within solver tolerance.
    let acc = want["test_accuracy"].as_f64().unwrap();
    assert!((r.test_accuracy - acc).abs() <= 2.0 / n_test as f64 + 1e-9, "{dir}: accuracy {}", r.test_accuracy);
    for (j, (m, s)) in r.scaler_mean.iter().zip(&r.scaler_std).enumerate() {
        assert!((m - want["scaler_mean"][j].as_f64().unwrap()).abs() < 1e-6);
        assert!((s - want["scaler_std"][j].as_f64().unwrap()).abs() < 1e-6);
    }
    // Per-customer probabilities from the dump.
    let (h, rows) = read_csv(reference(&format!("{dir}/customers.csv")));
    let (ci, pi) = (col(&h, "customer_id"), col(&h, "p_purchase"));
    let want_p: std::collections::HashMap<&str, f64> =
        rows.iter().filter(|r| !r[pi].is_empty()).map(|r| (r[ci].as_str(), r[pi].parse().unwrap())).collect();
    assert_eq!(want_p.len(), r.customer_ids.len());
    let mut worst_p = 0f64;
    for (id, p) in r.customer_ids.iter().zip(&r.p_purchase) {
        worst_p = worst_p.max((p - want_p[id.as_str()]).abs());
    }
    eprintln!(
        "{dir}: coef {:?} intercept {}, worst coefficient error {worst:e}, worst |p| error {worst_p:e}, auc {:?}",
        r.model.coef, r.model.intercept, r.test_auc
    );
    assert!(worst_p < 1e-3);
}

#[test]
fn cdnow_propensity_matches_sklearn() {
    check("cdnow_transactions.csv", "cdnow");
}

#[test]
fn synthetic_propensity_matches_sklearn() {
    check("synthetic_crm/transactions.csv", "synthetic");
}
