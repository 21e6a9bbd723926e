//! CART classification trees (Gini impurity) with depth and leaf-size limits,
//! human-readable rules, and a churn model on the propensity features.
//!
//! Splits are searched exhaustively: for every feature, candidate thresholds are the
//! midpoints between consecutive distinct values (as scikit-learn does), and the
//! split with the largest weighted Gini decrease wins (the first feature on ties).

use crate::error::{Error, Result};
use crate::propensity::features_before;
use crate::rfm::Transaction;

/// Growth limits of a tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeParams {
    /// Maximum depth (root = depth 0).
    pub max_depth: usize,
    /// Minimum samples in each leaf.
    pub min_samples_leaf: usize,
    /// Minimum samples to try splitting a node.
    pub min_samples_split: usize,
}

impl Default for TreeParams {
    fn default() -> Self {
        TreeParams { max_depth: 4, min_samples_leaf: 20, min_samples_split: 40 }
    }
}

/// One node of a tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A terminal node.
    Leaf {
        /// Training samples per class.
        counts: Vec<usize>,
    },
    /// An internal node: `x[feature] <= threshold` goes left.
    Split {
        /// Feature index.
        feature: usize,
        /// Threshold.
        threshold: f64,
        /// Index of the left child.
        left: usize,
        /// Index of the right child.
        right: usize,
        /// Training samples per class.
        counts: Vec<usize>,
    },
}

/// A fitted classification tree; node 0 is the root.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionTree {
    /// Nodes in pre-order.
    pub nodes: Vec<Node>,
    /// Feature names used by [`DecisionTree::rules`].
    pub feature_names: Vec<String>,
    /// Class names used by [`DecisionTree::rules`].
    pub class_names: Vec<String>,
}

fn gini(counts: &[usize], n: usize) -> f64 {
    if n == 0 {
        return 0.0;
    }
    1.0 - counts.iter().map(|&c| (c as f64 / n as f64).powi(2)).sum::<f64>()
}

struct Builder<'a> {
    x: &'a [Vec<f64>],
    y: &'a [usize],
    k: usize,
    params: TreeParams,
    nodes: Vec<Node>,
}

impl Builder<'_> {
    fn counts(&self, idx: &[usize]) -> Vec<usize> {
        let mut c = vec![0; self.k];
        for &i in idx {
            c[self.y[i]] += 1;
        }
        c
    }

    fn best_split(&self, idx: &[usize], parent: &[usize]) -> Option<(usize, f64, f64)> {
        let n = idx.len();
        let p = self.x[0].len();
        let base = gini(parent, n);
        let mut best: Option<(usize, f64, f64)> = None;
        let mut order = idx.to_vec();
        for f in 0..p {
            order.sort_by(|&a, &b| self.x[a][f].total_cmp(&self.x[b][f]));
            let mut left = vec![0usize; self.k];
            for s in 0..n - 1 {
                left[self.y[order[s]]] += 1;
                let nl = s + 1;
                let (v, w) = (self.x[order[s]][f], self.x[order[s + 1]][f]);
                if v == w || nl < self.params.min_samples_leaf || n - nl < self.params.min_samples_leaf {
                    continue;
                }
                let right: Vec<usize> = parent.iter().zip(&left).map(|(a, b)| a - b).collect();
                let imp = (nl as f64 * gini(&left, nl) + (n - nl) as f64 * gini(&right, n - nl)) / n as f64;
                let gain = base - imp;
                if gain > 1e-12 && best.is_none_or(|b| gain > b.2 + 1e-15) {
                    let mut t = v / 2.0 + w / 2.0;
                    if t >= w {
                        t = v;
                    }
                    best = Some((f, t, gain));
                }
            }
        }
        best
    }

    fn grow(&mut self, idx: Vec<usize>, depth: usize) -> usize {
        let counts = self.counts(&idx);
        let me = self.nodes.len();
        self.nodes.push(Node::Leaf { counts: counts.clone() });
        let pure = counts.iter().filter(|&&c| c > 0).count() <= 1;
        if pure || depth >= self.params.max_depth || idx.len() < self.params.min_samples_split.max(2) {
            return me;
        }
        let Some((feature, threshold, _)) = self.best_split(&idx, &counts) else {
            return me;
        };
        let (l, r): (Vec<usize>, Vec<usize>) = idx.iter().partition(|&&i| self.x[i][feature] <= threshold);
        let left = self.grow(l, depth + 1);
        let right = self.grow(r, depth + 1);
        self.nodes[me] = Node::Split { feature, threshold, left, right, counts };
        me
    }
}

/// Fit a tree on rows `x` with class labels `y` in `0..class_names.len()`.
pub fn fit_tree(x: &[Vec<f64>], y: &[usize], feature_names: &[&str], class_names: &[&str], params: TreeParams) -> Result<DecisionTree> {
    if x.is_empty() {
        return Err(Error::Empty("training rows"));
    }
    if x.len() != y.len() || x.iter().any(|r| r.len() != feature_names.len()) {
        return Err(Error::Shape("rows, labels and feature names disagree".into()));
    }
    let k = class_names.len();
    if let Some(&bad) = y.iter().find(|&&c| c >= k) {
        return Err(Error::Parameter { name: "y", detail: format!("class {bad} outside 0..{k}") });
    }
    let mut b = Builder { x, y, k, params, nodes: Vec::new() };
    b.grow((0..x.len()).collect(), 0);
    Ok(DecisionTree {
        nodes: b.nodes,
        feature_names: feature_names.iter().map(|s| s.to_string()).collect(),
        class_names: class_names.iter().map(|s| s.to_string()).collect(),
    })
}

