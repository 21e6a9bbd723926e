//! A/B tests of a marketing mail: do the variants' success rates (clicks, conversions or opens
//! per delivered mail) differ beyond chance? A chi-square test of independence on the
//! variants × (success, no success) table (Yates-corrected for two variants, as scipy's
//! `chi2_contingency` by default), and the decision rule built on it:
//!
//! - too small: the table has an expected count under 5 (Cochran's rule), or a row or column
//!   of zeros (no delivery in a variant, nobody or everybody succeeding) — the test is not
//!   trusted and the fallback is sent;
//! - not significant: p ≥ 0.05 — the fallback is sent;
//! - otherwise the variant with the best rate wins (ties go to the fallback when it is among
//!   them, else to the first).

use crate::stats::chi_square_independence;

/// Expected counts below this make the chi-square approximation unreliable.
pub const MIN_EXPECTED: f64 = 5.0;
/// The significance level.
pub const ALPHA: f64 = 0.05;

/// The chi-square test of the variants' rates.
#[derive(Debug, Clone, PartialEq)]
pub struct RateTest {
    /// Pearson's chi-square statistic (Yates-corrected for two variants).
    pub statistic: f64,
    /// Degrees of freedom (variants − 1).
    pub df: usize,
    /// Upper-tail p value.
    pub p_value: f64,
    /// The smallest expected count of the table.
    pub min_expected: f64,
}

/// What the test says to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Variant `usize` wins.
    Winner(usize),
    /// p ≥ 0.05: send the fallback.
    NotSignificant,
    /// Too little data: send the fallback; why.
    TooSmall(String),
}

/// The test of `(successes, trials)` per variant, or why it cannot be made.
pub fn rate_test(groups: &[(u64, u64)]) -> Result<RateTest, String> {
    if groups.len() < 2 {
        return Err("needs at least two variants".into());
    }
    if let Some(i) = groups.iter().position(|(s, n)| s > n) {
        return Err(format!("variant {i} has more successes than deliveries"));
    }
    let table: Vec<Vec<f64>> = groups.iter().map(|(s, n)| vec![*s as f64, (*n - *s) as f64]).collect();
    let c = chi_square_independence(&table, true)
        .map_err(|_| "a variant without deliveries, or nobody (or everybody) succeeding: nothing to compare".to_string())?;
    let min_expected = c.expected.iter().flatten().copied().fold(f64::INFINITY, f64::min);
    Ok(RateTest { statistic: c.statistic, df: c.dof, p_value: c.p_value, min_expected })
}

/// The decision for `(successes, trials)` per variant, `fallback` being the index sent when
/// the test cannot tell.
pub fn decide(groups: &[(u64, u64)], fallback: usize) -> (Result<RateTest, String>, Verdict) {
    let test = rate_test(groups);
    let verdict = match &test {
        Err(why) => Verdict::TooSmall(why.clone()),
        Ok(t) if t.min_expected < MIN_EXPECTED => {
            Verdict::TooSmall(format!("an expected count is {:.1}, under {MIN_EXPECTED}", t.min_expected))
        }
        Ok(t) if t.p_value >= ALPHA => Verdict::NotSignificant,
        Ok(_) => {
            let rate = |(s, n): &(u64, u64)| *s as f64 / *n as f64;
            let best = groups.iter().map(rate).fold(f64::NEG_INFINITY, f64::max);
            let tied: Vec<usize> = (0..groups.len()).filter(|i| rate(&groups[*i]) == best).collect();
            Verdict::Winner(if tied.contains(&fallback) { fallback } else { tied[0] })
        }
    };
    (test, verdict)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_sends_the_fallback_unless_the_difference_is_real() {
        // 30/200 against 50/200: chi² (Yates) = 5.640625, p ≈ 0.0175 → B wins.
        let (t, v) = decide(&[(30, 200), (50, 200)], 0);
        let t = t.unwrap();
        assert!((t.statistic - 5.640625).abs() < 1e-12, "{t:?}");
        assert_eq!(v, Verdict::Winner(1));
        // 30/200 against 36/200: not significant.
        assert_eq!(decide(&[(30, 200), (36, 200)], 1).1, Verdict::NotSignificant);
        // 1/20 against 6/20: an expected count of 3.5.
        assert!(matches!(decide(&[(1, 20), (6, 20)], 0).1, Verdict::TooSmall(_)));
        // Nobody clicked.
        assert!(matches!(decide(&[(0, 500), (0, 500)], 0).1, Verdict::TooSmall(_)));
    }
}
