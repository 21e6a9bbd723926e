//! ARIMA(p, d, q) by exact Gaussian maximum likelihood (Kalman filter), forecasts with
//! prediction intervals, and order selection by AIC.
//!
//! The state-space form and likelihood are statsmodels' `ARIMA` (SARIMAX with
//! `simple_differencing=False`, no trend for `d ≥ 1`): the `d` differencing states
//! get statsmodels' approximate diffuse prior (variance 1e6 in the data's units, so
//! it is informative for series in the thousands — reproduced on purpose) and the first `d` observations
//! are burned from the likelihood; the ARMA block starts from its stationary
//! covariance. Parameters are kept stationary and invertible through the same
//! `x / sqrt(1 + x²)` (p, q ≤ 1) style transforms, here generalized by the
//! Monahan/Jones partial-autocorrelation map. The optimum is found by a coarse grid
//! over the first AR and MA coefficients and Nelder–Mead refinement.

use crate::error::{Error, Result};
use crate::linalg::lstsq;
use crate::optim::{bfgs, bfgs_lbfgsb_like, nelder_mead};
use crate::special::norm_ppf;

/// An ARIMA order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    /// AR order.
    pub p: usize,
    /// Differencing order.
    pub d: usize,
    /// MA order.
    pub q: usize,
}

/// A fitted ARIMA model.
#[derive(Debug, Clone, PartialEq)]
pub struct ArimaFit {
    /// The order.
    pub order: Order,
    /// AR coefficients φ₁..φₚ.
    pub ar: Vec<f64>,
    /// MA coefficients θ₁..θ_q.
    pub ma: Vec<f64>,
    /// Innovation variance.
    pub sigma2: f64,
    /// Maximized log-likelihood.
    pub llf: f64,
    /// Akaike information criterion `−2 llf + 2 k`.
    pub aic: f64,
    series: Vec<f64>,
}

/// Point forecasts with a symmetric normal prediction interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    /// Point forecasts.
    pub mean: Vec<f64>,
    /// Lower interval bounds.
    pub lower: Vec<f64>,
    /// Upper interval bounds.
    pub upper: Vec<f64>,
}

const DIFFUSE: f64 = 1e6;

struct StateSpace {
    m: usize,
    t: Vec<Vec<f64>>,
    r: Vec<f64>,
    z: Vec<f64>,
}

fn build(order: Order, ar: &[f64], ma: &[f64]) -> StateSpace {
    let d = order.d;
    let k = order.p.max(order.q + 1);
    let m = d + k;
    let mut t = vec![vec![0.0; m]; m];
    for j in 0..d {
        for i in j..d {
            t[j][i] = 1.0;
        }
        t[j][d] = 1.0;
    }
    for i in 0..k {
        if i < order.p {
            t[d + i][d] = ar[i];
        }
        if i + 1 < k {
            t[d + i][d + i + 1] = 1.0;
        }
    }
    let mut r = vec![0.0; m];
    r[d] = 1.0;
    for i in 0..order.q {
        r[d + 1 + i] = ma[i];
    }
    let mut z = vec![0.0; m];
    for v in z.iter_mut().take(d + 1) {
        *v = 1.0;
    }
    StateSpace { m, t, r, z }
}

/// Solve a small dense system by Gaussian elimination with partial pivoting.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for c in 0..n {
        let piv = (c..n).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))?;
        if a[piv][c].abs() < 1e-14 {
            return None;
        }
        a.swap(c, piv);
        b.swap(c, piv);
        for r in c + 1..n {
            let f = a[r][c] / a[c][c];
            for k in c..n {
                a[r][k] -= f * a[c][k];
            }
            b[r] -= f * b[c];
        }
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| a[i][k] * x[k]).sum();
        x[i] = (b[i] - s) / a[i][i];
    }
    Some(x)
}

