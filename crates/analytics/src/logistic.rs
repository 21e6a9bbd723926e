//! L2-regularized logistic regression, ROC AUC, log loss and a calibration table.
//!
//! The objective is scikit-learn's: `C · Σ logloss + ½‖w‖²` with the intercept left
//! unpenalized. It is strictly convex, so instead of L-BFGS we run damped Newton
//! steps to a gradient norm of 1e-10, which lands on the same optimum that
//! scikit-learn's `lbfgs` approaches (to its tolerance).

use crate::error::{Error, Result};
use crate::linalg::cholesky_solve;

/// A fitted binary logistic model.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticModel {
    /// Feature weights.
    pub coef: Vec<f64>,
    /// Intercept.
    pub intercept: f64,
    /// Newton iterations used.
    pub n_iter: usize,
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// `ln(1 + e^z)` without overflow.
fn log1pexp(z: f64) -> f64 {
    if z > 0.0 { z + (-z).exp().ln_1p() } else { z.exp().ln_1p() }
}

impl LogisticModel {
    /// Linear score `w·x + b`.
    pub fn decision(&self, x: &[f64]) -> f64 {
        self.intercept + self.coef.iter().zip(x).map(|(w, v)| w * v).sum::<f64>()
    }

    /// Probability of the positive class.
    pub fn predict_proba(&self, x: &[f64]) -> f64 {
        sigmoid(self.decision(x))
    }
}

/// Fit with inverse regularization strength `c` (scikit-learn's `C`).
pub fn fit_logistic(x: &[Vec<f64>], y: &[bool], c: f64) -> Result<LogisticModel> {
    let n = x.len();
    if n != y.len() {
        return Err(Error::Shape(format!("{n} rows for {} labels", y.len())));
    }
    if n == 0 {
        return Err(Error::Empty("training rows"));
    }
    if !(c > 0.0) {
        return Err(Error::Parameter { name: "C", detail: format!("must be positive, got {c}") });
    }
    let p = x[0].len();
    if x.iter().any(|r| r.len() != p) {
        return Err(Error::Shape("rows of different lengths".into()));
    }
    let m = p + 1; // last parameter is the intercept
    let mut w = vec![0.0; m];
    let objective = |w: &[f64]| -> f64 {
        let mut f = 0.0;
        for (xi, &yi) in x.iter().zip(y) {
            let z = w[p] + xi.iter().zip(w).map(|(a, b)| a * b).sum::<f64>();
            f += if yi { log1pexp(-z) } else { log1pexp(z) };
        }
        c * f + 0.5 * w[..p].iter().map(|v| v * v).sum::<f64>()
    };
    let mut f = objective(&w);
    for it in 0..200 {
        let mut g = vec![0.0; m];
        let mut h = vec![vec![0.0; m]; m];
        for (xi, &yi) in x.iter().zip(y) {
            let z = w[p] + xi.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>();
            let mu = sigmoid(z);
            let r = c * (mu - if yi { 1.0 } else { 0.0 });
            let s = c * mu * (1.0 - mu);
            for a in 0..m {
                let xa = if a == p { 1.0 } else { xi[a] };
                g[a] += r * xa;
                for b in 0..=a {
                    let xb = if b == p { 1.0 } else { xi[b] };
                    h[a][b] += s * xa * xb;
                }
            }
        }
        for a in 0..p {
            g[a] += w[a];
            h[a][a] += 1.0;
        }
        for a in 0..m {
            for b in 0..a {
                h[b][a] = h[a][b];
            }
        }
        let gnorm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
        if gnorm < 1e-10 * c.max(1.0) * (n as f64).sqrt() {
            return Ok(LogisticModel { coef: w[..p].to_vec(), intercept: w[p], n_iter: it });
        }
        // A tiny ridge keeps the Hessian positive definite for separable data.
        for (a, row) in h.iter_mut().enumerate() {
            row[a] += 1e-12;
        }
        let step = cholesky_solve(&h, &g)?;
        let mut t = 1.0;
        loop {
            let cand: Vec<f64> = w.iter().zip(&step).map(|(a, s)| a - t * s).collect();
            let fc = objective(&cand);
            if fc <= f || t < 1e-10 {
                let done = (f - fc).abs() <= 1e-15 * f.abs() && t < 1.0;
                w = cand;
                f = fc;
                if done {
                    return Ok(LogisticModel { coef: w[..p].to_vec(), intercept: w[p], n_iter: it + 1 });
                }
                break;
            }
            t *= 0.5;
        }
    }
    Err(Error::NoConvergence("logistic regression"))
}

