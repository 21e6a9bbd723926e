//! CART churn tree against scikit-learn's DecisionTreeClassifier
//! (reference made by analytics/reference/make_tree_reference.py).

mod util;

use rapport_analytics::tree::{Node, TreeParams, churn_tree};
use util::*;

fn check(tx_file: &str, name: &str) {
    let want = json(reference(&format!("extra/tree_{name}.json")));
    let p = &want["params"];
    let params = TreeParams {
        max_depth: p["max_depth"].as_u64().unwrap() as usize,
        min_samples_leaf: p["min_samples_leaf"].as_u64().unwrap() as usize,
        min_samples_split: p["min_samples_split"].as_u64().unwrap() as usize,
    };
    let tx = transactions(data(tx_file));
    let model = churn_tree(&tx, None, params).unwrap();
    let nodes = want["nodes"].as_array().unwrap();
    assert_eq!(model.tree.nodes.len(), nodes.len(), "{name}: node count");
    for (got, w) in model.tree.nodes.iter().zip(nodes) {
        let wc: Vec<usize> = w["counts"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
        match got {
            Node::Leaf { counts } => {
                assert!(w["leaf"].as_bool().unwrap(), "{name}: leaf vs split");
                assert_eq!(counts, &wc);
            }
            Node::Split { feature, threshold, counts, .. } => {
                assert!(!w["leaf"].as_bool().unwrap(), "{name}: split vs leaf");
                assert_eq!(*feature as u64, w["feature"].as_u64().unwrap());
                // scikit-learn stores float32 features, so thresholds agree to float32 precision.
                let wt = w["threshold"].as_f64().unwrap();
                assert!((threshold - wt).abs() <= 1e-5 * wt.abs().max(1.0), "{name}: threshold {threshold} vs {wt}");
                assert_eq!(counts, &wc);
            }
        }
    }
    let acc = want["test_accuracy"].as_f64().unwrap();
    assert!((model.test_accuracy - acc).abs() < 1e-12, "{name}: accuracy {} vs {acc}", model.test_accuracy);
    for r in model.tree.rules() {
        eprintln!("{name}: {r}");
    }
}

#[test]
fn cdnow_churn_tree_matches_sklearn() {
    check("cdnow_transactions.csv", "cdnow");
}

#[test]
fn synthetic_churn_tree_matches_sklearn() {
    check("synthetic_crm/transactions.csv", "synthetic");
}
