//! Descriptive statistics, Welch's t-test, chi-square test of independence,
//! CSAT and NPS.
//!
//! Conventions follow pandas and scipy: sample variance with `n − 1`, quantiles by
//! linear interpolation, skewness and kurtosis with the bias-corrected (pandas)
//! estimators, `scipy.stats.ttest_ind(equal_var=False)` and
//! `scipy.stats.chi2_contingency` (Yates' continuity correction when there is one
//! degree of freedom).

use crate::error::{Error, Result};
use crate::special::{chi2_sf, t_two_sided_p};

/// Summary of a sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Describe {
    /// Number of values.
    pub n: usize,
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (`n − 1`).
    pub std: f64,
    /// Sample variance (`n − 1`).
    pub var: f64,
    /// Minimum.
    pub min: f64,
    /// First quartile.
    pub q1: f64,
    /// Median.
    pub median: f64,
    /// Third quartile.
    pub q3: f64,
    /// Maximum.
    pub max: f64,
    /// Bias-corrected skewness (pandas `skew`).
    pub skew: f64,
    /// Bias-corrected excess kurtosis (pandas `kurt`).
    pub kurtosis: f64,
}

/// Quantile of sorted data by linear interpolation (numpy's default).
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Describe a sample (NaNs are rejected).
pub fn describe(x: &[f64]) -> Result<Describe> {
    let n = x.len();
    if n < 2 {
        return Err(Error::TooFew { what: "sample values", need: 2, got: n });
    }
    if x.iter().any(|v| v.is_nan()) {
        return Err(Error::Parameter { name: "x", detail: "contains NaN".into() });
    }
    let nf = n as f64;
    let mean = x.iter().sum::<f64>() / nf;
    let (mut m2, mut m3, mut m4) = (0.0, 0.0, 0.0);
    for v in x {
        let d = v - mean;
        m2 += d * d;
        m3 += d * d * d;
        m4 += d * d * d * d;
    }
    let var = m2 / (nf - 1.0);
    let (m2n, m3n, m4n) = (m2 / nf, m3 / nf, m4 / nf);
    let skew = if n > 2 && m2n > 0.0 { (nf * (nf - 1.0)).sqrt() / (nf - 2.0) * m3n / m2n.powf(1.5) } else { f64::NAN };
    let kurtosis = if n > 3 && m2n > 0.0 {
        let g2 = m4n / (m2n * m2n) - 3.0;
        (nf - 1.0) / ((nf - 2.0) * (nf - 3.0)) * ((nf + 1.0) * g2 + 6.0)
    } else {
        f64::NAN
    };
    let mut s = x.to_vec();
    s.sort_by(f64::total_cmp);
    Ok(Describe {
        n,
        mean,
        std: var.sqrt(),
        var,
        min: s[0],
        q1: quantile_sorted(&s, 0.25),
        median: quantile_sorted(&s, 0.5),
        q3: quantile_sorted(&s, 0.75),
        max: s[n - 1],
        skew,
        kurtosis,
    })
}

/// Result of a t-test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TTest {
    /// t statistic (mean of `a` minus mean of `b`).
    pub statistic: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub df: f64,
    /// Two-sided p value.
    pub p_value: f64,
}

/// Welch's unequal-variance two-sample t-test.
pub fn welch_t_test(a: &[f64], b: &[f64]) -> Result<TTest> {
    if a.len() < 2 || b.len() < 2 {
        return Err(Error::TooFew { what: "values per group", need: 2, got: a.len().min(b.len()) });
    }
    let mv = |x: &[f64]| {
        let n = x.len() as f64;
        let m = x.iter().sum::<f64>() / n;
        let v = x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0);
        (m, v / n, n)
    };
    let (ma, va, na) = mv(a);
    let (mb, vb, nb) = mv(b);
    let se2 = va + vb;
    let statistic = (ma - mb) / se2.sqrt();
    let df = se2 * se2 / (va * va / (na - 1.0) + vb * vb / (nb - 1.0));
    Ok(TTest { statistic, df, p_value: t_two_sided_p(statistic, df) })
}

