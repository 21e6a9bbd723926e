//! Rapport's HTTP face: the REST API under `/api/v1`, its OpenAPI document and `/docs`, the
//! server-rendered web UI, `/healthz` and `/metrics`.
//!
//! Handlers are thin: they parse input into domain types, call the store with the acting user
//! (the store authorizes and audits), and map results to HTTP. [`build_app`] assembles the
//! whole router and serves both `rapport serve` and the tests.

use std::sync::Arc;

use axum::Router;
use rapport_domain::values::Region;
use rapport_store::Store;

pub mod analytics;
pub mod api;
pub mod data;
pub mod error;
pub mod extract;
pub mod jobs;
pub mod marketing;
pub mod metrics;
pub mod sales;
pub mod telemetry;
pub mod ui;
pub mod webhooks;

/// Settings the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    /// The region whose numbering plan reads phone numbers typed without a country code.
    pub phone_region: Region,
    /// Whether session cookies carry `Secure` (set when served behind HTTPS).
    pub secure_cookies: bool,
    /// Whether the client's address is the last `X-Forwarded-For` entry (behind a reverse
    /// proxy) rather than the connection's peer.
    pub trust_forwarded_for: bool,
    /// How long an import job's lease lasts (seconds): a job whose server died is taken up by
    /// another (or the same, restarted) once it runs out.
    pub import_lease_secs: i64,
}

impl Default for Config {
    fn default() -> Self {
        Config { phone_region: Region::US, secure_cookies: false, trust_forwarded_for: false, import_lease_secs: 30 }
    }
}

/// What every handler can reach; one pointer, so cloning it for each extractor of each
/// request is one counter increment.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// The contents of [`AppState`].
pub struct Shared {
    /// The database.
    pub store: Store,
    /// Settings.
    pub config: Config,
    /// Request counters and latencies for `/metrics`.
    pub metrics: metrics::Metrics,
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// State over `store` with `config`.
    pub fn new(store: Store, config: Config) -> AppState {
        AppState(Arc::new(Shared { store, config, metrics: metrics::Metrics::default() }))
    }
}

/// The whole application: API, docs, UI, health and metrics, with request ids, tracing and
/// metrics around every request.
pub fn build_app(state: AppState) -> Router {
    use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
    let (api, openapi) = api::router().split_for_parts();
    let openapi = api::finish_openapi(openapi);
    Router::new()
        .merge(api)
        .merge(api::meta_router(openapi))
        .merge(ui::router(&state))
        // After every route is in: each path answers a method it does not take with this.
        .method_not_allowed_fallback(api::method_not_allowed)
        .fallback(api::not_found)
        .layer(axum::extract::DefaultBodyLimit::max(extract::BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(axum::middleware::from_fn(security_headers))
        .layer(telemetry::trace_layer())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// Serves `app` on `listener` until Ctrl-C.
pub async fn serve(listener: tokio::net::TcpListener, app: Router) -> std::io::Result<()> {
    // With the peer's address, which public forms throttle by.
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}

/// Headers that keep browsers from being turned against users: no framing (clickjacking), no
/// MIME sniffing, no referrers to other sites, a CSP that allows only our own scripts, and
/// `Cache-Control: no-store` on whatever may show personal data, so that neither a proxy nor
/// the browser's cache (the back button on a shared computer) keeps it. That is every API
/// response and every page; only responses that set their own policy (the static assets) keep
/// it.
async fn security_headers(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    let api = req.uri().path().starts_with("/api/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if api || !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
        ),
    );
    res
}
