//! The web UI: server-rendered pages (askama templates compiled into the binary) with a little
//! plain JavaScript for live search. Sessions are database-backed tokens in an HttpOnly,
//! SameSite=Lax cookie; every form carries a CSRF token derived from the session.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rapport_domain::permissions::Actor;
use rapport_store::User;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{CurrentUser, request_id};

mod admin;
mod analytics;
pub use analytics::{forecast_svg, scatter_svg};
mod companies;
mod customers;
mod forms;

const SESSION_COOKIE: &str = "rapport_session";

/// UI routes and static assets.
pub fn router() -> axum::Router<AppState> {
    // Every form of a signed-in user passes the CSRF check before its handler runs.
    let signed_in = axum::Router::new()
        .route("/logout", post(logout))
        .merge(customers::router())
        .merge(companies::router())
        .merge(admin::router())
        .merge(analytics::router())
        .route_layer(axum::middleware::from_fn(require_csrf));
    axum::Router::new()
        .route("/", get(|| async { Redirect::to("/customers") }))
        .route("/login", get(login_page).post(login_submit))
        .route("/static/app.css", get(|| async { asset("text/css", include_str!("../../static/app.css")) }))
        .route("/static/app.js", get(|| async { asset("text/javascript", include_str!("../../static/app.js")) }))
        .merge(signed_in)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=3600")], body).into_response()
}

/// The signed-in user of a UI request, with the CSRF token its forms must carry. Requests
/// without a live session are sent to the login page.
pub struct UiUser {
    /// The user and actor.
    pub current: CurrentUser,
    /// Token for the hidden `_csrf` field.
    pub csrf: String,
}

impl UiUser {
    /// The acting user for store calls.
    pub fn actor(&self) -> &Actor {
        &self.current.actor
    }

    /// The account.
    pub fn user(&self) -> &User {
        &self.current.user
    }
}

/// The largest form accepted (axum's default body limit).
const FORM_LIMIT: usize = 2 * 1024 * 1024;

/// Refuses a submitted form whose `_csrf` field does not match the session it comes with. A
/// request without a session cookie goes on: its handler sends it to the login page.
async fn require_csrf(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if matches!(*req.method(), axum::http::Method::GET | axum::http::Method::HEAD) {
        return next.run(req).await;
    }
    let Some(expected) = cookie(req.headers(), SESSION_COOKIE).map(csrf_for) else {
        return next.run(req).await;
    };
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, FORM_LIMIT).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, Html("<h1>Form too large</h1>")).into_response();
    };
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    if !fields.iter().any(|(k, v)| k == "_csrf" && *v == expected) {
        return (StatusCode::FORBIDDEN, Html("<h1>Form expired</h1><p>Reload the page and submit the form again.</p>")).into_response();
    }
    next.run(axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes))).await
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

fn csrf_for(session: &str) -> String {
    rapport_store::crypto::hex(&Sha256::digest(format!("csrf:{session}").as_bytes())[..16])
}

impl FromRequestParts<AppState> for UiUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let login = || Redirect::to(&format!("/login?next={}", urlencode(parts.uri.path()))).into_response();
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(login());
        };
        match CurrentUser::from_token(state, token, &parts.headers).await {
            Ok(current) => Ok(UiUser { current, csrf: csrf_for(token) }),
            Err(ApiError::Unauthorized) => Err(login()),
            Err(e) => Err(e.into_response()),
        }
    }
}

/// What a rejected form submission shows: the submitted values with each field's error, and a
/// notice on top. Errors that are not about the input (missing record, database down) are
/// answered as such.
pub fn form_errors(form: HashMap<String, String>, e: rapport_store::Error) -> Result<(forms::FormState, Option<String>), ApiError> {
    use rapport_store::Error as E;
    let with =
        |errors: &[rapport_domain::FieldError]| forms::FormState { values: form.clone(), errors: HashMap::new() }.with_errors(errors);
    Ok(match e {
        E::Invalid(v) => (with(&v.0), Some("Please correct the fields marked below.".to_string())),
        E::Conflict { field, message } | E::Forbidden { field, message } => {
            (with(&[rapport_domain::FieldError { field, message: message.clone() }]), Some(message))
        }
        e @ E::VersionMismatch { .. } => (with(&[]), Some(format!("{e}. Open the record again to see their change, then re-apply yours."))),
        other => return Err(other.into()),
    })
}

/// The record version a form was filled in from (its hidden `version` field), for `If-Match`.
pub fn form_version(form: &HashMap<String, String>) -> Option<i64> {
    form.get("version").and_then(|v| v.parse().ok())
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Renders a template, turning a template bug into a logged 500.
pub fn render<T: askama::Template>(t: &T) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => ApiError::Internal(format!("template: {e}")).into_response(),
    }
}

#[derive(askama::Template)]
#[template(path = "login.html")]
struct LoginPage {
    error: Option<String>,
    email: String,
    next: String,
}

fn safe_next(next: Option<&String>) -> String {
    // Only local paths: an open redirect to another site would help phishing.
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") => n.clone(),
        _ => "/customers".into(),
    }
}

async fn login_page(Query(q): Query<HashMap<String, String>>) -> Response {
    render(&LoginPage { error: None, email: String::new(), next: safe_next(q.get("next")) })
}

async fn login_submit(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<HashMap<String, String>>) -> Response {
    let email = form.get("email").cloned().unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    let next = safe_next(form.get("next"));
    match state.store.login(&email, &password, "session", request_id(&headers)).await {
        Ok(Ok((token, _))) => {
            let secure = if state.config.secure_cookies { "; Secure" } else { "" };
            let cookie = format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=2592000{secure}");
            let mut res = Redirect::to(&next).into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                res.headers_mut().insert(header::SET_COOKIE, v);
            }
            res
        }
        Ok(Err(refused)) => {
            let (status, error) = match refused {
                rapport_store::LoginRefused::BadCredentials => (StatusCode::UNAUTHORIZED, "Wrong email or password.".to_string()),
                rapport_store::LoginRefused::Locked { until } => {
                    (StatusCode::TOO_MANY_REQUESTS, format!("Too many failed attempts: this account is locked until {until} (UTC)."))
                }
            };
            (status, render(&LoginPage { error: Some(error), email, next })).into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

async fn logout(State(state): State<AppState>, user: UiUser, headers: HeaderMap) -> Response {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        let _ = state.store.revoke_token(user.actor(), token).await;
    }
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_static("rapport_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"));
    res
}
