//! Rust side of the analytics benchmark (`bench/analytics/run.sh`): runs one algorithm on
//! the files written by `bench/analytics/gen_data.py` and prints one JSON object with the
//! time of each repeat, their median, the threads used and the quality outputs, in the
//! same shape as `bench/analytics/bench_py.py`. Loading the files is not timed.
//!
//! ```sh
//! cargo run --release -p rapport-analytics --example analytics_bench -- \
//!     --data DIR --alg kmeans|kmeans_1t|rules|rules_low|ols|ols_matrix|arima_monthly|arima_long [--repeat R] [--threads T]
//! ```

use std::time::Instant;

use rapport_analytics::apriori::association_rules;
use rapport_analytics::arima::{Order, fit_arima};
use rapport_analytics::kmeans::{KMeansParams, kmeans_flat};
use rapport_analytics::ols::{design_matrix, ols};
use serde_json::{Value, json};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    if s.len() % 2 == 1 { s[m] } else { (s[m - 1] + s[m]) / 2.0 }
}

/// CPU time of the whole process (all threads), from /proc/self/stat (Linux; 0 elsewhere).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesized command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0 // USER_HZ is 100 on Linux
}

static CPU: std::sync::Mutex<Vec<f64>> = std::sync::Mutex::new(Vec::new());

fn timeit<T>(repeat: usize, mut f: impl FnMut() -> T) -> (Vec<f64>, T) {
    let mut times = Vec::new();
    let mut out = None;
    for _ in 0..repeat.max(1) {
        let c0 = cpu_seconds();
        let t0 = Instant::now();
        let r = f();
        times.push(t0.elapsed().as_secs_f64());
        CPU.lock().unwrap().push(cpu_seconds() - c0);
        out = Some(r);
    }
    (times, out.expect("at least one repeat"))
}

fn read_csv(path: &str) -> (Vec<String>, Vec<csv::StringRecord>) {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let head = r.headers().expect("header").iter().map(String::from).collect();
    let rows = r.records().map(|x| x.expect("csv row")).collect();
    (head, rows)
}

fn column(head: &[String], name: &str) -> usize {
    head.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let data = arg(&args, "--data").expect("--data DIR");
    let alg = arg(&args, "--alg").expect("--alg");
    let repeat: usize = arg(&args, "--repeat").map_or(5, |v| v.parse().expect("--repeat N"));
    let mut threads: usize = arg(&args, "--threads").map_or(0, |v| v.parse().expect("--threads N"));
    if alg == "kmeans_1t" {
        threads = 1;
    }
    // `rules` uses the peer's thresholds; `rules_low` a lower support with many more itemsets.
    let (sup0, conf0) = if alg == "rules_low" { (0.005, 0.1) } else { (0.02, 0.2) };
    let min_support: f64 = arg(&args, "--min-support").map_or(sup0, |v| v.parse().unwrap());
    let min_conf: f64 = arg(&args, "--min-confidence").map_or(conf0, |v| v.parse().unwrap());
    let mut res = json!({"alg": alg, "side": "rust"});
    let times: Vec<f64>;
    let mut used_threads = 1usize;
    match alg.as_str() {
        "kmeans" | "kmeans_1t" => {
            let bytes = std::fs::read(format!("{data}/points.f64")).expect("points.f64");
            let x: Vec<f64> = bytes.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect();
            let params = KMeansParams { k: 4, n_init: 10, seed: 0, threads, ..KMeansParams::default() };
            let (t, m) = timeit(repeat, || kmeans_flat(&x, 3, &params).expect("kmeans"));
            times = t;
            used_threads = if threads == 0 { std::thread::available_parallelism().map_or(1, |v| v.get()) } else { threads };
            res["inertia"] = json!(m.inertia);
            res["n_iter"] = json!(m.n_iter);
            res["n"] = json!(x.len() / 3);
            res["params"] = json!(format!("{params:?}"));
        }
        "rules" | "rules_low" => {
            let (head, rows) = read_csv(&format!("{data}/baskets.csv"));
            let (bi, ii) = (column(&head, "basket_id"), column(&head, "item"));
            let mut baskets: Vec<Vec<String>> = Vec::new();
            let mut last: Option<String> = None;
            for r in &rows {
                if last.as_deref() != Some(&r[bi]) {
                    baskets.push(Vec::new());
                    last = Some(r[bi].to_string());
                }
                baskets.last_mut().unwrap().push(r[ii].to_string());
            }
            let (t, r) = timeit(repeat, || association_rules(&baskets, min_support, min_conf).expect("rules"));
            times = t;
            let mut sets: Vec<Value> = r.itemsets.iter().map(|s| json!([s.items, s.count])).collect();
            sets.sort_by_key(|v| v.to_string());
            res["n"] = json!(baskets.len());
            res["min_support"] = json!(min_support);
            res["min_confidence"] = json!(min_conf);
            res["itemsets"] = json!(sets);
            let rules: Vec<Value> = r.rules.iter().map(|x| json!([x.antecedents, x.consequents, x.confidence, x.lift])).collect();
            res["rules"] = json!(rules);
        }
        "ols" | "ols_matrix" => {
            let (head, rows) = read_csv(&format!("{data}/ols.csv"));
            let num = |name: &str| -> Vec<f64> {
                let c = column(&head, name);
                rows.iter().map(|r| r[c].parse::<f64>().unwrap()).collect()
            };
            let (y, budget, tv) = (num("sales"), num("budget"), num("tv_share"));
            let cc = column(&head, "channel");
            let channel: Vec<String> = rows.iter().map(|r| r[cc].to_string()).collect();
            let build = || design_matrix(true, &[("budget", &budget), ("tv_share", &tv)], &[("channel", &channel)]).expect("design");
            let (t, f) = if alg == "ols" {
                // Like statsmodels' formula interface: dummies built inside the timed region.
                timeit(repeat, || ols(&y, &build()).expect("ols"))
            } else {
                let d = build();
                timeit(repeat, || ols(&y, &d).expect("ols"))
            };
            times = t;
            res["n"] = json!(y.len());
            res["names"] = json!(f.names);
            res["coef"] = json!(f.coef);
            res["std_err"] = json!(f.std_err);
            res["p"] = json!(f.p);
            res["r2"] = json!(f.r_squared);
        }
        "arima_monthly" | "arima_long" => {
            let (head, rows) = read_csv(&format!("{data}/{alg}.csv"));
            let c = column(&head, "value");
            let y: Vec<f64> = rows.iter().map(|r| r[c].parse().unwrap()).collect();
            let order = Order { p: 1, d: 1, q: 1 };
            let (t, (fit, fc)) = timeit(repeat, || {
                let fit = fit_arima(&y, order).expect("arima");
                let fc = fit.forecast(12, 0.95).expect("forecast");
                (fit, fc)
            });
            times = t;
            res["n"] = json!(y.len());
            res["params"] = json!([fit.ar[0], fit.ma[0], fit.sigma2]);
            res["llf"] = json!(fit.llf);
            res["forecast"] = json!(fc.mean);
        }
        other => panic!("unknown --alg {other}"),
    }
    res["median"] = json!(median(&times));
    res["times"] = json!(times);
    res["cpu_times"] = json!(*CPU.lock().unwrap());
    res["threads"] = json!(used_threads);
    println!("{res}");
}
