//! Is a CSAT difference real? Two groups of 1–5 ratings (two agents, teams or periods), given
//! as counts per rating (what a grouped SQL query returns), compared by Welch's t-test on the
//! ratings and a chi-square test (Yates-corrected, scipy's default for 2×2) on satisfied
//! (4–5) against unsatisfied counts.
//!
//! Each test is absent, with the reason, where it is undefined: fewer than two ratings in a
//! group, no spread in either group, or nobody (or everybody) satisfied on both sides.

use crate::special::t_two_sided_p;
use crate::stats::chi_square_independence;

/// One group's ratings, summarised.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Ratings.
    pub n: u64,
    /// Mean rating.
    pub mean: Option<f64>,
    /// Sample variance (n − 1).
    pub variance: Option<f64>,
    /// Ratings of 4 or 5.
    pub satisfied: u64,
}

/// A test's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Test {
    /// The statistic (t for Welch, chi-square for the other).
    pub statistic: f64,
    /// Degrees of freedom.
    pub df: f64,
    /// Two-sided (t) or upper-tail (chi-square) p value.
    pub p_value: f64,
}

/// Both tests of two groups.
#[derive(Debug, Clone, PartialEq)]
pub struct CsatComparison {
    /// The first group.
    pub a: Group,
    /// The second group.
    pub b: Group,
    /// Welch's t-test on the ratings (mean of `a` minus mean of `b`), or why not.
    pub welch: Result<Test, String>,
    /// Chi-square on satisfied / unsatisfied counts, or why not.
    pub chi_square: Result<Test, String>,
}

fn group(counts: &[u64; 5]) -> Group {
    let n: u64 = counts.iter().sum();
    let sum: f64 = counts.iter().enumerate().map(|(i, c)| (i + 1) as f64 * *c as f64).sum();
    let mean = (n > 0).then(|| sum / n as f64);
    let variance = mean
        .filter(|_| n > 1)
        .map(|m| counts.iter().enumerate().map(|(i, c)| *c as f64 * ((i + 1) as f64 - m).powi(2)).sum::<f64>() / (n - 1) as f64);
    Group { n, mean, variance, satisfied: counts[3] + counts[4] }
}

fn welch(a: &Group, b: &Group) -> Result<Test, String> {
    let (Some(ma), Some(va), Some(mb), Some(vb)) = (a.mean, a.variance, b.mean, b.variance) else {
        return Err("needs at least two ratings on each side".into());
    };
    let (sa, sb) = (va / a.n as f64, vb / b.n as f64);
    let se2 = sa + sb;
    if se2 <= 0.0 {
        return Err("every rating on both sides is the same: no spread to test".into());
    }
    let statistic = (ma - mb) / se2.sqrt();
    let df = se2 * se2 / (sa * sa / (a.n - 1) as f64 + sb * sb / (b.n - 1) as f64);
    Ok(Test { statistic, df, p_value: t_two_sided_p(statistic, df) })
}

/// Compares two groups given as counts of ratings 1 to 5.
pub fn compare_csat(a: &[u64; 5], b: &[u64; 5]) -> CsatComparison {
    let (ga, gb) = (group(a), group(b));
    let welch = welch(&ga, &gb);
    let table = vec![vec![ga.satisfied as f64, (ga.n - ga.satisfied) as f64], vec![gb.satisfied as f64, (gb.n - gb.satisfied) as f64]];
    let chi_square = chi_square_independence(&table, true)
        .map(|c| Test { statistic: c.statistic, df: c.dof as f64, p_value: c.p_value })
        .map_err(|_| "needs ratings on both sides, and both satisfied and unsatisfied ones among them".to_string());
    CsatComparison { a: ga, b: gb, welch, chi_square }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undefined_tests_say_why() {
        let c = compare_csat(&[0, 0, 0, 0, 3], &[0, 0, 0, 0, 1]);
        assert!(c.welch.is_err() && c.chi_square.is_err());
        assert_eq!((c.a.n, c.a.mean, c.a.satisfied), (3, Some(5.0), 3));
        let c = compare_csat(&[1, 0, 0, 0, 1], &[0, 0, 0, 0, 0]);
        assert!(c.welch.unwrap_err().contains("two ratings"));
        let c = compare_csat(&[2, 0, 0, 0, 0], &[0, 0, 0, 0, 2]);
        assert!(c.welch.is_err(), "no spread");
        assert!(c.chi_square.is_ok());
    }
}
