//! Additive Holt-Winters exponential smoothing (level, trend, additive seasonality)
//! with smoothing parameters fitted by least squares and approximate prediction
//! intervals.
//!
//! The recursions are statsmodels' `ExponentialSmoothing(trend="add",
//! seasonal="add")`:
//!
//! ```text
//! l_t = α (y_t − s_{t−m}) + (1 − α)(l_{t−1} + b_{t−1})
//! b_t = β (l_t − l_{t−1}) + (1 − β) b_{t−1}
//! s_t = γ (y_t − l_{t−1} − b_{t−1}) + (1 − γ) s_{t−m}
//! ŷ_{t+h} = l_t + h b_t + s_{t+h−m⌈h/m⌉}
//! ```
//!
//! As in statsmodels, forecasts use the seasonal state from before the last
//! observation's seasonal update (this affects horizons that are multiples of m).
//! Initial states use the classical rule: level = mean of the first season, trend =
//! (mean of the second season − mean of the first) / m, seasonals = first-season
//! values minus the initial level. Intervals use the ETS(A,A,A) forecast variance
//! `σ² (1 + Σ_{j<h} (α + αβ j + γ [j mod m = 0])²)` with `σ² = SSE / n`.

use crate::error::{Error, Result};
use crate::optim::nelder_mead;
use crate::special::norm_ppf;

/// Smoothing parameters, each in `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Smoothing {
    /// Level smoothing α.
    pub alpha: f64,
    /// Trend smoothing β.
    pub beta: f64,
    /// Seasonal smoothing γ.
    pub gamma: f64,
}

/// Initial states.
#[derive(Debug, Clone, PartialEq)]
pub struct InitialState {
    /// Initial level.
    pub level: f64,
    /// Initial trend.
    pub trend: f64,
    /// Initial seasonal effects, one per season position (oldest first).
    pub seasonal: Vec<f64>,
}

/// A fitted Holt-Winters model.
#[derive(Debug, Clone, PartialEq)]
pub struct HoltWinters {
    /// Season length.
    pub period: usize,
    /// Smoothing parameters.
    pub smoothing: Smoothing,
    /// Initial states.
    pub initial: InitialState,
    /// Sum of squared one-step errors.
    pub sse: f64,
    /// One-step fitted values.
    pub fitted: Vec<f64>,
    level: f64,
    trend: f64,
    seasonal: Vec<f64>,
    n: usize,
}

/// The classical initial states (needs two full seasons).
pub fn classical_initial(y: &[f64], m: usize) -> Result<InitialState> {
    if m < 2 || y.len() < 2 * m {
        return Err(Error::TooFew { what: "observations for two seasons", need: 2 * m.max(2), got: y.len() });
    }
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
    let (a, b) = (mean(&y[..m]), mean(&y[m..2 * m]));
    Ok(InitialState { level: a, trend: (b - a) / m as f64, seasonal: y[..m].iter().map(|v| v - a).collect() })
}

/// Run the recursions with given parameters and initial states.
pub fn smooth(y: &[f64], m: usize, s: Smoothing, init: &InitialState) -> Result<HoltWinters> {
    if init.seasonal.len() != m || m == 0 {
        return Err(Error::Shape(format!("{} seasonal states for period {m}", init.seasonal.len())));
    }
    for (name, v) in [("alpha", s.alpha), ("beta", s.beta), ("gamma", s.gamma)] {
        if !(0.0..=1.0).contains(&v) {
            return Err(Error::Parameter { name, detail: format!("must be in [0, 1], got {v}") });
        }
    }
    let (mut l, mut b) = (init.level, init.trend);
    let mut seas = init.seasonal.clone();
    let mut fitted = Vec::with_capacity(y.len());
    let mut sse = 0.0;
    let mut last_seasonal_before_update = None;
    for (t, &yt) in y.iter().enumerate() {
        let st = seas[t % m];
        last_seasonal_before_update = Some((t % m, st));
        let f = l + b + st;
        fitted.push(f);
        sse += (yt - f) * (yt - f);
        let nl = s.alpha * (yt - st) + (1.0 - s.alpha) * (l + b);
        let nb = s.beta * (nl - l) + (1.0 - s.beta) * b;
        seas[t % m] = s.gamma * (yt - l - b) + (1.0 - s.gamma) * st;
        l = nl;
        b = nb;
    }
    // statsmodels forecasts with the seasonal state as it was before the last
    // observation's seasonal update (it only matters for h ≡ 0 mod m); we do the same.
    if let Some((pos, v)) = last_seasonal_before_update {
        seas[pos] = v;
    }
    Ok(HoltWinters { period: m, smoothing: s, initial: init.clone(), sse, fitted, level: l, trend: b, seasonal: seas, n: y.len() })
}

