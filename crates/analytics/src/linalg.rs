//! Small dense linear algebra: Householder QR least squares and Cholesky solves.
//!
//! The models here have a handful of coefficients, so plain row-major `Vec`s are
//! enough; QR keeps OLS accurate when predictors have very different scales.

use crate::error::{Error, Result};

/// Least-squares solution of `X b = y` by Householder QR.
///
/// `x` is row-major with `n` rows of `p` columns. Returns `b` and `(XᵀX)⁻¹ = R⁻¹R⁻ᵀ`.
pub fn lstsq(x: &[Vec<f64>], y: &[f64]) -> Result<(Vec<f64>, Vec<Vec<f64>>)> {
    let n = x.len();
    let p = x.first().map_or(0, Vec::len);
    if n < p || p == 0 {
        return Err(Error::TooFew { what: "least-squares rows", need: p.max(1), got: n });
    }
    // Column-major copy.
    let mut a: Vec<Vec<f64>> = (0..p).map(|j| x.iter().map(|r| r[j]).collect()).collect();
    let mut qty = y.to_vec();
    let mut r = vec![vec![0.0; p]; p];
    for k in 0..p {
        let norm = a[k][k..].iter().map(|v| v * v).sum::<f64>().sqrt();
        let scale = a[k][k..].iter().fold(0.0f64, |m, v| m.max(v.abs()));
        if norm <= 1e-13 * scale.max(1e-300) || norm == 0.0 {
            return Err(Error::Singular("collinear predictors"));
        }
        let alpha = if a[k][k] > 0.0 { -norm } else { norm };
        let mut v = a[k][k..].to_vec();
        v[0] -= alpha;
        let vnorm2: f64 = v.iter().map(|t| t * t).sum();
        for col in a.iter_mut().skip(k) {
            let dot: f64 = v.iter().zip(&col[k..]).map(|(s, t)| s * t).sum();
            let f = 2.0 * dot / vnorm2;
            for (c, vi) in col[k..].iter_mut().zip(&v) {
                *c -= f * vi;
            }
        }
        let dot: f64 = v.iter().zip(&qty[k..]).map(|(s, t)| s * t).sum();
        let f = 2.0 * dot / vnorm2;
        for (c, vi) in qty[k..].iter_mut().zip(&v) {
            *c -= f * vi;
        }
        for j in k..p {
            r[k][j] = a[j][k];
        }
    }
    for k in 0..p {
        if r[k][k].abs() < 1e-12 * r[0][0].abs() {
            return Err(Error::Singular("collinear predictors"));
        }
    }
    // Back substitution for b.
    let mut b = vec![0.0; p];
    for i in (0..p).rev() {
        let s: f64 = (i + 1..p).map(|j| r[i][j] * b[j]).sum();
        b[i] = (qty[i] - s) / r[i][i];
    }
    // R⁻¹ (upper triangular), then (XᵀX)⁻¹ = R⁻¹ R⁻ᵀ.
    let mut rinv = vec![vec![0.0; p]; p];
    for i in 0..p {
        rinv[i][i] = 1.0 / r[i][i];
        for j in (0..i).rev() {
            let s: f64 = (j + 1..=i).map(|m| r[j][m] * rinv[m][i]).sum();
            rinv[j][i] = -s / r[j][j];
        }
    }
    let mut cov = vec![vec![0.0; p]; p];
    for i in 0..p {
        for j in 0..p {
            cov[i][j] = (i.max(j)..p).map(|m| rinv[i][m] * rinv[j][m]).sum();
        }
    }
    Ok((b, cov))
}

/// Solve `A x = b` for symmetric positive definite `A` by Cholesky.
pub fn cholesky_solve(a: &[Vec<f64>], b: &[f64]) -> Result<Vec<f64>> {
    let n = a.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let d = a[i][i] - s;
                if d <= 0.0 {
                    return Err(Error::Singular("matrix not positive definite"));
                }
                l[i][j] = d.sqrt();
            } else {
                l[i][j] = (a[i][j] - s) / l[j][j];
            }
        }
    }
    let mut z = vec![0.0; n];
    for i in 0..n {
        let s: f64 = (0..i).map(|k| l[i][k] * z[k]).sum();
        z[i] = (b[i] - s) / l[i][i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| l[k][i] * x[k]).sum();
        x[i] = (z[i] - s) / l[i][i];
    }
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_fit() {
        let x: Vec<Vec<f64>> = (0..5).map(|i| vec![1.0, i as f64, (i * i) as f64]).collect();
        let y: Vec<f64> = (0..5).map(|i| 2.0 - 3.0 * i as f64 + 0.5 * (i * i) as f64).collect();
        let (b, cov) = lstsq(&x, &y).unwrap();
        for (g, w) in b.iter().zip([2.0, -3.0, 0.5]) {
            assert!((g - w).abs() < 1e-12);
        }
        assert!((cov[0][1] - cov[1][0]).abs() < 1e-12);
        let s = cholesky_solve(&[vec![4.0, 2.0], vec![2.0, 3.0]], &[2.0, 1.0]).unwrap();
        assert!((s[0] - 0.5).abs() < 1e-12 && s[1].abs() < 1e-12);
    }
}
