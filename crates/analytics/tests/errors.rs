//! Bad input is reported as `Error`, never a panic.

use rapport_analytics::Error;
use rapport_analytics::apriori::frequent_itemsets;
use rapport_analytics::arima::{Order, fit_arima};
use rapport_analytics::dbscan::{DbscanParams, dbscan};
use rapport_analytics::kmeans::{KMeansParams, kmeans};
use rapport_analytics::logistic::fit_logistic;
use rapport_analytics::ols::{design_matrix, ols};
use rapport_analytics::rfm::rfm;
use rapport_analytics::stats::{chi_square_independence, nps, welch_t_test};

#[test]
fn empty_and_degenerate_inputs() {
    assert!(matches!(rfm(&[]), Err(Error::Empty(_))));
    let x = vec![vec![0.0, 1.0], vec![1.0, 0.0]];
    assert!(matches!(kmeans(&x, &KMeansParams { k: 3, ..Default::default() }), Err(Error::TooFew { .. })));
    assert!(matches!(kmeans(&[vec![0.0], vec![f64::NAN]], &KMeansParams { k: 1, ..Default::default() }), Err(Error::Parameter { .. })));
    assert!(matches!(dbscan(&x, &DbscanParams { eps: 0.0, min_samples: 2 }), Err(Error::Parameter { .. })));
    let empty: Vec<Vec<&str>> = Vec::new();
    assert!(frequent_itemsets(&empty, 0.1, 0).is_err());
    assert!(frequent_itemsets(&[vec!["a"]], 0.0, 0).is_err());
    assert!(welch_t_test(&[1.0], &[1.0, 2.0]).is_err());
    assert!(chi_square_independence(&[vec![1.0, 2.0]], true).is_err());
    assert!(chi_square_independence(&[vec![0.0, 0.0], vec![1.0, 2.0]], true).is_err());
    assert!(nps(&[]).is_err());
    assert!(fit_logistic(&[vec![1.0]], &[true, false], 1.0).is_err());
    assert!(fit_arima(&[1.0, 2.0, 3.0], Order { p: 1, d: 1, q: 1 }).is_err());
}

#[test]
fn collinear_predictors_are_singular() {
    let a = [1.0, 2.0, 3.0, 4.0, 5.0];
    let b = [2.0, 4.0, 6.0, 8.0, 10.0];
    let d = design_matrix(true, &[("a", &a), ("b", &b)], &[]).unwrap();
    assert!(matches!(ols(&[1.0, 2.0, 3.0, 5.0, 4.0], &d), Err(Error::Singular(_))));
}
