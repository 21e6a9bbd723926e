//! CSAT comparisons (issue 11 §9) against scipy: Welch's t-test and the Yates-corrected
//! chi-square on satisfied / unsatisfied counts, for the rating counts in
//! analytics/reference/extra/csat_compare.json (made by make_csat_reference.py).

mod util;

use rapport_analytics::compare::compare_csat;
use util::*;

const TOL: f64 = 1e-6;

fn close(got: f64, want: f64, what: &str) {
    let err = if got == want { 0.0 } else { ((got - want) / want).abs() };
    assert!(err <= TOL, "{what}: {got} vs scipy {want} (rel {err:e})");
}

#[test]
fn csat_comparisons_match_scipy() {
    let want = json(reference("extra/csat_compare.json"));
    let cases = want["cases"].as_array().unwrap();
    assert!(cases.len() >= 5);
    for case in cases {
        let counts = |k: &str| -> [u64; 5] {
            let v: Vec<u64> = case[k].as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).collect();
            v.try_into().unwrap()
        };
        let (a, b) = (counts("a"), counts("b"));
        let c = compare_csat(&a, &b);
        let t = c.welch.as_ref().unwrap_or_else(|e| panic!("{a:?} {b:?}: {e}"));
        close(t.statistic, case["t"].as_f64().unwrap(), &format!("t {a:?} {b:?}"));
        close(t.df, case["df"].as_f64().unwrap(), &format!("df {a:?} {b:?}"));
        close(t.p_value, case["t_p"].as_f64().unwrap(), &format!("t p {a:?} {b:?}"));
        let x = c.chi_square.as_ref().unwrap();
        close(x.statistic, case["chi2"].as_f64().unwrap(), &format!("chi2 {a:?} {b:?}"));
        close(x.p_value, case["chi2_p"].as_f64().unwrap(), &format!("chi2 p {a:?} {b:?}"));
        assert_eq!(x.df, case["chi2_dof"].as_f64().unwrap());
    }
}
