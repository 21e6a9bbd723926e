//! k-means clustering (k-means++ seeding, Lloyd iterations, best of `n_init` restarts),
//! silhouette score, a silhouette-based suggestion of k, and the adjusted Rand index.
//!
//! Seeding follows scikit-learn's greedy k-means++ (`2 + ln k` candidate trials per
//! centre); iterations run until no label changes (or `max_iter`), which converges at
//! least as tightly as scikit-learn's centre-shift tolerance. The random generator is a
//! SplitMix64 seeded by [`KMeansParams::seed`], so results are deterministic.

use crate::error::{Error, Result};

/// Parameters of [`kmeans`].
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansParams {
    /// Number of clusters.
    pub k: usize,
    /// Independent restarts; the lowest inertia wins.
    pub n_init: usize,
    /// Maximum Lloyd iterations per restart.
    pub max_iter: usize,
    /// Random seed.
    pub seed: u64,
}

impl Default for KMeansParams {
    fn default() -> Self {
        KMeansParams {
            k: 4,
            n_init: 10,
            max_iter: 300,
            seed: 0,
        }
    }
}

/// A fitted k-means model.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansModel {
    /// Cluster centres, `k` rows of the input's dimension.
    pub centroids: Vec<Vec<f64>>,
    /// Label (0..k) of each input row.
    pub labels: Vec<usize>,
    /// Sum of squared distances of the rows to their centres.
    pub inertia: f64,
    /// Lloyd iterations of the winning restart.
    pub n_iter: usize,
}

impl KMeansModel {
    /// Renumber clusters so that centroids sort by their coordinates from the last
    /// to the first (the reference's canonical order: monetary, frequency, recency).
    pub fn canonicalize(&mut self) {
        let k = self.centroids.len();
        let mut order: Vec<usize> = (0..k).collect();
        order.sort_by(|&a, &b| {
            let (ca, cb) = (&self.centroids[a], &self.centroids[b]);
            for j in (0..ca.len()).rev() {
                let o = ca[j].total_cmp(&cb[j]);
                if o.is_ne() {
                    return o;
                }
            }
            std::cmp::Ordering::Equal
        });
        let mut relabel = vec![0; k];
        for (new, &old) in order.iter().enumerate() {
            relabel[old] = new;
        }
        self.centroids = order.iter().map(|&o| self.centroids[o].clone()).collect();
        for l in &mut self.labels {
            *l = relabel[*l];
        }
    }

    /// Index of the nearest centre of a point.
    pub fn predict(&self, x: &[f64]) -> usize {
        nearest(x, &self.centroids).0
    }
}

/// Deterministic SplitMix64 generator.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed ^ 0x853c_49e6_748f_ea9b)
    }
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub(crate) fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.uniform() * n as f64) as usize % n.max(1)
    }
}

fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

fn nearest(x: &[f64], centres: &[Vec<f64>]) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for (c, m) in centres.iter().enumerate() {
        let d = sq_dist(x, m);
        if d < best.1 {
            best = (c, d);
        }
    }
    best
}

fn check(x: &[Vec<f64>], k: usize) -> Result<usize> {
    if k == 0 {
        return Err(Error::Parameter {
            name: "k",
            detail: "must be at least 1".into(),
        });
    }
    if x.len() < k {
        return Err(Error::TooFew {
            what: "k-means",
            need: k,
            got: x.len(),
        });
    }
    let d = x[0].len();
    if x.iter().any(|r| r.len() != d) {
        return Err(Error::Shape("rows of different lengths".into()));
    }
    if x.iter().flatten().any(|v| !v.is_finite()) {
        return Err(Error::Parameter {
            name: "x",
            detail: "non-finite value".into(),
        });
    }
    Ok(d)
}

/// Squared distance between flat row slices (index loop: fast in debug builds too).
#[inline]
fn sq(a: &[f64], b: &[f64]) -> f64 {
    let mut s = 0.0;
    for j in 0..a.len() {
        let t = a[j] - b[j];
        s += t * t;
    }
    s
}

#[inline]
fn nearest_flat(p: &[f64], centres: &[f64], d: usize) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for (c, m) in centres.chunks_exact(d).enumerate() {
        let v = sq(p, m);
        if v < best.1 {
            best = (c, v);
        }
    }
    best
}

