//! ARIMA(1,1,1) against statsmodels on the reference script's sales series.

mod util;

use rapport_analytics::arima::{Order, fit_arima, fit_arima_global, select_by_aic};
use rapport_analytics::dates::format_day;
use rapport_analytics::holt_winters::{Smoothing, classical_initial, fit_with_initial, smooth};
use rapport_analytics::series::sales_series;
use util::*;

fn check(tx_file: &str, dir: &str) {
    let peer = json(reference(&format!("{dir}/peer.json")));
    let a = &peer["arima"];
    let series: Vec<f64> = a["series"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    // Our binning reproduces the reference series (rounded there to 6 decimals).
    let tx = transactions(data(tx_file));
    let ours = sales_series(&tx, None).unwrap();
    assert_eq!(ours.freq.code(), a["freq"].as_str().unwrap());
    assert_eq!(ours.values.len(), series.len());
    assert_eq!(format_day(ours.labels[0]), a["series_start"].as_str().unwrap());
    assert_eq!(format_day(*ours.labels.last().unwrap()), a["series_end"].as_str().unwrap());
    for (g, w) in ours.values.iter().zip(&series) {
        assert!((g - w).abs() <= 1e-6 + 1e-12 * w.abs(), "{dir}: series {g} vs {w}");
    }
    let fit = fit_arima(&series, Order { p: 1, d: 1, q: 1 }).unwrap();
    let fc = fit.forecast(12, 0.95).unwrap();
    let want = |k: &str| a[k].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect::<Vec<_>>();
    let (wm, wl, wu) = (want("forecast"), want("ci95_lower"), want("ci95_upper"));
    let mut worst = 0f64;
    let mut worst_ci = 0f64;
    for i in 0..12 {
        worst = worst.max(((fc.mean[i] - wm[i]) / wm[i]).abs());
        let width = wu[i] - wl[i];
        worst_ci = worst_ci.max(((fc.upper[i] - fc.lower[i]) - width).abs() / width);
    }
    eprintln!(
        "{dir}: ar {:?} ma {:?} sigma2 {} llf {} (reference {}), worst forecast rel error {worst:e}, interval width rel error {worst_ci:e}",
        fit.ar, fit.ma, fit.sigma2, fit.llf, a["llf"]
    );
    assert!(fit.llf >= a["llf"].as_f64().unwrap() - 1e-4, "likelihood must be at least the reference's");
    assert!(worst <= 0.01, "forecast within 1%");
    assert!(worst_ci <= 1e-3, "interval width within 0.1%");
    // The global search never does worse than the statsmodels-style local one.
    let global = fit_arima_global(&series, Order { p: 1, d: 1, q: 1 }).unwrap();
    assert!(global.llf >= fit.llf - 1e-6);
    let best = select_by_aic(&series, 1, 1).unwrap();
    assert!(best.aic.is_finite());
}

#[test]
fn cdnow_weekly_arima() {
    check("cdnow_transactions.csv", "cdnow");
}

#[test]
fn synthetic_monthly_arima() {
    check("synthetic_crm/transactions.csv", "synthetic");
}

#[test]
fn holt_winters_matches_statsmodels() {
    let want = json(reference("extra/holt_winters.json"));
    let arr = |v: &serde_json::Value| v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect::<Vec<_>>();
    let y = arr(&want["series"]);
    let m = want["period"].as_u64().unwrap() as usize;
    let init = classical_initial(&y, m).unwrap();
    let wi = &want["initial"];
    assert!(rel_close(init.level, wi["level"].as_f64().unwrap(), 1e-12));
    assert!(rel_close(init.trend, wi["trend"].as_f64().unwrap(), 1e-9));
    // Fixed parameters: the recursions agree to rounding.
    let fx = &want["fixed"];
    let s = Smoothing { alpha: 0.3, beta: 0.1, gamma: 0.2 };
    let hw = smooth(&y, m, s, &init).unwrap();
    assert!(rel_close(hw.sse, fx["sse"].as_f64().unwrap(), 1e-9), "sse {}", hw.sse);
    for (g, w) in hw.fitted.iter().zip(arr(&fx["fitted"])) {
        assert!(rel_close(*g, w, 1e-9));
    }
    for (g, w) in hw.forecast(12, 0.95).mean.iter().zip(arr(&fx["forecast"])) {
        assert!(rel_close(*g, w, 1e-9), "forecast {g} vs {w}");
    }
    // Optimized parameters: our SSE is no worse and forecasts agree within 1%.
    let op = &want["optimized"];
    let fit = fit_with_initial(&y, m, &init).unwrap();
    let ref_sse = op["sse"].as_f64().unwrap();
    let fc = fit.forecast(12, 0.95);
    let worst = fc.mean.iter().zip(arr(&op["forecast"])).map(|(g, w)| ((g - w) / w).abs()).fold(0.0, f64::max);
    eprintln!("holt-winters: {:?} sse {} (statsmodels {ref_sse}), worst forecast rel error {worst:e}", fit.smoothing, fit.sse);
    assert!(fit.sse <= ref_sse * (1.0 + 1e-6));
    assert!(worst <= 0.01);
}