/// Initial state covariance: diffuse for the differencing states, stationary ARMA block.
fn initial_cov(ss: &StateSpace, d: usize, sigma2: f64, diffuse: f64) -> Option<Vec<Vec<f64>>> {
    let k = ss.m - d;
    let a = |i: usize, j: usize| ss.t[d + i][d + j];
    // (I − A⊗A) vec(Γ) = σ² vec(r rᵀ)
    let mut mat = vec![vec![0.0; k * k]; k * k];
    let mut rhs = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..k {
            let row = i * k + j;
            mat[row][row] += 1.0;
            for u in 0..k {
                for v in 0..k {
                    mat[row][u * k + v] -= a(i, u) * a(j, v);
                }
            }
            rhs[row] = sigma2 * ss.r[d + i] * ss.r[d + j];
        }
    }
    let g = solve(mat, rhs)?;
    let mut p = vec![vec![0.0; ss.m]; ss.m];
    for (i, row) in p.iter_mut().enumerate().take(d) {
        row[i] = diffuse;
    }
    for i in 0..k {
        for j in 0..k {
            p[d + i][d + j] = g[i * k + j];
        }
    }
    Some(p)
}

/// Log-likelihood, last predicted state and covariance, and the state space.
type Filtered = (f64, Vec<f64>, Vec<Vec<f64>>, StateSpace);

/// Run the Kalman filter; returns the log-likelihood and the predicted state and
/// covariance after the last observation.
fn filter(y: &[f64], order: Order, ar: &[f64], ma: &[f64], sigma2: f64, diffuse: f64) -> Option<Filtered> {
    let ss = build(order, ar, ma);
    let m = ss.m;
    let mut a = vec![0.0; m];
    let mut p = initial_cov(&ss, order.d, sigma2, diffuse)?;
    let mut llf = 0.0;
    let ln2pi = (2.0 * std::f64::consts::PI).ln();
    for (t, &obs) in y.iter().enumerate() {
        let pz: Vec<f64> = (0..m).map(|i| (0..m).map(|j| p[i][j] * ss.z[j]).sum()).collect();
        let f: f64 = (0..m).map(|i| ss.z[i] * pz[i]).sum();
        let v = obs - (0..m).map(|i| ss.z[i] * a[i]).sum::<f64>();
        if !(f > 0.0) {
            return None;
        }
        if t >= order.d {
            llf += -0.5 * (ln2pi + f.ln() + v * v / f);
        }
        // Update.
        for i in 0..m {
            a[i] += pz[i] * v / f;
        }
        for i in 0..m {
            for j in 0..m {
                p[i][j] -= pz[i] * pz[j] / f;
            }
        }
        // Predict.
        let (na, np) = predict(&ss, &a, &p, sigma2);
        a = na;
        p = np;
    }
    Some((llf, a, p, ss))
}

fn predict(ss: &StateSpace, a: &[f64], p: &[Vec<f64>], sigma2: f64) -> (Vec<f64>, Vec<Vec<f64>>) {
    let m = ss.m;
    let na: Vec<f64> = (0..m).map(|i| (0..m).map(|j| ss.t[i][j] * a[j]).sum()).collect();
    let tp: Vec<Vec<f64>> = (0..m).map(|i| (0..m).map(|j| (0..m).map(|k| ss.t[i][k] * p[k][j]).sum()).collect()).collect();
    let np =
        (0..m).map(|i| (0..m).map(|j| (0..m).map(|k| tp[i][k] * ss.t[j][k]).sum::<f64>() + sigma2 * ss.r[i] * ss.r[j]).collect()).collect();
    (na, np)
}

/// Map unconstrained reals to stationary AR coefficients φ (y_t = φ₁y_{t−1} + …)
/// (Monahan 1984 / Jones 1980, as statsmodels' `constrain_stationary_univariate`).
fn constrain(x: &[f64]) -> Vec<f64> {
    let n = x.len();
    let r: Vec<f64> = x.iter().map(|v| v / (1.0 + v * v).sqrt()).collect();
    let mut y = vec![vec![0.0; n]; n];
    for k in 0..n {
        for i in 0..k {
            y[k][i] = y[k - 1][i] + r[k] * y[k - 1][k - i - 1];
        }
        y[k][k] = r[k];
    }
    if n == 0 {
        return Vec::new();
    }
    y[n - 1].iter().map(|v| -v).collect()
}