/// Greedy k-means++ seeding as scikit-learn does it; returns flat centres.
fn plus_plus(x: &[f64], d: usize, k: usize, rng: &mut Rng) -> Vec<f64> {
    let n = x.len() / d;
    let trials = 2 + (k as f64).ln() as usize;
    let first = rng.below(n);
    let mut centres = x[first * d..first * d + d].to_vec();
    let mut closest: Vec<f64> = x.chunks_exact(d).map(|p| sq(p, &centres[..d])).collect();
    let mut cum = vec![0.0; n];
    let mut dist = vec![0.0; n];
    let mut best_dist = vec![0.0; n];
    while centres.len() < k * d {
        let mut acc = 0.0;
        for i in 0..n {
            acc += closest[i];
            cum[i] = acc;
        }
        let mut best: Option<(usize, f64)> = None;
        for _ in 0..trials {
            let r = rng.uniform() * acc;
            let idx = cum.partition_point(|&c| c < r).min(n - 1);
            let cand = &x[idx * d..idx * d + d];
            let mut pot = 0.0;
            for i in 0..n {
                let v = sq(&x[i * d..i * d + d], cand).min(closest[i]);
                dist[i] = v;
                pot += v;
            }
            if best.is_none_or(|b| pot < b.1) {
                best = Some((idx, pot));
                std::mem::swap(&mut dist, &mut best_dist);
            }
        }
        let (idx, _) = best.expect("at least one trial");
        centres.extend_from_slice(&x[idx * d..idx * d + d]);
        std::mem::swap(&mut closest, &mut best_dist);
    }
    centres
}

fn lloyd(
    x: &[f64],
    d: usize,
    mut centres: Vec<f64>,
    max_iter: usize,
) -> (Vec<f64>, Vec<usize>, f64, usize) {
    let n = x.len() / d;
    let k = centres.len() / d;
    let mut labels = vec![usize::MAX; n];
    let mut n_iter = 0;
    let mut sums = vec![0.0; k * d];
    let mut counts = vec![0usize; k];
    for it in 0..max_iter.max(1) {
        n_iter = it + 1;
        let mut changed = false;
        for i in 0..n {
            let (c, _) = nearest_flat(&x[i * d..i * d + d], &centres, d);
            if labels[i] != c {
                labels[i] = c;
                changed = true;
            }
        }
        if !changed && it > 0 {
            break;
        }
        sums.iter_mut().for_each(|v| *v = 0.0);
        counts.iter_mut().for_each(|v| *v = 0);
        for i in 0..n {
            let l = labels[i];
            counts[l] += 1;
            for j in 0..d {
                sums[l * d + j] += x[i * d + j];
            }
        }
        for c in 0..k {
            if counts[c] > 0 {
                for j in 0..d {
                    centres[c * d + j] = sums[c * d + j] / counts[c] as f64;
                }
            } else {
                // Empty cluster: move it to the point farthest from its centre.
                let mut far = (0, -1.0);
                for i in 0..n {
                    let l = labels[i];
                    let v = sq(&x[i * d..i * d + d], &centres[l * d..l * d + d]);
                    if v > far.1 {
                        far = (i, v);
                    }
                }
                let f = far.0;
                for j in 0..d {
                    centres[c * d + j] = x[f * d + j];
                }
            }
        }
    }
    let mut inertia = 0.0;
    for i in 0..n {
        let (c, v) = nearest_flat(&x[i * d..i * d + d], &centres, d);
        labels[i] = c;
        inertia += v;
    }
    (centres, labels, inertia, n_iter)
}

/// Fit k-means with k-means++ seeding and `n_init` restarts; the lowest inertia wins.
pub fn kmeans(x: &[Vec<f64>], params: &KMeansParams) -> Result<KMeansModel> {
    let d = check(x, params.k)?;
    let flat: Vec<f64> = x.iter().flatten().copied().collect();
    let mut rng = Rng::new(params.seed);
    let mut best: Option<(Vec<f64>, Vec<usize>, f64, usize)> = None;
    for _ in 0..params.n_init.max(1) {
        let seeds = plus_plus(&flat, d, params.k, &mut rng);
        let m = lloyd(&flat, d, seeds, params.max_iter);
        if best.as_ref().is_none_or(|b| m.2 < b.2) {
            best = Some(m);
        }
    }
    let (centres, labels, inertia, n_iter) = best.expect("n_init >= 1");
    Ok(KMeansModel {
        centroids: centres.chunks_exact(d).map(<[f64]>::to_vec).collect(),
        labels,
        inertia,
        n_iter,
    })
}

/// Mean silhouette coefficient of a labelling (Euclidean). Points in singleton
/// clusters score 0, as in scikit-learn. Labels below 0 (noise) are ignored.
/// Cost is O(n²); pass a subsample for large data (see [`suggest_k`]).
pub fn silhouette(x: &[Vec<f64>], labels: &[i64]) -> Result<f64> {
    if x.len() != labels.len() {
        return Err(Error::Shape("labels and rows differ in length".into()));
    }
    let idx: Vec<usize> = (0..x.len()).filter(|&i| labels[i] >= 0).collect();
    let mut ids: Vec<i64> = idx.iter().map(|&i| labels[i]).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.len() < 2 {
        return Err(Error::TooFew {
            what: "silhouette clusters",
            need: 2,
            got: ids.len(),
        });
    }
    let pos = |l: i64| ids.binary_search(&l).expect("known label");
    let mut sizes = vec![0usize; ids.len()];
    for &i in &idx {
        sizes[pos(labels[i])] += 1;
    }
    let mut total = 0.0;
    let mut sums = vec![0.0; ids.len()];
    for &i in &idx {
        sums.iter_mut().for_each(|s| *s = 0.0);
        for &j in &idx {
            sums[pos(labels[j])] += sq_dist(&x[i], &x[j]).sqrt();
        }
        let own = pos(labels[i]);
        if sizes[own] <= 1 {
            continue;
        }
        let a = sums[own] / (sizes[own] - 1) as f64;
        let b = (0..ids.len())
            .filter(|&c| c != own)
            .map(|c| sums[c] / sizes[c] as f64)
            .fold(f64::INFINITY, f64::min);
        let m = a.max(b);
        if m > 0.0 {
            total += (b - a) / m;
        }
    }
    Ok(total / idx.len() as f64)
}

