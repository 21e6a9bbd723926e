//! Prometheus metrics: requests by route and status, and a latency histogram by route.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Default)]
struct Route {
    by_status: BTreeMap<u16, u64>,
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Counters kept in memory per process (each process exports its own, as Prometheus expects).
#[derive(Default)]
pub struct Metrics {
    routes: Mutex<BTreeMap<(String, String), Route>>,
}

impl Metrics {
    fn observe(&self, method: &str, route: &str, status: u16, secs: f64) {
        let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        let r = routes.entry((method.to_string(), route.to_string())).or_default();
        *r.by_status.entry(status).or_default() += 1;
        r.count += 1;
        r.sum += secs;
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                r.buckets[i] += 1;
            }
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::from(
            "# HELP rapport_http_requests_total HTTP requests by route and status.\n# TYPE rapport_http_requests_total counter\n",
        );
        for ((m, p), r) in routes.iter() {
            for (s, n) in &r.by_status {
                let _ = writeln!(out, "rapport_http_requests_total{{method=\"{m}\",route=\"{p}\",status=\"{s}\"}} {n}");
            }
        }
        out.push_str("# HELP rapport_http_request_duration_seconds Request latency by route.\n# TYPE rapport_http_request_duration_seconds histogram\n");
        for ((m, p), r) in routes.iter() {
            for (b, n) in BUCKETS.iter().zip(r.buckets) {
                let _ = writeln!(out, "rapport_http_request_duration_seconds_bucket{{method=\"{m}\",route=\"{p}\",le=\"{b}\"}} {n}");
            }
            let _ = writeln!(out, "rapport_http_request_duration_seconds_bucket{{method=\"{m}\",route=\"{p}\",le=\"+Inf\"}} {}", r.count);
            let _ = writeln!(out, "rapport_http_request_duration_seconds_sum{{method=\"{m}\",route=\"{p}\"}} {}", r.sum);
            let _ = writeln!(out, "rapport_http_request_duration_seconds_count{{method=\"{m}\",route=\"{p}\"}} {}", r.count);
        }
        out
    }
}

/// Middleware recording every request.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let res = next.run(req).await;
    state.metrics.observe(&method, &route, res.status().as_u16(), start.elapsed().as_secs_f64());
    res
}
