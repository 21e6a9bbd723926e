//! RFM, k-means and DBSCAN against the reference script's dumps.

mod util;

use rapport_analytics::dbscan::{DbscanParams, dbscan};
use rapport_analytics::kmeans::{KMeansParams, adjusted_rand_index, kmeans, silhouette};
use rapport_analytics::rfm::{rfm, segmentation_features};
use util::*;

struct RefCustomer {
    id: String,
    recency: i64,
    frequency: u64,
    monetary: f64,
    scores: [u8; 3],
    kmeans: i64,
    dbscan: i64,
}

fn reference_customers(dir: &str) -> Vec<RefCustomer> {
    let (h, rows) = read_csv(reference(&format!("{dir}/customers.csv")));
    let c = |n| col(&h, n);
    rows.iter()
        .map(|r| RefCustomer {
            id: r[c("customer_id")].clone(),
            recency: r[c("recency")].parse().unwrap(),
            frequency: r[c("frequency")].parse().unwrap(),
            monetary: r[c("monetary")].parse().unwrap(),
            scores: [r[c("r_score")].parse().unwrap(), r[c("f_score")].parse().unwrap(), r[c("m_score")].parse().unwrap()],
            kmeans: r[c("kmeans")].parse().unwrap(),
            dbscan: r[c("dbscan")].parse().unwrap(),
        })
        .collect()
}

fn check_dataset(tx_file: &str, dir: &str) {
    let tx = transactions(data(tx_file));
    let table = rfm(&tx).unwrap();
    let refc = reference_customers(dir);
    let peer = json(reference(&format!("{dir}/peer.json")));
    assert_eq!(table.customers.len(), refc.len());
    let mut score_mismatch = 0;
    for (got, want) in table.customers.iter().zip(&refc) {
        assert_eq!(got.customer_id, want.id);
        assert_eq!(got.recency, want.recency, "{}", want.id);
        assert_eq!(got.frequency, want.frequency, "{}", want.id);
        assert!(rel_close(got.monetary, want.monetary, 1e-9) || (got.monetary - want.monetary).abs() < 1e-6);
        if [got.r_score, got.f_score, got.m_score] != want.scores {
            score_mismatch += 1;
        }
    }
    assert_eq!(score_mismatch, 0, "RFM scores must be identical");
    assert_eq!(rapport_analytics::dates::format_day(table.ref_day), peer["input"]["ref_date"].as_str().unwrap());

    // Segmentation features, k-means and DBSCAN.
    let t0 = std::time::Instant::now();
    let x = segmentation_features(&table);
    let mut km = kmeans(&x, &KMeansParams::default()).unwrap();
    km.canonicalize();
    let ref_km: Vec<i64> = refc.iter().map(|c| c.kmeans).collect();
    let got_km: Vec<i64> = km.labels.iter().map(|&l| l as i64).collect();
    eprintln!("{dir}: kmeans took {:?}", t0.elapsed());
    let ari = adjusted_rand_index(&ref_km, &got_km).unwrap();
    let ref_inertia = peer["kmeans"]["inertia"].as_f64().unwrap();
    if dir == "synthetic" {
        let want = json(reference("extra/silhouette.json"));
        let n = want["n"].as_u64().unwrap() as usize;
        let s = silhouette(&x[..n], &ref_km[..n]).unwrap();
        let w = want["silhouette"].as_f64().unwrap();
        eprintln!("{dir}: silhouette {s} vs scikit-learn {w}");
        assert!(rel_close(s, w, 1e-9));
    }
    eprintln!("{dir}: kmeans ARI {ari}, inertia {} vs reference {ref_inertia}", km.inertia);
    assert!(ari >= 0.95, "ARI {ari}");
    assert!(km.inertia <= ref_inertia * (1.0 + 1e-6), "inertia {} > {ref_inertia}", km.inertia);

    let t0 = std::time::Instant::now();
    let db = dbscan(&x, &DbscanParams::default()).unwrap();
    eprintln!("{dir}: dbscan took {:?}", t0.elapsed());
    let ref_db: Vec<i64> = refc.iter().map(|c| c.dbscan).collect();
    // Equal up to renumbering: a bijection between label sets, noise fixed.
    let mut map = std::collections::HashMap::new();
    let mut differ = 0;
    for (&g, &w) in db.iter().zip(&ref_db) {
        if (g == -1) != (w == -1) || *map.entry(g).or_insert(w) != w {
            differ += 1;
        }
    }
    let mut targets: Vec<i64> = map.values().copied().collect();
    targets.sort();
    targets.dedup();
    eprintln!("{dir}: dbscan differing labels {differ}");
    assert_eq!(differ, 0);
    assert_eq!(targets.len(), map.len(), "renumbering must be a bijection");
}

#[test]
fn cdnow_rfm_kmeans_dbscan() {
    check_dataset("cdnow_transactions.csv", "cdnow");
}

#[test]
fn synthetic_rfm_kmeans_dbscan() {
    check_dataset("synthetic_crm/transactions.csv", "synthetic");
}
