//! Frequent itemsets (Apriori over bitset tid-lists) and association rules.
//!
//! Supports and rule metrics use the same floating-point formulas as mlxtend 0.25
//! (`apriori` + `association_rules`), so itemsets and metrics are identical to the
//! reference, not merely close: support = `count / n`, kept when `>= min_support`;
//! confidence = `(sAC·n) / (sA·n)`; lift = confidence / sC; leverage = sAC − sA·sC;
//! conviction = (1 − sC) / (1 − confidence) (∞ when confidence is 1).
//!
//! Each item keeps a bitset of the baskets that contain it, so counting a candidate
//! is an AND and a popcount over `n/64` words.

use std::collections::{BTreeMap, HashMap};

use crate::error::{Error, Result};

/// A frequent itemset.
#[derive(Debug, Clone, PartialEq)]
pub struct Itemset {
    /// Items in lexicographic order.
    pub items: Vec<String>,
    /// Number of baskets containing every item.
    pub count: u64,
    /// Fraction of baskets containing every item.
    pub support: f64,
}

/// An association rule `antecedents → consequents` with mlxtend's metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Left-hand side, sorted.
    pub antecedents: Vec<String>,
    /// Right-hand side, sorted.
    pub consequents: Vec<String>,
    /// Support of the antecedents.
    pub antecedent_support: f64,
    /// Support of the consequents.
    pub consequent_support: f64,
    /// Support of the union.
    pub support: f64,
    /// P(consequents | antecedents).
    pub confidence: f64,
    /// Confidence over consequent support.
    pub lift: f64,
    /// Support minus the support expected under independence.
    pub leverage: f64,
    /// (1 − sC) / (1 − confidence); infinite for confidence 1.
    pub conviction: f64,
    /// Zhang's metric.
    pub zhangs_metric: f64,
    /// Jaccard index of the two sides' basket sets.
    pub jaccard: f64,
    /// Certainty factor.
    pub certainty: f64,
    /// Mean of the two directions' confidences.
    pub kulczynski: f64,
}

/// Frequent itemsets and the rules derived from them.
#[derive(Debug, Clone, PartialEq)]
pub struct AssociationResult {
    /// Number of baskets.
    pub n_baskets: usize,
    /// Frequent itemsets sorted by (length, items).
    pub itemsets: Vec<Itemset>,
    /// Rules sorted by (−confidence, antecedents, consequents).
    pub rules: Vec<Rule>,
}

/// Mine frequent itemsets with support `>= min_support` (up to `max_len` items, 0 = no limit).
/// Duplicate items inside a basket count once.
pub fn frequent_itemsets<S: AsRef<str>>(baskets: &[Vec<S>], min_support: f64, max_len: usize) -> Result<Vec<Itemset>> {
    if !(min_support > 0.0 && min_support <= 1.0) {
        return Err(Error::Parameter { name: "min_support", detail: format!("must be in (0, 1], got {min_support}") });
    }
    let n = baskets.len();
    if n == 0 {
        return Err(Error::Empty("baskets"));
    }
    let words = n.div_ceil(64);
    // Intern item names in order of first appearance (a cheap FNV-style hash: item
    // names are short), then renumber them in lexicographic order.
    let mut index: HashMap<&str, u32, BuildFnv> = HashMap::with_hasher(BuildFnv);
    let mut first_seen: Vec<&str> = Vec::new();
    let mut ids: Vec<u32> = Vec::with_capacity(baskets.iter().map(Vec::len).sum());
    for basket in baskets {
        for it in basket {
            let s = it.as_ref();
            let next = first_seen.len() as u32;
            let id = *index.entry(s).or_insert_with(|| {
                first_seen.push(s);
                next
            });
            ids.push(id);
        }
    }
    let mut order: Vec<u32> = (0..first_seen.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| first_seen[a as usize].cmp(first_seen[b as usize]));
    let names: Vec<&str> = order.iter().map(|&i| first_seen[i as usize]).collect();
    let mut rank = vec![0u32; order.len()];
    for (r, &i) in order.iter().enumerate() {
        rank[i as usize] = r as u32;
    }
    let mut bits = vec![vec![0u64; words]; names.len()];
    let mut pos = 0;
    for (b, basket) in baskets.iter().enumerate() {
        for &id in &ids[pos..pos + basket.len()] {
            bits[rank[id as usize] as usize][b / 64] |= 1 << (b % 64);
        }
        pos += basket.len();
    }
    let support = |count: u64| count as f64 / n as f64;
    let popcount = |v: &[u64]| v.iter().map(|w| w.count_ones() as u64).sum::<u64>();

    // Level 1.
    let mut level: Vec<(Vec<usize>, Vec<u64>, u64)> = Vec::new();
    for (i, b) in bits.iter().enumerate() {
        let c = popcount(b);
        if support(c) >= min_support {
            level.push((vec![i], b.clone(), c));
        }
    }
    let mut out: Vec<(Vec<usize>, u64)> = level.iter().map(|(s, _, c)| (s.clone(), *c)).collect();
    let mut k = 1;
    while !level.is_empty() && (max_len == 0 || k < max_len) {
        let frequent: std::collections::HashSet<&[usize]> = level.iter().map(|(s, _, _)| s.as_slice()).collect();
        let mut next = Vec::new();
        for a in 0..level.len() {
            for b in a + 1..level.len() {
                let (sa, ta, _) = &level[a];
                let (sb, tb, _) = &level[b];
                if sa[..k - 1] != sb[..k - 1] {
                    break; // level is sorted, so no later b shares the prefix
                }
                let mut cand = sa.clone();
                cand.push(sb[k - 1]);
                // Apriori pruning: every k-subset must be frequent.
                let pruned = (0..k - 1).any(|drop| {
                    let sub: Vec<usize> = cand.iter().enumerate().filter(|&(i, _)| i != drop).map(|(_, &v)| v).collect();
                    !frequent.contains(sub.as_slice())
                });
                if pruned {
                    continue;
                }
                let t: Vec<u64> = ta.iter().zip(tb).map(|(x, y)| x & y).collect();
                let c = popcount(&t);
                if support(c) >= min_support {
                    next.push((cand, t, c));
                }
            }
        }
        out.extend(next.iter().map(|(s, _, c)| (s.clone(), *c)));
        level = next;
        k += 1;
    }
    let mut sets: Vec<Itemset> = out
        .into_iter()
        .map(|(s, c)| Itemset { items: s.iter().map(|&i| names[i].to_string()).collect(), count: c, support: support(c) })
        .collect();
    sets.sort_by(|a, b| a.items.len().cmp(&b.items.len()).then(a.items.cmp(&b.items)));
    Ok(sets)
}

