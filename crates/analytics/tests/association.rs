//! Frequent itemsets and rules against mlxtend (full-precision dumps).

mod util;

use std::collections::BTreeMap;

use rapport_analytics::apriori::association_rules;
use util::*;

fn baskets_from(rows: &[Vec<String>], key: usize, item: usize) -> Vec<Vec<String>> {
    let mut m: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for r in rows {
        m.entry(&r[key]).or_default().push(r[item].clone());
    }
    m.into_values().collect()
}

fn check(name: &str, baskets: Vec<Vec<String>>) {
    let res = association_rules(&baskets, 0.02, 0.2).unwrap();
    let (_, want) = read_csv(reference(&format!("extra/itemsets_{name}.csv")));
    let mut got: Vec<(String, f64)> = res.itemsets.iter().map(|s| (s.items.join(" | "), s.support)).collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got.len(), want.len(), "{name}: number of itemsets");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.0, w[0]);
        assert_eq!(g.1, w[1].parse::<f64>().unwrap(), "{name}: support of {}", g.0);
    }
    let (h, want) = read_csv(reference(&format!("extra/rules_{name}.csv")));
    let mut rules: Vec<_> = res.rules.iter().collect();
    rules.sort_by(|a, b| (&a.antecedents, &a.consequents).cmp(&(&b.antecedents, &b.consequents)));
    let sorted_want = {
        let mut w = want.clone();
        w.sort_by(|a, b| {
            let s = |x: &str| x.split(" | ").map(str::to_string).collect::<Vec<_>>();
            (s(&a[0]), s(&a[1])).cmp(&(s(&b[0]), s(&b[1])))
        });
        w
    };
    assert_eq!(rules.len(), sorted_want.len(), "{name}: number of rules");
    let mut worst = 0f64;
    for (r, w) in rules.iter().zip(&sorted_want) {
        assert_eq!(r.antecedents.join(" | "), w[0]);
        assert_eq!(r.consequents.join(" | "), w[1]);
        let vals = [
            r.antecedent_support,
            r.consequent_support,
            r.support,
            r.confidence,
            r.lift,
            r.leverage,
            r.conviction,
            r.zhangs_metric,
            r.jaccard,
            r.certainty,
            r.kulczynski,
        ];
        for (i, v) in vals.iter().enumerate() {
            let e: f64 = w[2 + i].parse().unwrap();
            let err = if e == *v { 0.0 } else { ((v - e) / e).abs() };
            worst = worst.max(err);
            assert!(err <= 1e-12, "{name}: {} {:?}->{:?}: {v} vs {e}", h[2 + i], r.antecedents, r.consequents);
        }
    }
    eprintln!("{name}: {} itemsets, {} rules, worst relative metric error {worst:e}", got.len(), rules.len());
}

#[test]
fn groceries_matches_mlxtend() {
    let (h, rows) = read_csv(data("groceries_baskets.csv"));
    check("groceries", baskets_from(&rows, col(&h, "basket_id"), col(&h, "item")));
}

#[test]
fn synthetic_invoices_match_mlxtend() {
    let (h, rows) = read_csv(data("synthetic_crm/transactions.csv"));
    check("synthetic", baskets_from(&rows, col(&h, "invoice"), col(&h, "product")));
}
