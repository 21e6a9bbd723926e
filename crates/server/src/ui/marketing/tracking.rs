//! `/m/o/{token}` (the open pixel), `/m/c/{token}/{n}` (a click, redirected to link n of that
//! mail only; any other number is a 404) and `/m/v/{token}` (the web view). HEAD requests,
//! scanners' and proxies' user agents and clicks within seconds of delivery are recorded as
//! machine events by the store and never counted.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::Path;
use crate::ui::render;

pub(super) fn public_router() -> axum::Router<AppState> {
    axum::Router::new().route("/m/o/{token}", get(open)).route("/m/c/{token}/{n}", get(click)).route("/m/v/{token}", get(web_view))
}

/// A transparent 1×1 GIF.
const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04,
    0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

fn agent(h: &HeaderMap) -> Option<&str> {
    h.get(header::USER_AGENT).and_then(|v| v.to_str().ok())
}

async fn open(State(state): State<AppState>, method: Method, headers: HeaderMap, Path(token): Path<String>) -> Response {
    let token = token.trim_end_matches(".gif");
    // The pixel answers even for an unknown token: a mail client shows no broken image.
    let _ = state.store.track_open(token, method == Method::HEAD, agent(&headers)).await;
    ([(header::CONTENT_TYPE, "image/gif"), (header::CACHE_CONTROL, "no-store")], PIXEL).into_response()
}

async fn click(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path((token, n)): Path<(String, usize)>,
) -> Result<Response, ApiError> {
    let t = state.store.track_click(&token, n, method == Method::HEAD, agent(&headers)).await?;
    let url = t.url.ok_or(ApiError::NotFound)?;
    Ok(Redirect::to(&url).into_response())
}

#[derive(Template)]
#[template(path = "marketing_web_view.html")]
struct WebView {
    subject: String,
    text: String,
    html: Option<String>,
}

async fn web_view(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, ApiError> {
    let (subject, text, html) = state.store.web_view(&token).await?;
    let mut res = render(&WebView { subject, text, html });
    if res.status() == StatusCode::OK {
        res.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    }
    Ok(res)
}
