//! Rapport's analytics: pure algorithms on in-memory data.
//!
//! **Role.** This crate holds every model Rapport runs on customer data — RFM
//! scoring and tiers ([`rfm`]), k-means ([`kmeans`]) and DBSCAN ([`dbscan`])
//! segmentation, association rules ([`apriori`]), purchase propensity by
//! L2-regularized logistic regression ([`logistic`], [`propensity`]), OLS multiple
//! regression ([`ols`]), significance tests and satisfaction scores ([`stats`]),
//! ARIMA and Holt-Winters forecasting ([`arima`], [`holt_winters`], on [`series`]) and CART decision trees ([`tree`]). It does no I/O
//! and depends on nothing of ours: callers (the store-backed service, or the CLI in
//! file mode) load rows, call a function, and write the result back.
//!
//! **Main types.** [`rfm::Transaction`] is the input row shared by the customer
//! analyses; [`rfm::RfmTable`], [`kmeans::KMeansModel`], [`apriori::AssociationResult`],
//! [`ols::OlsResult`], [`logistic::LogisticModel`], [`propensity::Propensity`],
//! [`arima::ArimaFit`], [`holt_winters::HoltWinters`], [`tree::DecisionTree`] and
//! [`tree::ChurnModel`] are the results. Every fallible function returns
//! [`Error`].
//!
//! **Why in-house.** Each algorithm must reproduce a reference definition exactly
//! (the reference script `shared/peer/analytics_peer.py` with pandas, scikit-learn,
//! mlxtend, statsmodels and scipy): tie-breaking in quintiles, mlxtend's floating
//! point formulas, scikit-learn's DBSCAN labelling and lbfgs objective, statsmodels'
//! state-space ARIMA likelihood. Small, tested implementations make that exactness
//! visible and keep compile times low on two-core machines; the only dependency is
//! `thiserror`. Tests in `tests/` compare against reference outputs committed under
//! `analytics/reference/`.
#![deny(missing_docs)]
// Numerical kernels index several arrays in lock step, and `!(a > b)` is used on
// purpose so that NaN fails parameter checks.
#![allow(clippy::needless_range_loop, clippy::neg_cmp_op_on_partial_ord)]

pub mod ab;
pub mod apriori;
pub mod arima;
pub mod cluster_names;
pub mod compare;
pub mod dates;
pub mod dbscan;
mod error;
pub mod holt_winters;
pub mod kmeans;
pub mod linalg;
pub mod logistic;
pub mod ols;
mod optim;
pub mod propensity;
pub mod rfm;
pub mod series;
pub mod special;
pub mod stats;
pub mod tree;
pub mod win_probability;

pub use error::{Error, Result};
