//! Shared helpers for the reference tests: paths and CSV loading.
#![allow(dead_code)]

use std::path::PathBuf;

use rapport_analytics::dates::parse_timestamp;
use rapport_analytics::rfm::Transaction;

/// `analytics/reference/` in the repository.
pub fn reference(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../analytics/reference").join(rel)
}

/// `shared/data/` beside the repository.
pub fn data(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data").join(rel)
}

/// Read a CSV into header + rows of strings.
pub fn read_csv(path: PathBuf) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r.records().map(|rec| rec.unwrap().iter().map(str::to_string).collect()).collect();
    (header, rows)
}

/// Column index by name.
pub fn col(header: &[String], name: &str) -> usize {
    header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"))
}

/// Load a transactions CSV like the reference script (amount column or quantity*unit_price).
pub fn transactions(path: PathBuf) -> Vec<Transaction> {
    let (h, rows) = read_csv(path);
    let (inv, cid, prod, ts) = (col(&h, "invoice"), col(&h, "customer_id"), col(&h, "product"), col(&h, "timestamp"));
    let amount = h.iter().position(|c| c == "amount");
    let (q, p) = (h.iter().position(|c| c == "quantity"), h.iter().position(|c| c == "unit_price"));
    rows.iter()
        .filter(|r| !r[cid].trim().is_empty())
        .map(|r| Transaction {
            invoice: r[inv].clone(),
            customer_id: r[cid].trim().to_string(),
            product: r[prod].clone(),
            timestamp: parse_timestamp(&r[ts]).unwrap(),
            amount: match amount {
                Some(a) => r[a].parse().unwrap(),
                None => r[q.unwrap()].parse::<f64>().unwrap() * r[p.unwrap()].parse::<f64>().unwrap(),
            },
        })
        .collect()
}

/// Read a JSON file.
pub fn json(path: PathBuf) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// Relative closeness.
pub fn rel_close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(1e-300)
}
