//! Structured logs. `init` runs once per process; each request's span carries its request id,
//! method and matched route, so every log line of a request can be found by its id.

use axum::extract::MatchedPath;
use axum::http::Request;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::TraceLayer;
use tracing::Span;

/// Installs the global subscriber: JSON lines when `json`, human-readable otherwise; the level
/// comes from `RUST_LOG` (default `info`).
pub fn init(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}

type MakeSpan = fn(&Request<axum::body::Body>) -> Span;

/// The request span: request id, method, route template (not the raw path, to keep ids out of
/// metrics and logs' cardinality).
pub fn trace_layer() -> TraceLayer<SharedClassifier<ServerErrorsAsFailures>, MakeSpan> {
    fn make_span(req: &Request<axum::body::Body>) -> Span {
        let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_default();
        let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
        tracing::info_span!("request", request_id = %id, method = %req.method(), route = %route)
    }
    TraceLayer::new_for_http().make_span_with(make_span as MakeSpan)
}