impl DecisionTree {
    fn leaf_counts(&self, x: &[f64]) -> &[usize] {
        let mut i = 0;
        loop {
            match &self.nodes[i] {
                Node::Leaf { counts } => return counts,
                Node::Split { feature, threshold, left, right, .. } => i = if x[*feature] <= *threshold { *left } else { *right },
            }
        }
    }

    /// Class probabilities (training class shares of the leaf).
    pub fn predict_proba(&self, x: &[f64]) -> Vec<f64> {
        let c = self.leaf_counts(x);
        let n: usize = c.iter().sum();
        c.iter().map(|&v| v as f64 / n.max(1) as f64).collect()
    }

    /// Most frequent class of the leaf (lowest index on ties).
    pub fn predict(&self, x: &[f64]) -> usize {
        let c = self.leaf_counts(x);
        (0..c.len()).max_by(|&a, &b| c[a].cmp(&c[b]).then(b.cmp(&a))).unwrap_or(0)
    }

    /// Depth of the tree (a single leaf has depth 0).
    pub fn depth(&self) -> usize {
        fn go(t: &DecisionTree, i: usize) -> usize {
            match &t.nodes[i] {
                Node::Leaf { .. } => 0,
                Node::Split { left, right, .. } => 1 + go(t, *left).max(go(t, *right)),
            }
        }
        go(self, 0)
    }

    /// One readable rule per leaf, bounds on the same feature merged, e.g.
    /// `IF recency > 153.5 AND frequency <= 1.5 THEN churned (86% of 8555)`.
    pub fn rules(&self) -> Vec<String> {
        let p = self.feature_names.len();
        let mut out = Vec::new();
        // (node, lower bound (exclusive), upper bound (inclusive)) per feature
        let mut stack: Vec<(usize, Vec<(f64, f64)>)> = vec![(0, vec![(f64::NEG_INFINITY, f64::INFINITY); p])];
        while let Some((i, bounds)) = stack.pop() {
            match &self.nodes[i] {
                Node::Leaf { counts } => {
                    let n: usize = counts.iter().sum();
                    let best = (0..counts.len()).max_by(|&a, &b| counts[a].cmp(&counts[b]).then(b.cmp(&a))).unwrap_or(0);
                    let share = 100.0 * counts[best] as f64 / n.max(1) as f64;
                    let conds: Vec<String> = bounds
                        .iter()
                        .zip(&self.feature_names)
                        .filter_map(|(&(lo, hi), name)| match (lo.is_finite(), hi.is_finite()) {
                            (true, true) => Some(format!("{lo} < {name} <= {hi}")),
                            (true, false) => Some(format!("{name} > {lo}")),
                            (false, true) => Some(format!("{name} <= {hi}")),
                            (false, false) => None,
                        })
                        .collect();
                    let cond = if conds.is_empty() { "always".to_string() } else { conds.join(" AND ") };
                    out.push(format!("IF {cond} THEN {} ({share:.0}% of {n})", self.class_names[best]));
                }
                Node::Split { feature, threshold, left, right, .. } => {
                    let t = (threshold * 1e6).round() / 1e6;
                    let mut r = bounds.clone();
                    r[*feature].0 = r[*feature].0.max(t);
                    stack.push((*right, r));
                    let mut l = bounds;
                    l[*feature].1 = l[*feature].1.min(t);
                    stack.push((*left, l));
                }
            }
        }
        out
    }
}

/// A churn tree and its quality on the held-out customers.
#[derive(Debug, Clone, PartialEq)]
pub struct ChurnModel {
    /// The tree; classes are `["active", "churned"]`.
    pub tree: DecisionTree,
    /// Accuracy on the test customers (`id % 4 == 0`).
    pub test_accuracy: f64,
    /// Confusion matrix on the test customers: `[[tn, fp], [fn, tp]]` with churned positive.
    pub confusion: [[usize; 2]; 2],
}

/// Fit a churn tree with the propensity split: features (recency, frequency,
/// monetary, tenure; raw units, so rules read in days and money) from purchases
/// before the split day; churned = no purchase at or after it.
pub fn churn_tree(tx: &[Transaction], horizon_days: Option<i64>, params: TreeParams) -> Result<ChurnModel> {
    let data = features_before(tx, horizon_days)?;
    let (mut xtr, mut ytr, mut xte, mut yte) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..data.raw.len() {
        let y = usize::from(!data.bought[i]);
        if data.is_test[i] {
            xte.push(data.raw[i].clone());
            yte.push(y);
        } else {
            xtr.push(data.raw[i].clone());
            ytr.push(y);
        }
    }
    let tree = fit_tree(&xtr, &ytr, &["recency", "frequency", "monetary", "tenure"], &["active", "churned"], params)?;
    let mut confusion = [[0usize; 2]; 2];
    for (x, &y) in xte.iter().zip(&yte) {
        confusion[y][tree.predict(x)] += 1;
    }
    let correct = confusion[0][0] + confusion[1][1];
    Ok(ChurnModel { tree, test_accuracy: correct as f64 / yte.len().max(1) as f64, confusion })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_threshold_and_prints_rules() {
        let x: Vec<Vec<f64>> = (0..100).map(|i| vec![i as f64, (i % 7) as f64]).collect();
        let y: Vec<usize> = (0..100).map(|i| usize::from(i >= 60)).collect();
        let params = TreeParams { max_depth: 3, min_samples_leaf: 5, min_samples_split: 10 };
        let t = fit_tree(&x, &y, &["days", "noise"], &["no", "yes"], params).unwrap();
        assert_eq!(t.depth(), 1);
        assert_eq!(t.predict(&[70.0, 0.0]), 1);
        let rules = t.rules();
        assert_eq!(rules[0], "IF days <= 59.5 THEN no (100% of 60)");
        assert_eq!(rules[1], "IF days > 59.5 THEN yes (100% of 40)");
    }
}
