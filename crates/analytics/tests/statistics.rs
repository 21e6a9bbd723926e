//! OLS, Welch t-test, chi-square and descriptive statistics against statsmodels,
//! scipy and pandas (reference made by analytics/reference/make_reference.py).

mod util;

use rapport_analytics::ols::{design_matrix, ols};
use rapport_analytics::stats::{chi_square_independence, describe, welch_t_test};
use util::*;

const TOL: f64 = 1e-6;

fn assert_rel(got: f64, want: f64, what: &str) -> f64 {
    let err = if got == want { 0.0 } else { ((got - want) / want).abs() };
    assert!(err <= TOL, "{what}: {got} vs {want} (rel {err:e})");
    err
}

#[test]
fn ols_matches_statsmodels() {
    let (h, rows) = read_csv(reference("extra/ols_data.csv"));
    let num = |name| rows.iter().map(|r| r[col(&h, name)].parse::<f64>().unwrap()).collect::<Vec<_>>();
    let (y, budget, tv) = (num("sales"), num("budget"), num("tv_share"));
    let channel: Vec<String> = rows.iter().map(|r| r[col(&h, "channel")].clone()).collect();
    let d = design_matrix(true, &[("budget", &budget), ("tv_share", &tv)], &[("channel", &channel)]).unwrap();
    let fit = ols(&y, &d).unwrap();
    let want = json(reference("extra/ols.json"));
    let mut worst = 0f64;
    for (name, _) in want["params"].as_object().unwrap() {
        let i = fit.index(name).unwrap_or_else(|| panic!("no coefficient {name}"));
        for (key, got) in [("params", fit.coef[i]), ("bse", fit.std_err[i]), ("tvalues", fit.t[i]), ("pvalues", fit.p[i])] {
            worst = worst.max(assert_rel(got, want[key][name].as_f64().unwrap(), &format!("{key} {name}")));
        }
    }
    assert_eq!(fit.names.len(), want["params"].as_object().unwrap().len());
    for (got, key) in [
        (fit.r_squared, "rsquared"),
        (fit.adj_r_squared, "rsquared_adj"),
        (fit.f_statistic, "fvalue"),
        (fit.f_p_value, "f_pvalue"),
        (fit.df_resid, "df_resid"),
    ] {
        worst = worst.max(assert_rel(got, want[key].as_f64().unwrap(), key));
    }
    eprintln!("ols: worst relative error {worst:e}");
}

#[test]
fn welch_matches_scipy() {
    let (_, rows) = read_csv(reference("extra/ttest_data.csv"));
    let group = |g: &str| rows.iter().filter(|r| r[0] == g).map(|r| r[1].parse::<f64>().unwrap()).collect::<Vec<_>>();
    let t = welch_t_test(&group("United Kingdom"), &group("Germany")).unwrap();
    let want = json(reference("extra/ttest.json"));
    let mut worst = assert_rel(t.statistic, want["statistic"].as_f64().unwrap(), "t");
    worst = worst.max(assert_rel(t.p_value, want["pvalue"].as_f64().unwrap(), "p"));
    worst = worst.max(assert_rel(t.df, want["df"].as_f64().unwrap(), "df"));
    let d = json(reference("extra/describe.json"));
    let sp = &d["small_pair"];
    let v = |k: &str| sp[k].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect::<Vec<_>>();
    let t2 = welch_t_test(&v("a"), &v("b")).unwrap();
    worst = worst.max(assert_rel(t2.statistic, sp["statistic"].as_f64().unwrap(), "t small"));
    worst = worst.max(assert_rel(t2.p_value, sp["pvalue"].as_f64().unwrap(), "p small"));
    worst = worst.max(assert_rel(t2.df, sp["df"].as_f64().unwrap(), "df small"));
    let s = describe(&group("United Kingdom")).unwrap();
    for (got, key) in [
        (s.mean, "mean"),
        (s.std, "std"),
        (s.var, "var"),
        (s.min, "min"),
        (s.q1, "q1"),
        (s.median, "median"),
        (s.q3, "q3"),
        (s.max, "max"),
        (s.skew, "skew"),
        (s.kurtosis, "kurtosis"),
    ] {
        worst = worst.max(assert_rel(got, d[key].as_f64().unwrap(), key));
    }
    eprintln!("t-test/describe: worst relative error {worst:e}");
}

#[test]
fn chi_square_matches_scipy() {
    let want = json(reference("extra/chi2.json"));
    let mut worst = 0f64;
    for t in want["tables"].as_array().unwrap() {
        let table: Vec<Vec<f64>> =
            t["counts"].as_array().unwrap().iter().map(|r| r.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect()).collect();
        let c = chi_square_independence(&table, true).unwrap();
        assert_eq!(c.dof as u64, t["dof"].as_u64().unwrap());
        worst = worst.max(assert_rel(c.statistic, t["statistic"].as_f64().unwrap(), "chi2"));
        worst = worst.max(assert_rel(c.p_value, t["pvalue"].as_f64().unwrap(), "chi2 p"));
    }
    eprintln!("chi-square: worst relative error {worst:e}");
}