/// Inverse of [`constrain`].
fn unconstrain(c: &[f64]) -> Vec<f64> {
    let n = c.len();
    let mut y = vec![vec![0.0; n]; n];
    if n == 0 {
        return Vec::new();
    }
    y[n - 1] = c.iter().map(|v| -v).collect();
    for k in (1..n).rev() {
        let rk = y[k][k];
        for i in 0..k {
            y[k - 1][i] = (y[k][i] - rk * y[k][k - i - 1]) / (1.0 - rk * rk);
        }
    }
    (0..n)
        .map(|k| {
            let r = y[k][k].clamp(-0.999_999, 0.999_999);
            r / (1.0 - r * r).sqrt()
        })
        .collect()
}

fn pack(ar: &[f64], ma: &[f64], sigma: f64) -> Vec<f64> {
    let mut x = unconstrain(ar);
    x.extend(unconstrain(&ma.iter().map(|v| -v).collect::<Vec<_>>()));
    x.push(sigma);
    x
}

/// Whether AR coefficients are stationary (all partial autocorrelations inside (−1, 1)).
fn is_stationary(c: &[f64]) -> bool {
    let n = c.len();
    if n == 0 {
        return true;
    }
    let mut y = c.iter().map(|v| -v).collect::<Vec<_>>();
    for k in (0..n).rev() {
        let rk = y[k];
        if !(rk.abs() < 1.0) {
            return false;
        }
        let prev: Vec<f64> = (0..k).map(|i| (y[i] - rk * y[k - i - 1]) / (1.0 - rk * rk)).collect();
        y = prev;
    }
    true
}

/// statsmodels' `_conditional_sum_squares` start values on the differenced series.
fn css_start(w: &[f64], p: usize, q: usize) -> (Vec<f64>, Vec<f64>, f64) {
    let k = 2 * q;
    let r = (k + q).max(p);
    let n = w.len();
    let fallback = || {
        let m = w.iter().sum::<f64>() / n.max(1) as f64;
        (vec![0.0; p], vec![0.0; q], w.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / n.max(1) as f64)
    };
    if n <= r + p + q + 1 {
        return fallback();
    }
    let mut resid_ar = Vec::new();
    if q > 0 {
        let x: Vec<Vec<f64>> = (k..n).map(|t| (1..=k).map(|j| w[t - j]).collect()).collect();
        let y: Vec<f64> = w[k..].to_vec();
        let Ok((b, _)) = lstsq(&x, &y) else {
            return fallback();
        };
        resid_ar = x.iter().zip(&y).map(|(row, yi)| yi - row.iter().zip(&b).map(|(a, c)| a * c).sum::<f64>()).collect();
    }
    // resid_ar[i] is the residual at time i + k.
    let x: Vec<Vec<f64>> = (r..n)
        .map(|t| {
            let mut row: Vec<f64> = (1..=p).map(|j| w[t - j]).collect();
            row.extend((1..=q).map(|j| if t >= k + j { resid_ar[t - k - j] } else { 0.0 }));
            row
        })
        .collect();
    let y: Vec<f64> = w[r..].to_vec();
    if p + q == 0 {
        return fallback();
    }
    let Ok((b, _)) = lstsq(&x, &y) else {
        return fallback();
    };
    let resid: Vec<f64> = x.iter().zip(&y).map(|(row, yi)| yi - row.iter().zip(&b).map(|(a, c)| a * c).sum::<f64>()).collect();
    let tail = &resid[q.min(resid.len())..];
    let s2 = tail.iter().map(|v| v * v).sum::<f64>() / tail.len().max(1) as f64;
    let mut ar = b[..p].to_vec();
    let mut ma = b[p..].to_vec();
    if !is_stationary(&ar) {
        ar.iter_mut().for_each(|v| *v = 0.0);
    }
    if !is_stationary(&ma.iter().map(|v| -v).collect::<Vec<_>>()) {
        ma.iter_mut().for_each(|v| *v = 0.0);
    }
    (ar, ma, s2)
}

