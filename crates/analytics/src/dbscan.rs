//! DBSCAN density clustering with scikit-learn's labelling.
//!
//! A point is core when at least `min_samples` points (itself included) lie within
//! `eps` (squared distance `<= eps²`). Clusters are grown from core points in input
//! order and a border point joins the first cluster that reaches it, which is exactly
//! how scikit-learn numbers clusters, so labels agree with it (noise = -1).
//! Neighbourhoods are found through a uniform grid (cell diameter just under `eps`),
//! with early exits when counting core neighbours, so memory stays linear and dense
//! data stays fast.

use std::collections::HashMap;

use crate::error::{Error, Result};

/// Parameters of [`dbscan`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DbscanParams {
    /// Neighbourhood radius.
    pub eps: f64,
    /// Minimum neighbourhood size (including the point) of a core point.
    pub min_samples: usize,
}

impl Default for DbscanParams {
    fn default() -> Self {
        DbscanParams { eps: 0.3, min_samples: 20 }
    }
}

/// Uniform grid whose cells have a diameter just under `eps`, so that every pair of
/// points in one cell are neighbours; neighbouring cells are those within
/// `floor(sqrt(d)) + 1` cells along every axis.
struct Grid {
    cells: Vec<Vec<usize>>,
    neighbours: Vec<Vec<usize>>,
    cell_of: Vec<usize>,
}

impl Grid {
    fn new(x: &[Vec<f64>], eps: f64) -> Self {
        let d = x[0].len();
        let side = eps / (d as f64).sqrt() * (1.0 - 1e-12);
        let reach = (d as f64).sqrt().floor() as i64 + 1;
        let mut index: HashMap<Vec<i64>, usize> = HashMap::new();
        let mut keys: Vec<Vec<i64>> = Vec::new();
        let mut cells: Vec<Vec<usize>> = Vec::new();
        let mut cell_of = Vec::with_capacity(x.len());
        for (i, p) in x.iter().enumerate() {
            let key: Vec<i64> = p.iter().map(|v| (v / side).floor() as i64).collect();
            let c = *index.entry(key.clone()).or_insert_with(|| {
                keys.push(key);
                cells.push(Vec::new());
                cells.len() - 1
            });
            cells[c].push(i);
            cell_of.push(c);
        }
        let span = (2 * reach + 1) as usize;
        let combos = span.pow(d as u32);
        let neighbours = keys
            .iter()
            .enumerate()
            .map(|(me, key)| {
                let mut out = Vec::new();
                let mut probe = key.clone();
                for combo in 0..combos {
                    let mut rest = combo;
                    for j in 0..d {
                        probe[j] = key[j] + (rest % span) as i64 - reach;
                        rest /= span;
                    }
                    if let Some(&c) = index.get(&probe)
                        && c != me
                    {
                        out.push(c);
                    }
                }
                out
            })
            .collect();
        Grid { cells, neighbours, cell_of }
    }
}

fn within(p: &[f64], q: &[f64], eps2: f64) -> bool {
    let mut s = 0.0;
    for j in 0..p.len() {
        let t = p[j] - q[j];
        s += t * t;
    }
    s <= eps2
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// Cluster `x`; returns one label per row, `-1` for noise.
///
/// Clusters are the connected components of core points; each is numbered by its
/// lowest-index core point, and a border point takes the smallest number among the
/// clusters of its core neighbours. This is the labelling scikit-learn's
/// sequential expansion produces.
pub fn dbscan(x: &[Vec<f64>], params: &DbscanParams) -> Result<Vec<i64>> {
    if !(params.eps > 0.0 && params.eps.is_finite()) {
        return Err(Error::Parameter { name: "eps", detail: format!("must be positive, got {}", params.eps) });
    }
    if x.is_empty() {
        return Ok(Vec::new());
    }
    let d = x[0].len();
    if d == 0 || x.iter().any(|r| r.len() != d || r.iter().any(|v| !v.is_finite())) {
        return Err(Error::Shape("rows of different lengths or non-finite".into()));
    }
    let eps2 = params.eps * params.eps;
    let grid = Grid::new(x, params.eps);
    let min = params.min_samples;
    // Core points: own cell counts whole; neighbour cells are scanned until `min` is reached.
    let mut core = vec![false; x.len()];
    for (c, members) in grid.cells.iter().enumerate() {
        for &i in members {
            let mut count = members.len();
            'scan: for &nc in &grid.neighbours[c] {
                if count >= min {
                    break;
                }
                for &j in &grid.cells[nc] {
                    if within(&x[i], &x[j], eps2) {
                        count += 1;
                        if count >= min {
                            break 'scan;
                        }
                    }
                }
            }
            core[i] = count >= min;
        }
    }
    // Union-find over cells holding core points.
    let core_pts: Vec<Vec<usize>> = grid.cells.iter().map(|m| m.iter().copied().filter(|&i| core[i]).collect()).collect();
    let mut parent: Vec<usize> = (0..grid.cells.len()).collect();
    for c in 0..grid.cells.len() {
        if core_pts[c].is_empty() {
            continue;
        }
        for &nc in &grid.neighbours[c] {
            if nc < c || core_pts[nc].is_empty() {
                continue;
            }
            let (a, b) = (find(&mut parent, c), find(&mut parent, nc));
            if a == b {
                continue;
            }
            let linked = core_pts[c].iter().any(|&i| core_pts[nc].iter().any(|&j| within(&x[i], &x[j], eps2)));
            if linked {
                parent[a.max(b)] = a.min(b);
            }
        }
    }
    // Number clusters by their lowest-index core point.
    let mut number: HashMap<usize, i64> = HashMap::new();
    let mut labels = vec![-1i64; x.len()];
    for i in 0..x.len() {
        if core[i] {
            let root = find(&mut parent, grid.cell_of[i]);
            let next = number.len() as i64;
            labels[i] = *number.entry(root).or_insert(next);
        }
    }
    // Border points: smallest cluster number among core neighbours.
    for i in 0..x.len() {
        if core[i] {
            continue;
        }
        let c = grid.cell_of[i];
        let mut best = i64::MAX;
        for nc in std::iter::once(c).chain(grid.neighbours[c].iter().copied()) {
            for &j in &core_pts[nc] {
                if labels[j] < best && within(&x[i], &x[j], eps2) {
                    best = labels[j];
                }
            }
        }
        if best != i64::MAX {
            labels[i] = best;
        }
    }
    Ok(labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_groups_and_noise() {
        let mut x = Vec::new();
        for i in 0..10 {
            x.push(vec![i as f64 * 0.1, 0.0]);
            x.push(vec![10.0 + i as f64 * 0.1, 0.0]);
        }
        x.push(vec![5.0, 5.0]);
        let l = dbscan(&x, &DbscanParams { eps: 0.15, min_samples: 3 }).unwrap();
        assert_eq!(l[0], 0);
        assert_eq!(l[1], 1);
        assert!(l.iter().step_by(2).take(10).all(|&v| v == 0));
        assert_eq!(l[20], -1);
    }
}
