//! A/B test statistics (issue 12 §8) against values computed by hand: Pearson's chi-square of
//! the variants × (success, no success) table — Yates-corrected for two variants, as scipy's
//! `chi2_contingency` — and its p value (for one degree of freedom `erfc(sqrt(x / 2))`, for
//! two `exp(-x / 2)`, both from Python's `math` module).

use rapport_analytics::ab::{Verdict, decide, rate_test};

fn close(got: f64, want: f64, what: &str) {
    let err = ((got - want) / want).abs();
    assert!(err <= 1e-9, "{what}: {got} vs {want} (rel {err:e})");
}

#[test]
fn two_variants_match_the_hand_computed_yates_chi_square() {
    // [[30, 170], [50, 150]]: expected 40/160 in each row, |o − e| = 10, Yates 9.5:
    // 2 × 9.5² / 40 + 2 × 9.5² / 160 = 5.640625.
    let t = rate_test(&[(30, 200), (50, 200)]).unwrap();
    close(t.statistic, 5.640625, "chi2");
    close(t.p_value, 0.01754895019147672, "p");
    assert_eq!(t.df, 1);
    close(t.min_expected, 40.0, "min expected");
    let t = rate_test(&[(30, 200), (36, 200)]).unwrap();
    close(t.statistic, 0.45363817818907637, "chi2");
    close(t.p_value, 0.5006122859882998, "p");
}

#[test]
fn three_variants_are_one_test_without_correction() {
    let t = rate_test(&[(20, 200), (35, 200), (50, 200)]).unwrap();
    close(t.statistic, 15.584415584415584, "chi2");
    close(t.p_value, 0.00041294019069563223, "p");
    assert_eq!(t.df, 2);
    assert_eq!(decide(&[(20, 200), (35, 200), (50, 200)], 0).1, Verdict::Winner(2));
}

#[test]
fn small_or_insignificant_samples_fall_back() {
    assert_eq!(decide(&[(30, 200), (36, 200)], 1).1, Verdict::NotSignificant);
    match decide(&[(1, 20), (6, 20)], 0).1 {
        Verdict::TooSmall(why) => assert!(why.contains("expected count"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(decide(&[(0, 100), (0, 100)], 1).1, Verdict::TooSmall(_)));
    assert!(matches!(decide(&[(3, 10), (0, 0)], 0).1, Verdict::TooSmall(_)), "a variant without deliveries");
    // Equal best rates: the fallback wins when it is among them.
    assert_eq!(decide(&[(10, 200), (60, 200), (60, 200)], 2).1, Verdict::Winner(2));
}