/// Area under the ROC curve (ties count half). `None` if only one class is present.
pub fn roc_auc(y: &[bool], score: &[f64]) -> Option<f64> {
    let mut idx: Vec<usize> = (0..y.len()).collect();
    idx.sort_by(|&a, &b| score[a].total_cmp(&score[b]));
    // Average ranks over ties (Mann–Whitney U).
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && score[idx[j + 1]] == score[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            if y[k] {
                rank_sum_pos += avg;
            }
        }
        i = j + 1;
    }
    let npos = y.iter().filter(|&&v| v).count() as f64;
    let nneg = y.len() as f64 - npos;
    if npos == 0.0 || nneg == 0.0 {
        return None;
    }
    Some((rank_sum_pos - npos * (npos + 1.0) / 2.0) / (npos * nneg))
}

/// Mean log loss, probabilities clipped to `[eps, 1 − eps]` with machine epsilon.
pub fn log_loss(y: &[bool], p: &[f64]) -> f64 {
    let eps = f64::EPSILON;
    let s: f64 = y
        .iter()
        .zip(p)
        .map(|(&yi, &pi)| {
            let pi = pi.clamp(eps, 1.0 - eps);
            if yi { -pi.ln() } else { -(1.0 - pi).ln() }
        })
        .sum();
    s / y.len().max(1) as f64
}

/// One bin of a reliability (calibration) table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CalibrationBin {
    /// Mean predicted probability in the bin.
    pub mean_predicted: f64,
    /// Observed positive rate in the bin.
    pub observed_rate: f64,
    /// Number of cases.
    pub count: usize,
}

/// Reliability table over `bins` equal-width probability bins (empty bins omitted).
pub fn calibration(y: &[bool], p: &[f64], bins: usize) -> Vec<CalibrationBin> {
    let bins = bins.max(1);
    let mut acc = vec![(0.0, 0usize, 0usize); bins];
    for (&yi, &pi) in y.iter().zip(p) {
        let b = ((pi * bins as f64) as usize).min(bins - 1);
        acc[b].0 += pi;
        acc[b].1 += yi as usize;
        acc[b].2 += 1;
    }
    acc.into_iter()
        .filter(|a| a.2 > 0)
        .map(|(s, pos, n)| CalibrationBin { mean_predicted: s / n as f64, observed_rate: pos as f64 / n as f64, count: n })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_and_scores() {
        let x: Vec<Vec<f64>> = (0..40).map(|i| vec![i as f64 / 10.0 - 2.0]).collect();
        let y: Vec<bool> = (0..40).map(|i| (i * 7) % 10 < i / 4).collect();
        let m = fit_logistic(&x, &y, 1.0).unwrap();
        assert!(m.coef[0] > 0.0);
        let p: Vec<f64> = x.iter().map(|r| m.predict_proba(r)).collect();
        assert!(roc_auc(&y, &p).unwrap() > 0.7);
        assert_eq!(roc_auc(&[true, false, true], &[0.9, 0.1, 0.9]), Some(1.0));
        assert_eq!(roc_auc(&[true, false], &[0.5, 0.5]), Some(0.5));
        assert!(log_loss(&y, &p) < std::f64::consts::LN_2);
        assert_eq!(calibration(&y, &p, 10).iter().map(|b| b.count).sum::<usize>(), 40);
    }
}