fn unpack(order: Order, x: &[f64]) -> (Vec<f64>, Vec<f64>, f64) {
    let ar = constrain(&x[..order.p]);
    // MA invertibility: θ(L) = 1 + θ₁L + … is invertible when −θ is "stationary".
    let ma: Vec<f64> = constrain(&x[order.p..order.p + order.q]).iter().map(|v| -v).collect();
    let sigma2 = x[order.p + order.q] * x[order.p + order.q];
    (ar, ma, sigma2)
}

/// Fit ARIMA(p, d, q) by maximum likelihood (no constant), the way statsmodels does:
/// start from conditional-sum-of-squares estimates (zeros when they are not
/// stationary/invertible) and climb to the nearest likelihood maximum.
pub fn fit_arima(y: &[f64], order: Order) -> Result<ArimaFit> {
    fit(y, order, false)
}

/// Like [`fit_arima`] but searches the likelihood globally (grid over the first AR
/// and MA coefficients, then refinement). It can find a higher likelihood than
/// statsmodels' local search when the surface has several optima.
pub fn fit_arima_global(y: &[f64], order: Order) -> Result<ArimaFit> {
    fit(y, order, true)
}

fn fit(y: &[f64], order: Order, global: bool) -> Result<ArimaFit> {
    let n_params = order.p + order.q + 1;
    if y.len() < order.d + n_params + 2 {
        return Err(Error::TooFew { what: "ARIMA observations", need: order.d + n_params + 2, got: y.len() });
    }
    if y.iter().any(|v| !v.is_finite()) {
        return Err(Error::Parameter { name: "series", detail: "non-finite value".into() });
    }
    // Scale of the innovations: variance of the d-th differences.
    let mut w = y.to_vec();
    for _ in 0..order.d {
        w = w.windows(2).map(|p| p[1] - p[0]).collect();
    }
    let mean = w.iter().sum::<f64>() / w.len() as f64;
    let var = (w.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / w.len() as f64).max(1e-12);
    let scale = var.sqrt();
    // Work on y / scale for numerical conditioning (the diffuse variance is scaled
    // alike, so the problem is equivalent); llf shifts by −n' ln(scale).
    let ys: Vec<f64> = y.iter().map(|v| v / scale).collect();
    let nll = |x: &[f64]| -> f64 {
        let (ar, ma, s2) = unpack(order, x);
        if !(s2 > 0.0) {
            return f64::INFINITY;
        }
        match filter(&ys, order, &ar, &ma, s2, DIFFUSE / var) {
            Some((l, ..)) if l.is_finite() => -l,
            _ => f64::INFINITY,
        }
    };
    let mut f = nll;
    let best = if global {
        // Coarse grid over the first AR and MA coefficients, others at 0, σ = 1,
        // then simplex refinement of the three best cells.
        let grid: Vec<f64> = (-9..=9).map(|i| i as f64 * 0.1).collect();
        let ar_grid: Vec<f64> = if order.p > 0 { grid.clone() } else { vec![0.0] };
        let ma_grid: Vec<f64> = if order.q > 0 { grid.clone() } else { vec![0.0] };
        let mut starts: Vec<(f64, Vec<f64>)> = Vec::new();
        for &a in &ar_grid {
            for &b in &ma_grid {
                let mut ar = vec![0.0; order.p];
                let mut ma = vec![0.0; order.q];
                if order.p > 0 {
                    ar[0] = a;
                }
                if order.q > 0 {
                    ma[0] = b;
                }
                let x = pack(&ar, &ma, 1.0);
                let v = f(&x);
                if v.is_finite() {
                    starts.push((v, x));
                }
            }
        }
        starts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut best: Option<(Vec<f64>, f64)> = None;
        for (_, x0) in starts.iter().take(3) {
            let (x, v) = nelder_mead(&mut f, x0, 0.2, 1e-12, 1e-9, 4000);
            let (x2, v2) = bfgs(&mut f, &x, 1e-9, 200);
            let (x, v) = if v2 < v { (x2, v2) } else { (x, v) };
            if best.as_ref().is_none_or(|b| v < b.1) {
                best = Some((x, v));
            }
        }
        best
    } else {
        // statsmodels' route: conditional-sum-of-squares start, then a local
        // quasi-Newton descent of −llf/n in statsmodels' own parametrization
        // (σ in the data's units) and with L-BFGS-B's default stopping rules
        // (projected gradient 1e-5, relative decrease 1e7·ε, 50 iterations).
        // In those units the likelihood is nearly flat in σ, so, as in statsmodels,
        // σ² stays close to its start; reproducing that matters because the
        // approximate diffuse prior makes the optimum of (φ, θ) depend on σ².
        let (ar0, ma0, s0) = css_start(&w, order.p, order.q);
        let n_obs = y.len() as f64;
        let mut g = |x: &[f64]| -> f64 {
            let mut xs = x.to_vec();
            xs[order.p + order.q] /= scale;
            f(&xs) / n_obs
        };
        let x0 = pack(&ar0, &ma0, s0.max(1e-300).sqrt());
        let (mut x, v) = bfgs_lbfgsb_like(&mut g, &x0, 1e-5, 1e7 * f64::EPSILON, 50);
        x[order.p + order.q] /= scale;
        Some((x, v * n_obs))
    };
    let (x, v) = best.ok_or(Error::NoConvergence("ARIMA likelihood"))?;
    let (ar, ma, s2) = unpack(order, &x);
    let n_eff = (y.len() - order.d) as f64;
    let llf = -v - n_eff * scale.ln();
    Ok(ArimaFit { order, ar, ma, sigma2: s2 * var, llf, aic: -2.0 * llf + 2.0 * n_params as f64, series: y.to_vec() })
}

