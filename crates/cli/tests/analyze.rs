//! `rapport analyze` in file mode: runs the real binary on a small generated
//! transactions file in a fresh temporary directory and checks the output files.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh, empty directory under the system temp dir.
fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let dir = std::env::temp_dir().join(format!("rapport-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// 80 customers buying over 30 months (deterministic).
fn write_transactions(dir: &Path) -> PathBuf {
    let products = ["Printer", "Ink", "Laptop", "Mouse", "Bag"];
    let mut s = String::from("invoice,customer_id,product,quantity,unit_price,timestamp,country\n");
    let mut inv = 0;
    for c in 1..=80u32 {
        for j in 0..(1 + c % 6) {
            inv += 1;
            let day = (c * 37 + j * 131) % 900;
            let (y, rest) = (2022 + day / 360, day % 360);
            let (m, d) = (1 + rest / 30, 1 + rest % 28);
            for (k, p) in products.iter().enumerate() {
                if (c + j + k as u32).is_multiple_of(3) || k as u32 == j % 5 {
                    let qty = 1 + (c + k as u32) % 3;
                    let price = 5.0 + f64::from((c * 7 + j * 11 + k as u32) % 90);
                    s += &format!("INV{inv},{c},{p},{qty},{price},{y}-{m:02}-{d:02}T10:00:00,UK\n");
                }
            }
        }
    }
    // The last day closes a month so the forecast series keeps it.
    s += "INVLAST,1,Ink,1,9.5,2024-06-30T12:00:00,UK\n";
    let path = dir.join("transactions.csv");
    std::fs::write(&path, s).unwrap();
    path
}

fn run(args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_rapport")).args(args).output().expect("run rapport");
    if !out.status.success() {
        panic!(
            "rapport {args:?} failed\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

#[test]
fn analyze_all_writes_every_file() {
    let dir = temp_dir("analyze");
    let tx = write_transactions(&dir);
    let out = dir.join("out");
    run(&["analyze", "all", "--transactions", tx.to_str().unwrap(), "--out", out.to_str().unwrap()]);

    let customers = std::fs::read_to_string(out.join("customers.csv")).unwrap();
    let mut lines = customers.lines();
    assert_eq!(lines.next().unwrap(), "customer_id,r_score,f_score,m_score,kmeans,dbscan,p_purchase");
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 80);
    for r in &rows {
        for score in &r[1..4] {
            assert!(matches!(*score, "1" | "2" | "3" | "4" | "5"), "{r:?}");
        }
        assert!(r[4].parse::<usize>().unwrap() < 4);
        assert!(r[5].parse::<i64>().unwrap() >= -1);
        if !r[6].is_empty() {
            let p: f64 = r[6].parse().unwrap();
            assert!((0.0..=1.0).contains(&p));
        }
    }
    // Quintiles: 80 customers give exactly 16 per score.
    let fives = rows.iter().filter(|r| r[2] == "5").count();
    assert_eq!(fives, 16);

    let itemsets = std::fs::read_to_string(out.join("itemsets.csv")).unwrap();
    assert!(itemsets.starts_with("items,len,support\n"));
    assert!(itemsets.lines().any(|l| l.contains(" | ")), "pairs expected:\n{itemsets}");
    let rules = std::fs::read_to_string(out.join("rules.csv")).unwrap();
    assert!(rules.starts_with("antecedents,consequents,support,confidence,lift"));
    assert!(rules.lines().count() > 1);

    let forecast: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("forecast.json")).unwrap()).unwrap();
    let f = forecast["forecast"].as_array().unwrap();
    assert_eq!(f.len(), 12);
    assert!(f.iter().all(|v| v.as_f64().unwrap().is_finite()));
    assert_eq!(forecast["freq"], "M");
    assert_eq!(forecast["series_end"], "2024-06-01");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn analyze_single_kinds() {
    let dir = temp_dir("analyze-single");
    let tx = write_transactions(&dir);
    let out = dir.join("rfm");
    run(&["analyze", "rfm", "--transactions", tx.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let customers = std::fs::read_to_string(out.join("customers.csv")).unwrap();
    let first = customers.lines().nth(1).unwrap();
    assert!(first.ends_with(",,,"), "only RFM columns are filled: {first}");
    assert!(!out.join("rules.csv").exists());

    let out = dir.join("rules");
    run(&["analyze", "association_rules", "--transactions", tx.to_str().unwrap(), "--out", out.to_str().unwrap(), "--min-support", "0.1"]);
    assert!(out.join("rules.csv").exists());
    assert!(!out.join("customers.csv").exists());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn analyze_reports_bad_rows_with_line_numbers() {
    let dir = temp_dir("analyze-bad");
    let path = dir.join("bad.csv");
    std::fs::write(&path, "invoice,customer_id,product,quantity,unit_price,timestamp\n1,1,A,1,2.0,2024-01-01\n2,2,B,x,2.0,2024-01-02\n")
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rapport"))
        .args(["analyze", "rfm", "--transactions", path.to_str().unwrap(), "--out", dir.join("o").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(":3"), "line number in error: {err}");
    std::fs::remove_dir_all(&dir).ok();
}
