//! k-means clustering (k-means++ seeding, Lloyd iterations, best of `n_init` restarts),
//! silhouette score, a silhouette-based suggestion of k, and the adjusted Rand index.
//!
//! Seeding follows scikit-learn's greedy k-means++ (`2 + ln k` candidate trials per
//! centre). Each restart stops like scikit-learn's (no label changes, or a total
//! squared centre shift of at most `tol` times the mean feature variance); the winning
//! restart is then iterated until no label changes, so it converges at least as
//! tightly as scikit-learn's result. The random generator is a SplitMix64 seeded by
//! [`KMeansParams::seed`], so results are deterministic.
//!
//! **Speed.** The data is copied once into columns, and every pass (seeding and
//! Lloyd steps) runs over blocks of 8,192 points with kernels that work on eight
//! points at a time — compiled for AVX-512 or AVX2 when the processor has them, chosen
//! at run time. Blocks are shared among up to [`KMeansParams::threads`] scoped
//! threads; each block's partial sums are kept per lane and combined in a fixed order,
//! so the result is bit-for-bit the same for any thread count and instruction set.

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
    /// Early stop of each restart when the total squared centre shift of an
    /// iteration is at most `tol` times the mean per-feature variance
    /// (scikit-learn's rule and default, 1e-4); the winning restart is then iterated
    /// on until no label changes, so its inertia is at most what the early stop
    /// gave. 0 iterates every restart until no label changes.
    pub tol: f64,
    /// Worker threads (0 = the machine's parallelism). Results do not depend on it.
    pub threads: usize,
}

