//! Nelder–Mead simplex minimization (derivative-free), used for likelihoods.

/// Minimize `f` from `x0` with initial simplex steps `step`; stops when the simplex's
/// function values agree to `ftol` (absolute) and its points to `xtol`, or after `max_iter`.
pub fn nelder_mead(f: &mut dyn FnMut(&[f64]) -> f64, x0: &[f64], step: f64, ftol: f64, xtol: f64, max_iter: usize) -> (Vec<f64>, f64) {
    let n = x0.len();
    let mut pts: Vec<Vec<f64>> = vec![x0.to_vec()];
    for i in 0..n {
        let mut p = x0.to_vec();
        p[i] += if p[i] != 0.0 { step * p[i].abs().max(1.0) } else { step };
        pts.push(p);
    }
    let mut vals: Vec<f64> = pts.iter().map(|p| f(p)).collect();
    for _ in 0..max_iter {
        let mut idx: Vec<usize> = (0..=n).collect();
        idx.sort_by(|&a, &b| vals[a].total_cmp(&vals[b]));
        pts = idx.iter().map(|&i| pts[i].clone()).collect();
        vals = idx.iter().map(|&i| vals[i]).collect();
        let spread = (1..=n).flat_map(|i| (0..n).map(move |j| (i, j))).map(|(i, j)| (pts[i][j] - pts[0][j]).abs()).fold(0.0, f64::max);
        if (vals[n] - vals[0]).abs() <= ftol && spread <= xtol {
            break;
        }
        let centroid: Vec<f64> = (0..n).map(|j| pts[..n].iter().map(|p| p[j]).sum::<f64>() / n as f64).collect();
        let along = |t: f64| -> Vec<f64> { (0..n).map(|j| centroid[j] + t * (pts[n][j] - centroid[j])).collect() };
        let xr = along(-1.0);
        let fr = f(&xr);
        if fr < vals[0] {
            let xe = along(-2.0);
            let fe = f(&xe);
            if fe < fr {
                pts[n] = xe;
                vals[n] = fe;
            } else {
                pts[n] = xr;
                vals[n] = fr;
            }
        } else if fr < vals[n - 1] {
            pts[n] = xr;
            vals[n] = fr;
        } else {
            let (xc, fc) = if fr < vals[n] {
                let x = along(-0.5);
                let v = f(&x);
                (x, v)
            } else {
                let x = along(0.5);
                let v = f(&x);
                (x, v)
            };
            if fc < vals[n].min(fr) {
                pts[n] = xc;
                vals[n] = fc;
            } else {
                for i in 1..=n {
                    pts[i] = (0..n).map(|j| pts[0][j] + 0.5 * (pts[i][j] - pts[0][j])).collect();
                    vals[i] = f(&pts[i]);
                }
            }
        }
    }
    let best = (0..=n).min_by(|&a, &b| vals[a].total_cmp(&vals[b])).unwrap_or(0);
    (pts[best].clone(), vals[best])
}

/// Quasi-Newton (BFGS) minimization with central-difference gradients and a
/// backtracking line search; a local method, so it stays in the basin of `x0`.
pub fn bfgs(f: &mut dyn FnMut(&[f64]) -> f64, x0: &[f64], gtol: f64, max_iter: usize) -> (Vec<f64>, f64) {
    bfgs_lbfgsb_like(f, x0, gtol, 1e-15, max_iter)
}

/// BFGS with scipy L-BFGS-B's stopping rules: stop when the largest gradient
/// component is below `pgtol` or the relative decrease `(f_k − f_{k+1}) / max(|f_k|, |f_{k+1}|, 1)`
/// is at most `ftol`.
pub fn bfgs_lbfgsb_like(f: &mut dyn FnMut(&[f64]) -> f64, x0: &[f64], gtol: f64, ftol: f64, max_iter: usize) -> (Vec<f64>, f64) {
    let n = x0.len();
    let grad = |f: &mut dyn FnMut(&[f64]) -> f64, x: &[f64]| -> Vec<f64> {
        (0..n)
            .map(|i| {
                let h = 1e-6 * x[i].abs().max(1.0);
                let mut a = x.to_vec();
                let mut b = x.to_vec();
                a[i] += h;
                b[i] -= h;
                (f(&a) - f(&b)) / (2.0 * h)
            })
            .collect()
    };
    let mut x = x0.to_vec();
    let mut fx = f(&x);
    let mut g = grad(f, &x);
    let mut h: Vec<Vec<f64>> = (0..n).map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect()).collect();
    for _ in 0..max_iter {
        if g.iter().map(|v| v.abs()).fold(0.0, f64::max) < gtol {
            break;
        }
        let mut dir: Vec<f64> = (0..n).map(|i| -(0..n).map(|j| h[i][j] * g[j]).sum::<f64>()).collect();
        let mut slope: f64 = dir.iter().zip(&g).map(|(d, g)| d * g).sum();
        if slope >= 0.0 {
            // Not a descent direction: reset to steepest descent.
            for (i, row) in h.iter_mut().enumerate() {
                row.iter_mut().enumerate().for_each(|(j, v)| *v = if i == j { 1.0 } else { 0.0 });
            }
            dir = g.iter().map(|v| -v).collect();
            slope = -g.iter().map(|v| v * v).sum::<f64>();
        }
        let mut t = 1.0;
        let (xn, fxn) = loop {
            let cand: Vec<f64> = x.iter().zip(&dir).map(|(a, d)| a + t * d).collect();
            let fc = f(&cand);
            if fc <= fx + 1e-4 * t * slope {
                break (cand, fc);
            }
            t *= 0.5;
            if t < 1e-12 {
                return (x, fx);
            }
        };
        let gn = grad(f, &xn);
        let s: Vec<f64> = xn.iter().zip(&x).map(|(a, b)| a - b).collect();
        let yv: Vec<f64> = gn.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy: f64 = s.iter().zip(&yv).map(|(a, b)| a * b).sum();
        if sy > 1e-12 {
            let hy: Vec<f64> = (0..n).map(|i| (0..n).map(|j| h[i][j] * yv[j]).sum()).collect();
            let yhy: f64 = yv.iter().zip(&hy).map(|(a, b)| a * b).sum();
            for i in 0..n {
                for j in 0..n {
                    h[i][j] += (sy + yhy) * s[i] * s[j] / (sy * sy) - (hy[i] * s[j] + s[i] * hy[j]) / sy;
                }
            }
        }
        let done = (fx - fxn) <= ftol * fx.abs().max(fxn.abs()).max(1.0);
        x = xn;
        fx = fxn;
        g = gn;
        if done {
            break;
        }
    }
    (x, fx)
}

#[cfg(test)]
mod tests {
    #[test]
    fn rosenbrock() {
        let mut f = |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
        let (x, v) = super::nelder_mead(&mut f, &[-1.2, 1.0], 0.5, 1e-14, 1e-9, 5000);
        assert!(v < 1e-10 && (x[0] - 1.0).abs() < 1e-4);
    }
}