fn to_unit(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Fit α, β, γ by minimizing the one-step SSE (grid start, then Nelder–Mead on
/// logit-transformed parameters) with the classical initial states.
pub fn fit_holt_winters(y: &[f64], m: usize) -> Result<HoltWinters> {
    let init = classical_initial(y, m)?;
    fit_with_initial(y, m, &init)
}

/// Like [`fit_holt_winters`] with caller-supplied initial states.
pub fn fit_with_initial(y: &[f64], m: usize, init: &InitialState) -> Result<HoltWinters> {
    let mut sse = |p: &[f64]| -> f64 {
        let s = Smoothing { alpha: to_unit(p[0]), beta: to_unit(p[1]), gamma: to_unit(p[2]) };
        smooth(y, m, s, init).map_or(f64::INFINITY, |h| h.sse)
    };
    let logit = |v: f64| (v / (1.0 - v)).ln();
    let grid = [0.05, 0.2, 0.4, 0.6, 0.8, 0.95];
    let mut starts: Vec<(f64, [f64; 3])> = Vec::new();
    for &a in &grid {
        for &b in &grid {
            for &g in &grid {
                let x = [logit(a), logit(b), logit(g)];
                starts.push((sse(&x), x));
            }
        }
    }
    starts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut best: Option<(Vec<f64>, f64)> = None;
    for (_, x0) in starts.iter().take(4) {
        let (x, v) = nelder_mead(&mut sse, x0, 0.5, 1e-10, 1e-8, 5000);
        let (x, v) = {
            let (x2, v2) = nelder_mead(&mut sse, &x, 0.1, 1e-12, 1e-10, 5000);
            if v2 < v { (x2, v2) } else { (x, v) }
        };
        if best.as_ref().is_none_or(|b| v < b.1) {
            best = Some((x, v));
        }
    }
    let (x, _) = best.ok_or(Error::NoConvergence("Holt-Winters"))?;
    let s = Smoothing { alpha: to_unit(x[0]), beta: to_unit(x[1]), gamma: to_unit(x[2]) };
    smooth(y, m, s, init)
}

impl HoltWinters {
    /// Point forecasts `h = 1..=steps` and a `level` (e.g. 0.95) prediction interval.
    pub fn forecast(&self, steps: usize, level: f64) -> crate::arima::Forecast {
        let m = self.period;
        let s = self.smoothing;
        let sigma2 = self.sse / self.n.max(1) as f64;
        let z = norm_ppf(0.5 + level / 2.0);
        let (mut mean, mut lower, mut upper) = (Vec::new(), Vec::new(), Vec::new());
        let mut cum = 0.0;
        for h in 1..=steps {
            if h > 1 {
                let j = (h - 1) as f64;
                let seasonal = if (h - 1) % m == 0 { s.gamma } else { 0.0 };
                let c = s.alpha + s.alpha * s.beta * j + seasonal;
                cum += c * c;
            }
            let f = self.level + h as f64 * self.trend + self.seasonal[(self.n + h - 1) % m];
            let half = z * (sigma2 * (1.0 + cum)).sqrt();
            mean.push(f);
            lower.push(f - half);
            upper.push(f + half);
        }
        crate::arima::Forecast { mean, lower, upper }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_clean_seasonal_trend() {
        let y: Vec<f64> = (0..48).map(|t| 100.0 + 2.0 * t as f64 + [5.0, -3.0, 0.0, -2.0][t % 4]).collect();
        let hw = fit_holt_winters(&y, 4).unwrap();
        let f = hw.forecast(4, 0.95);
        for (h, v) in f.mean.iter().enumerate() {
            let t = 48 + h;
            let truth = 100.0 + 2.0 * t as f64 + [5.0, -3.0, 0.0, -2.0][t % 4];
            assert!((v - truth).abs() < 1e-3, "{v} vs {truth}");
        }
        assert!(f.lower[0] <= f.mean[0] && f.mean[0] <= f.upper[0]);
    }
}
