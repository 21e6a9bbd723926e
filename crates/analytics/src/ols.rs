//! Ordinary least squares multiple regression with categorical dummies.
//!
//! Output matches statsmodels' `OLS(...).fit()`: coefficients, standard errors
//! (`σ² (XᵀX)⁻¹` with `σ² = SSR / (n − p)`), t values, two-sided p values from
//! Student's t, R², adjusted R² and the overall F test. Categorical predictors are
//! treatment-coded like patsy's `C(x)`: levels sorted, the first is the baseline,
//! columns named `name[T.level]`.

use crate::error::{Error, Result};
use crate::linalg::lstsq;
use crate::special::{inc_beta, t_two_sided_p};

/// A design matrix with named columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Design {
    /// Column names (`Intercept`, numeric names, `cat[T.level]`).
    pub names: Vec<String>,
    /// Rows of the matrix.
    pub rows: Vec<Vec<f64>>,
}

/// Build a design matrix: optional intercept, numeric columns, then treatment-coded
/// dummies of each categorical column.
pub fn design_matrix(intercept: bool, numeric: &[(&str, &[f64])], categorical: &[(&str, &[String])]) -> Result<Design> {
    let n = numeric.first().map(|c| c.1.len()).or(categorical.first().map(|c| c.1.len())).ok_or(Error::Empty("predictors"))?;
    if numeric.iter().any(|c| c.1.len() != n) || categorical.iter().any(|c| c.1.len() != n) {
        return Err(Error::Shape("predictor columns differ in length".into()));
    }
    let mut names = Vec::new();
    let mut cols: Vec<Vec<f64>> = Vec::new();
    if intercept {
        names.push("Intercept".to_string());
        cols.push(vec![1.0; n]);
    }
    for (name, v) in numeric {
        names.push(name.to_string());
        cols.push(v.to_vec());
    }
    for (name, v) in categorical {
        let mut levels: Vec<&String> = v.iter().collect();
        levels.sort();
        levels.dedup();
        for level in levels.iter().skip(1) {
            names.push(format!("{name}[T.{level}]"));
            cols.push(v.iter().map(|x| if x == *level { 1.0 } else { 0.0 }).collect());
        }
    }
    let rows = (0..n).map(|i| cols.iter().map(|c| c[i]).collect()).collect();
    Ok(Design { names, rows })
}

/// A fitted OLS model.
#[derive(Debug, Clone, PartialEq)]
pub struct OlsResult {
    /// Coefficient names, in design order.
    pub names: Vec<String>,
    /// Coefficients.
    pub coef: Vec<f64>,
    /// Standard errors.
    pub std_err: Vec<f64>,
    /// t statistics.
    pub t: Vec<f64>,
    /// Two-sided p values.
    pub p: Vec<f64>,
    /// Coefficient of determination (centered when there is an intercept).
    pub r_squared: f64,
    /// Adjusted R².
    pub adj_r_squared: f64,
    /// F statistic of the regression.
    pub f_statistic: f64,
    /// p value of the F statistic.
    pub f_p_value: f64,
    /// Residual degrees of freedom.
    pub df_resid: f64,
    /// Number of observations.
    pub nobs: usize,
    /// Residual variance estimate.
    pub sigma2: f64,
}

impl OlsResult {
    /// Index of a coefficient by name.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }
}

/// F distribution survival function.
pub fn f_sf(f: f64, d1: f64, d2: f64) -> f64 {
    if f <= 0.0 {
        return 1.0;
    }
    inc_beta(d2 / 2.0, d1 / 2.0, d2 / (d2 + d1 * f))
}

/// Fit `y = X b + e` by least squares.
pub fn ols(y: &[f64], design: &Design) -> Result<OlsResult> {
    let n = y.len();
    let p = design.names.len();
    if design.rows.len() != n {
        return Err(Error::Shape(format!("{} rows for {} responses", design.rows.len(), n)));
    }
    if n <= p {
        return Err(Error::TooFew { what: "observations", need: p + 1, got: n });
    }
    let (coef, xtx_inv) = lstsq(&design.rows, y)?;
    let ssr: f64 = design
        .rows
        .iter()
        .zip(y)
        .map(|(r, yi)| {
            let fit: f64 = r.iter().zip(&coef).map(|(a, b)| a * b).sum();
            (yi - fit) * (yi - fit)
        })
        .sum();
    let df_resid = (n - p) as f64;
    let sigma2 = ssr / df_resid;
    let has_const = design.names.iter().any(|s| s == "Intercept");
    let mean = y.iter().sum::<f64>() / n as f64;
    let tss: f64 = if has_const { y.iter().map(|v| (v - mean) * (v - mean)).sum() } else { y.iter().map(|v| v * v).sum() };
    let r2 = 1.0 - ssr / tss;
    let df_model = p as f64 - if has_const { 1.0 } else { 0.0 };
    let adj = 1.0 - (n as f64 - if has_const { 1.0 } else { 0.0 }) / df_resid * (1.0 - r2);
    let f = ((tss - ssr) / df_model) / sigma2;
    let std_err: Vec<f64> = (0..p).map(|i| (sigma2 * xtx_inv[i][i]).sqrt()).collect();
    let t: Vec<f64> = coef.iter().zip(&std_err).map(|(b, s)| b / s).collect();
    let pv = t.iter().map(|&t| t_two_sided_p(t, df_resid)).collect();
    Ok(OlsResult {
        names: design.names.clone(),
        coef,
        std_err,
        t,
        p: pv,
        r_squared: r2,
        adj_r_squared: adj,
        f_statistic: f,
        f_p_value: f_sf(f, df_model, df_resid),
        df_resid,
        nobs: n,
        sigma2,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dummies_and_perfect_fit() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let c: Vec<String> = ["a", "b", "a", "b", "c", "c"].iter().map(|s| s.to_string()).collect();
        let d = design_matrix(true, &[("x", &x)], &[("g", &c)]).unwrap();
        assert_eq!(d.names, ["Intercept", "x", "g[T.b]", "g[T.c]"]);
        let y: Vec<f64> = d.rows.iter().map(|r| 1.0 + 2.0 * r[1] + 3.0 * r[2] - r[3] + 0.01 * (r[1] % 2.0)).collect();
        let fit = ols(&y, &d).unwrap();
        assert!((fit.coef[1] - 2.0).abs() < 0.05);
        assert!(fit.r_squared > 0.999);
    }
}