impl Default for KMeansParams {
    fn default() -> Self {
        KMeansParams { k: 4, n_init: 10, max_iter: 300, seed: 0, tol: 1e-4, threads: 0 }
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
        return Err(Error::Parameter { name: "k", detail: "must be at least 1".into() });
    }
    if x.len() < k {
        return Err(Error::TooFew { what: "k-means", need: k, got: x.len() });
    }
    let d = x[0].len();
    if x.iter().any(|r| r.len() != d) {
        return Err(Error::Shape("rows of different lengths".into()));
    }
    if x.iter().flatten().any(|v| !v.is_finite()) {
        return Err(Error::Parameter { name: "x", detail: "non-finite value".into() });
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

/// Points per block. Every pass over the data works block by block and combines the
/// blocks' partial results in block order, so results do not depend on the number
/// of threads.
const BLOCK: usize = 8192;

/// Threads to use for `n` points (`requested` 0 = the machine's parallelism).
fn thread_count(requested: usize, n: usize) -> usize {
    let t = if requested == 0 { std::thread::available_parallelism().map_or(1, |v| v.get()) } else { requested };
    t.clamp(1, n.div_ceil(BLOCK).max(1))
}

/// Run `f(block, point_range, per_point_slice)` over every block of `n` points, the
/// blocks split into `threads` contiguous runs, and return the results in block order.
/// `state` is a per-point array (`n * width` long, or empty) handed out block by block.
fn par_blocks<S, R, F>(n: usize, threads: usize, state: &mut [S], width: usize, f: F) -> Vec<R>
where
    S: Send,
    R: Send,
    F: Fn(std::ops::Range<usize>, &mut [S]) -> R + Sync,
{
    let n_blocks = n.div_ceil(BLOCK);
    let has_state = !state.is_empty();
    let run = |b0: usize, b1: usize, st: &mut [S]| -> Vec<R> {
        let mut out = Vec::with_capacity(b1 - b0);
        let base = b0 * BLOCK;
        for b in b0..b1 {
            let r = b * BLOCK..((b + 1) * BLOCK).min(n);
            let s: &mut [S] = if has_state { &mut st[(r.start - base) * width..(r.end - base) * width] } else { &mut [] };
            out.push(f(r, s));
        }
        out
    };
    if threads <= 1 || n_blocks <= 1 {
        return run(0, n_blocks, state);
    }
    let per = n_blocks.div_ceil(threads);
    std::thread::scope(|scope| {
        let mut handles = Vec::new();
        let mut rest: &mut [S] = state;
        let mut b0 = 0;
        while b0 < n_blocks {
            let b1 = (b0 + per).min(n_blocks);
            let st: &mut [S] = if has_state {
                let len = ((b1 * BLOCK).min(n) - b0 * BLOCK) * width;
                let (head, tail) = std::mem::take(&mut rest).split_at_mut(len);
                rest = tail;
                head
            } else {
                &mut []
            };
            let run = &run;
            handles.push(scope.spawn(move || run(b0, b1, st)));
            b0 = b1;
        }
        handles.into_iter().flat_map(|h| h.join().expect("k-means worker panicked")).collect()
    })
}

/// Lanes of the point-parallel kernels. Every accumulator is an explicit array of
/// `L` partial sums (point `i` of a block goes to lane `i % L`) combined in lane
/// order, so the floating-point result is the same whatever SIMD width the
/// compiler or the processor uses.
const L: usize = 8;

/// Call a kernel with the widest vector instructions this processor has
/// (AVX-512, AVX2, or the baseline), chosen at run time. The kernels are plain
/// Rust; only the instruction set they are compiled for differs.
macro_rules! simd_dispatch {
    ($name:ident, $generic:ident, fn<$($g:ident),*>($($a:ident: $t:ty),*) -> $ret:ty) => {
        fn $name<$(const $g: usize),*>($($a: $t),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                unsafe fn avx512<$(const $g: usize),*>($($a: $t),*) -> $ret {
                    $generic::<$($g),*>($($a),*)
                }
                #[target_feature(enable = "avx2")]
                unsafe fn avx2<$(const $g: usize),*>($($a: $t),*) -> $ret {
                    $generic::<$($g),*>($($a),*)
                }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the processor supports the enabled feature.
                    return unsafe { avx512::<$($g),*>($($a),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the processor supports the enabled feature.
                    return unsafe { avx2::<$($g),*>($($a),*) };
                }
            }
            $generic::<$($g),*>($($a),*)
        }
    };
}

/// Column-major ("structure of arrays") view of the data: column `j` is
/// `xs[j * n..(j + 1) * n]`.
#[derive(Clone, Copy)]
struct Cols<'a> {
    xs: &'a [f64],
    n: usize,
    d: usize,
}

/// Squared distances of the `L` points starting at `i` to point `c` (`d` values).
#[inline(always)]
fn dist_lanes<const D: usize>(cols: Cols<'_>, i: usize, c: &[f64]) -> [f64; L] {
    let d = if D == 0 { cols.d } else { D };
    let mut dist = [0.0; L];
    for j in 0..d {
        let cj = c[j];
        let xj = &cols.xs[j * cols.n + i..j * cols.n + i + L];
        for l in 0..L {
            let t = xj[l] - cj;
            dist[l] += t * t;
        }
    }
    dist
}

/// Squared distance of point `i` to `c` (the scalar tail of a block).
#[inline(always)]
fn dist_one<const D: usize>(cols: Cols<'_>, i: usize, c: &[f64]) -> f64 {
    let d = if D == 0 { cols.d } else { D };
    let mut v = 0.0;
    for j in 0..d {
        let t = cols.xs[j * cols.n + i] - c[j];
        v += t * t;
    }
    v
}

/// Seeding: closest distances of block `r` to centre `c`, their lane sums.
#[inline(always)]
fn seed_first_generic<const D: usize>(cols: Cols<'_>, r: std::ops::Range<usize>, c: &[f64], cl: &mut [f64]) -> f64 {
    let mut acc = [0.0; L];
    let len = r.len();
    let full = len / L * L;
    let mut o = 0;
    while o < full {
        let v = dist_lanes::<D>(cols, r.start + o, c);
        cl[o..o + L].copy_from_slice(&v);
        for l in 0..L {
            acc[l] += v[l];
        }
        o += L;
    }
    while o < len {
        let v = dist_one::<D>(cols, r.start + o, c);
        cl[o] = v;
        acc[o % L] += v;
        o += 1;
    }
    acc.iter().sum()
}
simd_dispatch!(seed_first, seed_first_generic, fn<D>(cols: Cols<'_>, r: std::ops::Range<usize>, c: &[f64], cl: &mut [f64]) -> f64);

/// Seeding: fold centre `c` into the closest distances of block `r`; their lane sums.
#[inline(always)]
fn seed_update_generic<const D: usize>(cols: Cols<'_>, r: std::ops::Range<usize>, c: &[f64], cl: &mut [f64]) -> f64 {
    let mut acc = [0.0; L];
    let len = r.len();
    let full = len / L * L;
    let mut o = 0;
    while o < full {
        let v = dist_lanes::<D>(cols, r.start + o, c);
        let c8: &mut [f64; L] = (&mut cl[o..o + L]).try_into().expect("L lanes");
        let mut m = *c8;
        for l in 0..L {
            m[l] = if v[l] < m[l] { v[l] } else { m[l] };
            acc[l] += m[l];
        }
        *c8 = m;
        o += L;
    }
    while o < len {
        let v = dist_one::<D>(cols, r.start + o, c);
        let m = if v < cl[o] { v } else { cl[o] };
        cl[o] = m;
        acc[o % L] += m;
        o += 1;
    }
    acc.iter().sum()
}
simd_dispatch!(seed_update, seed_update_generic, fn<D>(cols: Cols<'_>, r: std::ops::Range<usize>, c: &[f64], cl: &mut [f64]) -> f64);

/// Seeding: the potential (sum of closest distances) of block `r` if each
/// candidate (`cands`, `t` points of `d` values) were added.
#[inline(always)]
fn seed_score_generic<const D: usize>(cols: Cols<'_>, r: std::ops::Range<usize>, cands: &[f64], closest: &[f64]) -> Vec<f64> {
    let d = if D == 0 { cols.d } else { D };
    let t = cands.len() / d;
    let mut pot = vec![[0.0; L]; t];
    let len = r.len();
    let full = len / L * L;
    let cl = &closest[r.start..r.end];
    let mut o = 0;
    while o < full {
        let c8: &[f64; L] = cl[o..o + L].try_into().expect("L lanes");
        for c in 0..t {
            let v = dist_lanes::<D>(cols, r.start + o, &cands[c * d..c * d + d]);
            // Accumulate in a local copy: keeps the lanes in one vector register.
            let mut p = pot[c];
            for l in 0..L {
                p[l] += if v[l] < c8[l] { v[l] } else { c8[l] };
            }
            pot[c] = p;
        }
        o += L;
    }
    while o < len {
        for c in 0..t {
            let v = dist_one::<D>(cols, r.start + o, &cands[c * d..c * d + d]);
            pot[c][o % L] += if v < cl[o] { v } else { cl[o] };
        }
        o += 1;
    }
    pot.iter().map(|p| p.iter().sum()).collect()
}
simd_dispatch!(seed_score, seed_score_generic, fn<D>(cols: Cols<'_>, r: std::ops::Range<usize>, cands: &[f64], closest: &[f64]) -> Vec<f64>);

/// Greedy k-means++ seeding as scikit-learn does it; returns flat centres.
///
/// Each round makes two passes: one scores every candidate at once (the potential
/// if it were added), one folds the chosen candidate into the closest distances and
/// sums them per block. A candidate is drawn by walking the block sums, then the
/// chosen block, so no prefix-sum array is needed.
fn plus_plus<const D: usize>(cols: Cols<'_>, x: &[f64], k: usize, rng: &mut Rng, threads: usize) -> Vec<f64> {
    let d = cols.d;
    let n = cols.n;
    let trials = 2 + (k as f64).ln() as usize;
    let first = rng.below(n);
    let mut centres = x[first * d..first * d + d].to_vec();
    let mut closest = vec![0.0; n];
    let c0 = centres.clone();
    let mut block_sums: Vec<f64> = par_blocks(n, threads, &mut closest, 1, |r, cl| seed_first::<D>(cols, r, &c0, cl));
    let mut cands = Vec::with_capacity(trials);
    while centres.len() < k * d {
        let total: f64 = block_sums.iter().sum();
        cands.clear();
        for _ in 0..trials {
            let r = rng.uniform() * total;
            cands.push(sample(&closest, &block_sums, r));
        }
        let cand_pts: Vec<f64> = cands.iter().flat_map(|&c| x[c * d..c * d + d].iter().copied()).collect();
        let t = cands.len();
        let pots: Vec<Vec<f64>> = par_blocks(n, threads, &mut [] as &mut [f64], 1, |r, _| seed_score::<D>(cols, r, &cand_pts, &closest));
        let mut best = 0;
        let mut best_pot = f64::INFINITY;
        for c in 0..t {
            let pot: f64 = pots.iter().map(|b| b[c]).sum();
            if pot < best_pot {
                best = c;
                best_pot = pot;
            }
        }
        let chosen = cand_pts[best * d..best * d + d].to_vec();
        block_sums = par_blocks(n, threads, &mut closest, 1, |r, cl| seed_update::<D>(cols, r, &chosen, cl));
        centres.extend_from_slice(&chosen);
    }
    centres
}

/// First index whose running sum of `closest` reaches `r` (walking block sums first).
fn sample(closest: &[f64], block_sums: &[f64], r: f64) -> usize {
    let n = closest.len();
    let mut acc = 0.0;
    for (b, &s) in block_sums.iter().enumerate() {
        if acc + s >= r {
            let end = ((b + 1) * BLOCK).min(n);
            for i in b * BLOCK..end {
                acc += closest[i];
                if acc >= r {
                    return i;
                }
            }
            return end - 1;
        }
        acc += s;
    }
    n - 1
}

/// Partial results of one assignment pass over a block.
struct BlockStats {
    sums: Vec<f64>,
    counts: Vec<usize>,
    changed: usize,
    inertia: f64,
}

/// One Lloyd step over block `r`: assign each point to its nearest centre (the
/// lowest index on ties), count label changes, and sum coordinates, counts and
/// squared distances.
#[inline(always)]
fn assign_block_generic<const D: usize>(cols: Cols<'_>, r: std::ops::Range<usize>, centres: &[f64], lab: &mut [u32]) -> BlockStats {
    let d = if D == 0 { cols.d } else { D };
    let n = cols.n;
    let k = centres.len() / d;
    let mut sums = vec![[0.0; L]; k * d];
    // Counts as floats (exact below 2⁵³) so every lane operation stays in f64.
    let mut counts = vec![[0.0f64; L]; k];
    let mut inertia = [0.0; L];
    let mut changed = 0usize;
    let len = r.len();
    let full = len / L * L;
    let mut o = 0;
    while o < full {
        let i = r.start + o;
        let mut best = [f64::INFINITY; L];
        let mut blf = [0.0f64; L];
        for c in 0..k {
            let v = dist_lanes::<D>(cols, i, &centres[c * d..c * d + d]);
            let cf = c as f64;
            for l in 0..L {
                let lt = v[l] < best[l];
                best[l] = if lt { v[l] } else { best[l] };
                blf[l] = if lt { cf } else { blf[l] };
            }
        }
        for l in 0..L {
            let b = blf[l] as u32;
            changed += (lab[o + l] != b) as usize;
            lab[o + l] = b;
            inertia[l] += best[l];
        }
        for c in 0..k {
            let cf = c as f64;
            // 1.0 where the point belongs to c, else 0.0: a multiply instead of a
            // branch keeps the loop vectorized (x·1 = x and x·0 = ±0 exactly).
            let mut w = [0.0; L];
            for l in 0..L {
                w[l] = if blf[l] == cf { 1.0 } else { 0.0 };
            }
            let mut cnt = counts[c];
            for l in 0..L {
                cnt[l] += w[l];
            }
            counts[c] = cnt;
            for j in 0..d {
                let xj: &[f64; L] = cols.xs[j * n + i..j * n + i + L].try_into().expect("L lanes");
                let mut acc = sums[c * d + j];
                for l in 0..L {
                    acc[l] += xj[l] * w[l];
                }
                sums[c * d + j] = acc;
            }
        }
        o += L;
    }
    while o < len {
        let i = r.start + o;
        let mut best = (0usize, f64::INFINITY);
        for c in 0..k {
            let v = dist_one::<D>(cols, i, &centres[c * d..c * d + d]);
            if v < best.1 {
                best = (c, v);
            }
        }
        let (c, v) = best;
        changed += (lab[o] != c as u32) as usize;
        lab[o] = c as u32;
        inertia[o % L] += v;
        counts[c][o % L] += 1.0;
        for j in 0..d {
            sums[c * d + j][o % L] += cols.xs[j * n + i];
        }
        o += 1;
    }
    BlockStats {
        sums: sums.iter().map(|s| s.iter().sum()).collect(),
        counts: counts.iter().map(|s| s.iter().sum::<f64>() as usize).collect(),
        changed,
        inertia: inertia.iter().sum(),
    }
}
simd_dispatch!(assign_block, assign_block_generic, fn<D>(cols: Cols<'_>, r: std::ops::Range<usize>, centres: &[f64], lab: &mut [u32]) -> BlockStats);

/// One Lloyd step over all points (see [`assign_block_generic`]), blocks combined in order.
fn assign<const D: usize>(cols: Cols<'_>, centres: &[f64], labels: &mut [u32], threads: usize) -> BlockStats {
    let d = cols.d;
    let k = centres.len() / d;
    let parts = par_blocks(cols.n, threads, labels, 1, |r, lab| assign_block::<D>(cols, r, centres, lab));
    let mut tot = BlockStats { sums: vec![0.0; k * d], counts: vec![0; k], changed: 0, inertia: 0.0 };
    for p in parts {
        for (a, b) in tot.sums.iter_mut().zip(&p.sums) {
            *a += b;
        }
        for (a, b) in tot.counts.iter_mut().zip(&p.counts) {
            *a += b;
        }
        tot.changed += p.changed;
        tot.inertia += p.inertia;
    }
    tot
}

/// The state of one restart.
struct Run {
    centres: Vec<f64>,
    labels: Vec<u32>,
    inertia: f64,
    n_iter: usize,
    /// No label changed in the last assignment: a fixed point of Lloyd's iteration.
    converged: bool,
}

/// Lloyd iterations from `centres` (and `labels`, when resuming) until no label
/// changes, `max_iter` iterations, or a total squared centre shift of at most
/// `tol_abs` (negative: never).
fn lloyd<const D: usize>(
    cols: Cols<'_>,
    x: &[f64],
    mut centres: Vec<f64>,
    labels: Option<Vec<u32>>,
    max_iter: usize,
    tol_abs: f64,
    threads: usize,
) -> Run {
    let (d, n) = (cols.d, cols.n);
    let k = centres.len() / d;
    let mut labels = labels.unwrap_or_else(|| vec![u32::MAX; n]);
    let mut n_iter = 0;
    for it in 0..max_iter.max(1) {
        n_iter = it + 1;
        let st = assign::<D>(cols, &centres, &mut labels, threads);
        if st.changed == 0 && it > 0 {
            // Centres are the means of these very labels: the assignment is final.
            return Run { centres, labels, inertia: st.inertia, n_iter, converged: true };
        }
        let mut shift = 0.0;
        for c in 0..k {
            if st.counts[c] > 0 {
                for j in 0..d {
                    let v = st.sums[c * d + j] / st.counts[c] as f64;
                    shift += (v - centres[c * d + j]) * (v - centres[c * d + j]);
                    centres[c * d + j] = v;
                }
            } else {
                // Empty cluster: move it to the point farthest from its centre.
                let mut far = (0, -1.0);
                for i in 0..n {
                    let l = labels[i] as usize;
                    let v = sq(&x[i * d..i * d + d], &centres[l * d..l * d + d]);
                    if v > far.1 {
                        far = (i, v);
                    }
                }
                let f = far.0;
                shift = f64::INFINITY;
                centres[c * d..c * d + d].copy_from_slice(&x[f * d..f * d + d]);
            }
        }
        if shift <= tol_abs {
            break;
        }
    }
    // Stopped early: label the points for the final centres.
    let st = assign::<D>(cols, &centres, &mut labels, threads);
    Run { centres, labels, inertia: st.inertia, n_iter, converged: st.changed == 0 }
}

fn fit_flat<const D: usize>(x: &[f64], d: usize, params: &KMeansParams) -> Run {
    let n = x.len() / d;
    let threads = thread_count(params.threads, n);
    let tol_abs = if params.tol > 0.0 {
        // scikit-learn's scale: tol times the mean per-feature variance.
        let mut var = 0.0;
        for j in 0..d {
            let m = (0..n).map(|i| x[i * d + j]).sum::<f64>() / n as f64;
            var += (0..n).map(|i| (x[i * d + j] - m).powi(2)).sum::<f64>() / n as f64;
        }
        params.tol * var / d as f64
    } else {
        -1.0
    };
    // Column-major copy for the point-parallel kernels.
    let mut xs = vec![0.0; n * d];
    for i in 0..n {
        for j in 0..d {
            xs[j * n + i] = x[i * d + j];
        }
    }
    let cols = Cols { xs: &xs, n, d };
    let mut rng = Rng::new(params.seed);
    let max_iter = params.max_iter.max(1);
    let mut best: Option<Run> = None;
    for _ in 0..params.n_init.max(1) {
        let seeds = plus_plus::<D>(cols, x, params.k, &mut rng, threads);
        let m = lloyd::<D>(cols, x, seeds, None, max_iter, tol_abs, threads);
        if best.as_ref().is_none_or(|b| m.inertia < b.inertia) {
            best = Some(m);
        }
    }
    let mut best = best.expect("n_init >= 1");
    if !best.converged && best.n_iter < max_iter {
        // The restarts stopped at the tolerance; iterate the winner to a fixed point
        // (every further Lloyd step can only lower the inertia).
        let done = best.n_iter;
        let m = lloyd::<D>(cols, x, best.centres, Some(best.labels), max_iter - done, -1.0, threads);
        best = Run { n_iter: done + m.n_iter, ..m };
    }
    best
}

/// Fit k-means on a row-major matrix of `x.len() / d` rows of `d` columns (no copy).
pub fn kmeans_flat(x: &[f64], d: usize, params: &KMeansParams) -> Result<KMeansModel> {
    if d == 0 || !x.len().is_multiple_of(d) {
        return Err(Error::Shape(format!("{} values do not form rows of {d}", x.len())));
    }
    let n = x.len() / d;
    if params.k == 0 {
        return Err(Error::Parameter { name: "k", detail: "must be at least 1".into() });
    }
    if n < params.k {
        return Err(Error::TooFew { what: "k-means", need: params.k, got: n });
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(Error::Parameter { name: "x", detail: "non-finite value".into() });
    }
    if !(params.tol >= 0.0) {
        return Err(Error::Parameter { name: "tol", detail: "must be >= 0".into() });
    }
    let Run { centres, labels, inertia, n_iter, .. } = match d {
        1 => fit_flat::<1>(x, d, params),
        2 => fit_flat::<2>(x, d, params),
        3 => fit_flat::<3>(x, d, params),
        4 => fit_flat::<4>(x, d, params),
        _ => fit_flat::<0>(x, d, params),
    };
    Ok(KMeansModel {
        centroids: centres.chunks_exact(d).map(<[f64]>::to_vec).collect(),
        labels: labels.into_iter().map(|l| l as usize).collect(),
        inertia,
        n_iter,
    })
}

/// Fit k-means with k-means++ seeding and `n_init` restarts; the lowest inertia wins.
pub fn kmeans(x: &[Vec<f64>], params: &KMeansParams) -> Result<KMeansModel> {
    let d = check(x, params.k)?;
    let flat: Vec<f64> = x.iter().flatten().copied().collect();
    kmeans_flat(&flat, d, params)
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
        return Err(Error::TooFew { what: "silhouette clusters", need: 2, got: ids.len() });
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
        let b = (0..ids.len()).filter(|&c| c != own).map(|c| sums[c] / sizes[c] as f64).fold(f64::INFINITY, f64::min);
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
pub fn suggest_k(x: &[Vec<f64>], ks: std::ops::RangeInclusive<usize>, base: &KMeansParams, sample: usize) -> Result<(usize, Vec<KScore>)> {
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
        scores.push(KScore { k, inertia: m.inertia, silhouette: s });
    }
    let best = scores
        .iter()
        .max_by(|a, b| a.silhouette.total_cmp(&b.silhouette))
        .map(|s| s.k)
        .ok_or(Error::Parameter { name: "ks", detail: "no k >= 2".into() })?;
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
        let p = KMeansParams { k: 3, ..Default::default() };
        let m = kmeans(&x, &p).unwrap();
        assert_eq!(m, kmeans(&x, &p).unwrap());
        let truth: Vec<i64> = (0..150).map(|i| i / 50).collect();
        let got: Vec<i64> = m.labels.iter().map(|&l| l as i64).collect();
        assert!((adjusted_rand_index(&truth, &got).unwrap() - 1.0).abs() < 1e-12);
        let (k, _) = suggest_k(&x, 2..=5, &p, 150).unwrap();
        assert_eq!(k, 3);
        assert!(silhouette(&x, &got).unwrap() > 0.7);
    }

    /// Enough points for several blocks, so the threaded passes really split.
    fn many_blobs(n: usize) -> Vec<f64> {
        let mut rng = Rng::new(11);
        let mut x = Vec::with_capacity(n * 3);
        for i in 0..n {
            let c = [[0.0, 0.0, 0.0], [3.0, 0.5, 0.0], [0.5, 3.0, 1.0]][i % 3];
            for cj in c {
                x.push(cj + rng.uniform() + rng.uniform() - 1.0);
            }
        }
        x
    }

    #[test]
    fn same_result_for_any_thread_count_and_layout() {
        let x = many_blobs(3 * BLOCK + 123);
        let p1 = KMeansParams { k: 3, n_init: 3, threads: 1, ..Default::default() };
        let m1 = kmeans_flat(&x, 3, &p1).unwrap();
        for t in [2, 3, 7] {
            let m = kmeans_flat(&x, 3, &KMeansParams { threads: t, ..p1.clone() }).unwrap();
            assert_eq!(m, m1, "threads {t}");
        }
        let rows: Vec<Vec<f64>> = x.chunks(3).map(<[f64]>::to_vec).collect();
        assert_eq!(kmeans(&rows, &p1).unwrap(), m1);
        // The generic (dimension not specialized) kernels agree with the inertia.
        let inertia: f64 = rows.iter().zip(&m1.labels).map(|(r, &l)| sq(r, &m1.centroids[l])).sum();
        assert!((inertia - m1.inertia).abs() <= 1e-9 * inertia);
    }

    #[test]
    fn tolerance_stop_then_polish_is_a_fixed_point() {
        let x = many_blobs(2 * BLOCK + 5);
        let strict = kmeans_flat(&x, 3, &KMeansParams { k: 3, n_init: 2, tol: 0.0, ..Default::default() }).unwrap();
        let early = kmeans_flat(&x, 3, &KMeansParams { k: 3, n_init: 2, tol: 1e-2, ..Default::default() }).unwrap();
        // The winner is iterated until no label changes: its labels are those of its centres.
        for (i, r) in x.chunks(3).enumerate() {
            assert_eq!(nearest_flat_test(r, &early.centroids), early.labels[i]);
        }
        assert!(early.inertia <= strict.inertia * (1.0 + 1e-9));
        // Five dimensions run the generic kernels.
        let x5: Vec<f64> = x.chunks(3).flat_map(|r| [r[0], r[1], r[2], r[0] - r[1], 0.5]).collect();
        let m5 = kmeans_flat(&x5, 5, &KMeansParams { k: 3, n_init: 1, ..Default::default() }).unwrap();
        assert_eq!(m5.labels.len(), x5.len() / 5);
        assert!(kmeans_flat(&x5, 4, &KMeansParams::default()).is_err());
    }

    fn nearest_flat_test(p: &[f64], centres: &[Vec<f64>]) -> usize {
        nearest(p, centres).0
    }
}