impl ArimaFit {
    /// Forecast `steps` ahead with a `level` (e.g. 0.95) normal prediction interval.
    pub fn forecast(&self, steps: usize, level: f64) -> Result<Forecast> {
        let (_, mut a, mut p, ss) =
            filter(&self.series, self.order, &self.ar, &self.ma, self.sigma2, DIFFUSE).ok_or(Error::NoConvergence("ARIMA filter"))?;
        let zq = norm_ppf(0.5 + level / 2.0);
        let (mut mean, mut lower, mut upper) = (Vec::new(), Vec::new(), Vec::new());
        for h in 0..steps {
            if h > 0 {
                let (na, np) = predict(&ss, &a, &p, self.sigma2);
                a = na;
                p = np;
            }
            let m: f64 = (0..ss.m).map(|i| ss.z[i] * a[i]).sum();
            let var: f64 = (0..ss.m).map(|i| (0..ss.m).map(|j| ss.z[i] * p[i][j] * ss.z[j]).sum::<f64>()).sum();
            let half = zq * var.max(0.0).sqrt();
            mean.push(m);
            lower.push(m - half);
            upper.push(m + half);
        }
        Ok(Forecast { mean, lower, upper })
    }
}

/// Fit every order with `p, q ≤ max_pq` at the given `d` and return the lowest-AIC fit.
pub fn select_by_aic(y: &[f64], d: usize, max_pq: usize) -> Result<ArimaFit> {
    let mut best: Option<ArimaFit> = None;
    for p in 0..=max_pq {
        for q in 0..=max_pq {
            if let Ok(fit) = fit_arima(y, Order { p, d, q })
                && best.as_ref().is_none_or(|b| fit.aic < b.aic)
            {
                best = Some(fit);
            }
        }
    }
    best.ok_or(Error::NoConvergence("no ARIMA order could be fitted"))
}