/// One candidate in a k suggestion.
#[derive(Debug, Clone, PartialEq)]
pub struct KScore {
    /// Number of clusters.
    pub k: usize,
    /// Inertia of the fit (for an elbow plot).
    pub inertia: f64,
    /// Mean silhouette on the evaluation sample.
    pub silhouette: f64,
}

/// Fit k-means for each k in `ks` and return the scores plus the k with the best
/// silhouette. The silhouette is computed on at most `sample` evenly spaced rows.
pub fn suggest_k(
    x: &[Vec<f64>],
    ks: std::ops::RangeInclusive<usize>,
    base: &KMeansParams,
    sample: usize,
) -> Result<(usize, Vec<KScore>)> {
    let step = x.len().div_ceil(sample.max(2)).max(1);
    let rows: Vec<usize> = (0..x.len()).step_by(step).collect();
    let xs: Vec<Vec<f64>> = rows.iter().map(|&i| x[i].clone()).collect();
    let mut scores = Vec::new();
    for k in ks {
        if k < 2 {
            continue;
        }
        let m = kmeans(x, &KMeansParams { k, ..base.clone() })?;
        let ls: Vec<i64> = rows.iter().map(|&i| m.labels[i] as i64).collect();
        let s = silhouette(&xs, &ls).unwrap_or(f64::NEG_INFINITY);
        scores.push(KScore {
            k,
            inertia: m.inertia,
            silhouette: s,
        });
    }
    let best = scores
        .iter()
        .max_by(|a, b| a.silhouette.total_cmp(&b.silhouette))
        .map(|s| s.k)
        .ok_or(Error::Parameter {
            name: "ks",
            detail: "no k >= 2".into(),
        })?;
    Ok((best, scores))
}

/// Adjusted Rand index of two labellings (1 = identical up to renumbering).
pub fn adjusted_rand_index(a: &[i64], b: &[i64]) -> Result<f64> {
    if a.len() != b.len() {
        return Err(Error::Shape("labellings differ in length".into()));
    }
    use std::collections::HashMap;
    let mut table: HashMap<(i64, i64), u64> = HashMap::new();
    let mut ra: HashMap<i64, u64> = HashMap::new();
    let mut rb: HashMap<i64, u64> = HashMap::new();
    for (&x, &y) in a.iter().zip(b) {
        *table.entry((x, y)).or_default() += 1;
        *ra.entry(x).or_default() += 1;
        *rb.entry(y).or_default() += 1;
    }
    let c2 = |n: u64| (n as f64) * (n as f64 - 1.0) / 2.0;
    let index: f64 = table.values().map(|&n| c2(n)).sum();
    let sa: f64 = ra.values().map(|&n| c2(n)).sum();
    let sb: f64 = rb.values().map(|&n| c2(n)).sum();
    let expected = sa * sb / c2(a.len() as u64);
    let max = (sa + sb) / 2.0;
    if max == expected {
        return Ok(1.0);
    }
    Ok((index - expected) / (max - expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blobs() -> Vec<Vec<f64>> {
        let mut rng = Rng::new(7);
        let mut x = Vec::new();
        for c in [[0.0, 0.0], [5.0, 5.0], [0.0, 5.0]] {
            for _ in 0..50 {
                x.push(vec![c[0] + rng.uniform(), c[1] + rng.uniform()]);
            }
        }
        x
    }

    #[test]
    fn finds_three_blobs_deterministically() {
        let x = blobs();
        let p = KMeansParams {
            k: 3,
            ..Default::default()
        };
        let m = kmeans(&x, &p).unwrap();
        assert_eq!(m, kmeans(&x, &p).unwrap());
        let truth: Vec<i64> = (0..150).map(|i| i / 50).collect();
        let got: Vec<i64> = m.labels.iter().map(|&l| l as i64).collect();
        assert!((adjusted_rand_index(&truth, &got).unwrap() - 1.0).abs() < 1e-12);
        let (k, _) = suggest_k(&x, 2..=5, &p, 150).unwrap();
        assert_eq!(k, 3);
        assert!(silhouette(&x, &got).unwrap() > 0.7);
    }
}