/// Result of a chi-square test of independence.
#[derive(Debug, Clone, PartialEq)]
pub struct ChiSquare {
    /// Pearson's chi-square statistic.
    pub statistic: f64,
    /// Degrees of freedom `(r − 1)(c − 1)`.
    pub dof: usize,
    /// Upper-tail p value.
    pub p_value: f64,
    /// Expected counts under independence.
    pub expected: Vec<Vec<f64>>,
}

/// Chi-square test of independence on an `r × c` contingency table; with
/// `correction` and one degree of freedom, Yates' correction is applied (scipy's default).
pub fn chi_square_independence(table: &[Vec<f64>], correction: bool) -> Result<ChiSquare> {
    let r = table.len();
    let c = table.first().map_or(0, Vec::len);
    if r < 2 || c < 2 || table.iter().any(|row| row.len() != c) {
        return Err(Error::Shape("need a rectangular table of at least 2×2".into()));
    }
    let rows: Vec<f64> = table.iter().map(|row| row.iter().sum()).collect();
    let cols: Vec<f64> = (0..c).map(|j| table.iter().map(|row| row[j]).sum()).collect();
    let total: f64 = rows.iter().sum();
    if rows.iter().chain(&cols).any(|&s| s <= 0.0) {
        return Err(Error::Parameter { name: "table", detail: "a row or column sums to zero".into() });
    }
    let expected: Vec<Vec<f64>> = rows.iter().map(|ri| cols.iter().map(|cj| ri * cj / total).collect()).collect();
    let dof = (r - 1) * (c - 1);
    let mut stat = 0.0;
    for i in 0..r {
        for j in 0..c {
            let (mut o, e) = (table[i][j], expected[i][j]);
            if dof == 1 && correction {
                let diff = e - o;
                o += diff.abs().min(0.5) * diff.signum();
            }
            stat += (o - e) * (o - e) / e;
        }
    }
    Ok(ChiSquare { statistic: stat, dof, p_value: chi2_sf(stat, dof as f64), expected })
}

/// Customer satisfaction: share of ratings at or above `satisfied_from`
/// (for a 1–5 scale, 4), in percent.
pub fn csat(ratings: &[u8], satisfied_from: u8) -> Result<f64> {
    if ratings.is_empty() {
        return Err(Error::Empty("ratings"));
    }
    let happy = ratings.iter().filter(|&&r| r >= satisfied_from).count();
    Ok(100.0 * happy as f64 / ratings.len() as f64)
}

/// Net Promoter Score breakdown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Nps {
    /// Ratings 9–10.
    pub promoters: usize,
    /// Ratings 7–8.
    pub passives: usize,
    /// Ratings 0–6.
    pub detractors: usize,
    /// % promoters − % detractors, in −100..=100.
    pub score: f64,
    /// Standard error of the score (in points), from the trinomial variance.
    pub std_err: f64,
}

/// Net Promoter Score of 0–10 ratings.
pub fn nps(ratings: &[u8]) -> Result<Nps> {
    if ratings.is_empty() {
        return Err(Error::Empty("ratings"));
    }
    if let Some(&bad) = ratings.iter().find(|&&r| r > 10) {
        return Err(Error::Parameter { name: "ratings", detail: format!("{bad} is outside 0..=10") });
    }
    let n = ratings.len() as f64;
    let promoters = ratings.iter().filter(|&&r| r >= 9).count();
    let detractors = ratings.iter().filter(|&&r| r <= 6).count();
    let (p, d) = (promoters as f64 / n, detractors as f64 / n);
    let var = p + d - (p - d) * (p - d);
    Ok(Nps {
        promoters,
        passives: ratings.len() - promoters - detractors,
        detractors,
        score: 100.0 * (p - d),
        std_err: 100.0 * (var / n).sqrt(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores() {
        let n = nps(&[10, 9, 8, 7, 6, 0, 10, 10]).unwrap();
        assert_eq!((n.promoters, n.passives, n.detractors), (4, 2, 2));
        assert!((n.score - 25.0).abs() < 1e-12);
        assert!((csat(&[5, 4, 3, 1], 4).unwrap() - 50.0).abs() < 1e-12);
        assert!(nps(&[11]).is_err());
        let d = describe(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!((d.median, d.q1), (2.5, 1.75));
    }
}