/// Derive every rule `A → C` (A, C non-empty, disjoint, A ∪ C frequent) whose
/// confidence is `>= min_confidence`.
pub fn rules_from_itemsets(itemsets: &[Itemset], n_baskets: usize, min_confidence: f64) -> Vec<Rule> {
    let sup: BTreeMap<&[String], f64> = itemsets.iter().map(|s| (s.items.as_slice(), s.support)).collect();
    let n = n_baskets as f64;
    let mut rules = Vec::new();
    for set in itemsets.iter().filter(|s| s.items.len() >= 2) {
        let m = set.items.len();
        for mask in 1..(1u64 << m) - 1 {
            let (mut a, mut c) = (Vec::new(), Vec::new());
            for (i, it) in set.items.iter().enumerate() {
                if mask >> i & 1 == 1 {
                    a.push(it.clone());
                } else {
                    c.push(it.clone());
                }
            }
            let (Some(&sa), Some(&sc)) = (sup.get(a.as_slice()), sup.get(c.as_slice())) else {
                continue; // cannot happen for downward-closed itemsets
            };
            let sac = set.support;
            let confidence = (sac * n) / (sa * n - 0.0);
            if !(confidence >= min_confidence) {
                continue;
            }
            let leverage = sac - sa * sc;
            let conviction = if confidence < 1.0 { (1.0 - sc) / (1.0 - confidence) } else { f64::INFINITY };
            let zd = (sac * (1.0 - sa)).max(sa * (sc - sac));
            let certainty_den = 1.0 - sc;
            rules.push(Rule {
                antecedents: a,
                consequents: c,
                antecedent_support: sa,
                consequent_support: sc,
                support: sac,
                confidence,
                lift: confidence / sc,
                leverage,
                conviction,
                zhangs_metric: if zd == 0.0 { 0.0 } else { leverage / zd },
                jaccard: sac / (sa + sc - sac),
                certainty: if certainty_den == 0.0 { 0.0 } else { (confidence - sc) / certainty_den },
                kulczynski: (sac / sa + sac / sc) / 2.0,
            });
        }
    }
    rules.sort_by(|x, y| {
        y.confidence
            .total_cmp(&x.confidence)
            .then_with(|| x.antecedents.cmp(&y.antecedents))
            .then_with(|| x.consequents.cmp(&y.consequents))
    });
    rules
}

/// FNV-1a hashing for the item-name interner (std's SipHash is several times slower
/// on short keys, and the keys here are not attacker-chosen in any way that matters
/// more than a slower analysis).
#[derive(Clone, Copy, Default)]
struct BuildFnv;

struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

impl std::hash::BuildHasher for BuildFnv {
    type Hasher = Fnv;
    fn build_hasher(&self) -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

/// Frequent itemsets plus rules in one call.
pub fn association_rules<S: AsRef<str>>(baskets: &[Vec<S>], min_support: f64, min_confidence: f64) -> Result<AssociationResult> {
    let itemsets = frequent_itemsets(baskets, min_support, 0)?;
    let rules = rules_from_itemsets(&itemsets, baskets.len(), min_confidence);
    Ok(AssociationResult { n_baskets: baskets.len(), itemsets, rules })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_example() {
        let b = vec![vec!["milk", "bread"], vec!["milk", "bread", "butter"], vec!["bread"], vec!["milk", "butter"]];
        let r = association_rules(&b, 0.5, 0.6).unwrap();
        let names: Vec<String> = r.itemsets.iter().map(|s| s.items.join("|")).collect();
        assert_eq!(names, ["bread", "butter", "milk", "bread|milk", "butter|milk"]);
        let rule = r.rules.iter().find(|r| r.antecedents == ["butter"] && r.consequents == ["milk"]).unwrap();
        assert_eq!(rule.confidence, 1.0);
        assert_eq!(rule.conviction, f64::INFINITY);
        assert!((rule.lift - 4.0 / 3.0).abs() < 1e-12);
    }
}
