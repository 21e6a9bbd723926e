//! Signing in and out of the web UI, and what guards every form.
//!
//! - The session is a `session`-kind token in an HttpOnly, SameSite=Lax cookie. Any other kind
//!   of token found there (a personal or API token pasted into the cookie) counts as signed
//!   out: such tokens may be read-only, and the UI is for people who signed in.
//! - Every form of a signed-in user carries a CSRF token: HMAC-SHA256 of the session token
//!   under a random key kept in the database ([`rapport_store::Store::form_token`]), so
//!   knowing a session token is not enough to forge one. [`require_csrf`] checks it, and the
//!   session's write scope, before any handler runs.
//! - The sign-in form has no session to bind to, so it gets a signed double submit: a random
//!   value in a cookie only `/login` receives, and its HMAC in the form. A browser that says
//!   where a sign-in comes from (`Origin`, or else `Referer`) must name this site too.
//! - `next=` after sign-in is a path on this site or nothing ([`safe_next`]).

use std::collections::HashMap;

use axum::Form;
use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use rapport_store::Session;

use super::{UiUser, render, urlencode};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{CurrentUser, request_id};

pub(super) const SESSION_COOKIE: &str = "rapport_session";
/// The sign-in form's random value (see the module doc).
const LOGIN_COOKIE: &str = "rapport_login";
/// Where people land after signing in when `next` is absent or not a local path.
const DEFAULT_NEXT: &str = "/customers";
/// The largest form accepted (axum's default body limit).
const FORM_LIMIT: usize = 2 * 1024 * 1024;

/// A cookie's value, if the request carries it.
pub(super) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

/// A 303 to `location`, which must be a header-safe path (every caller passes a constant or
/// the output of [`safe_next`]); falls back to the default page rather than failing.
fn see_other(location: &str) -> Response {
    let value = HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static(DEFAULT_NEXT));
    (StatusCode::SEE_OTHER, [(header::LOCATION, value)]).into_response()
}

/// The live UI session of a request with its cookie's token; `None` when signed out, which
/// includes a cookie holding a token of another kind than `session`.
async fn ui_session<'a>(state: &AppState, headers: &'a HeaderMap) -> Result<Option<(Session, &'a str)>, ApiError> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    Ok(state.store.authenticate(token).await?.filter(|s| s.kind == "session").map(|s| (s, token)))
}

impl FromRequestParts<AppState> for UiUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match ui_session(state, &parts.headers).await {
            Ok(Some((session, token))) => {
                let csrf = state.store.form_token("session", token).await.map_err(|e| ApiError::from(e).into_response())?;
                let actor = session.actor(request_id(&parts.headers));
                Ok(UiUser { current: CurrentUser { user: session.user, actor, scopes: session.scopes }, csrf })
            }
            Ok(None) => Err(see_other(&format!("/login?next={}", urlencode(parts.uri.path())))),
            Err(e) => Err(e.into_response()),
        }
    }
}

/// Runs before every handler of a signed-in page: a request that changes something needs a
/// live `session` (else it goes to the login page, its handler never runs), whose token allows
/// writing, and the session's CSRF token in the form's `_csrf` field.
pub(super) async fn require_csrf(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        return next.run(req).await;
    }
    let (session, token) = match ui_session(&state, req.headers()).await {
        Ok(Some((s, t))) => (s, t.to_string()),
        Ok(None) => return see_other("/login"),
        Err(e) => return e.into_response(),
    };
    if !session.scopes.write {
        return (StatusCode::FORBIDDEN, Html("<h1>Not allowed</h1><p>This session is read-only.</p>")).into_response();
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, FORM_LIMIT).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, Html("<h1>Form too large</h1>")).into_response();
    };
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    let sent = fields.iter().find(|(k, _)| k == "_csrf").map(|(_, v)| v.as_str()).unwrap_or("");
    match state.store.check_form_token("session", &token, sent).await {
        Ok(true) => next.run(Request::from_parts(parts, axum::body::Body::from(bytes))).await,
        Ok(false) => {
            (StatusCode::FORBIDDEN, Html("<h1>Form expired</h1><p>Reload the page and submit the form again.</p>")).into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// Where to go after signing in: `next` when it is a path on this site, else [`DEFAULT_NEXT`].
///
/// A local path starts with one `/` followed by anything but `/` or `\` (browsers read `//x`
/// and `/\x` as another host), and holds no backslash and no control character (browsers drop
/// tabs and newlines, so `/<TAB>/x` is `//x`; `\r\n` would split the header). The same must
/// hold after every further percent-decoding, since a proxy or a browser may decode again.
/// What passes is returned with spaces and non-ASCII percent-encoded, so it is always a valid
/// `Location`.
pub(super) fn safe_next(next: Option<&String>) -> String {
    fn local(s: &str) -> bool {
        let b = s.as_bytes();
        b.first() == Some(&b'/') && !matches!(b.get(1), Some(b'/' | b'\\')) && !s.chars().any(|c| c == '\\' || c.is_control())
    }
    let Some(n) = next.filter(|n| n.len() <= 2000) else {
        return DEFAULT_NEXT.into();
    };
    let mut form = n.clone();
    for _ in 0..5 {
        if !local(&form) {
            return DEFAULT_NEXT.into();
        }
        let decoded = percent_decode(&form);
        if decoded == form {
            return n.bytes().map(|b| if b.is_ascii_graphic() { (b as char).to_string() } else { format!("%{b:02X}") }).collect();
        }
        form = decoded;
    }
    // Encoded more deeply than any real link is: not worth the risk.
    DEFAULT_NEXT.into()
}

/// `%XX` sequences decoded (others left as they are); invalid UTF-8 becomes U+FFFD.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (b[i], b.get(i + 1).copied().and_then(hex), b.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(askama::Template)]
#[template(path = "login.html")]
struct LoginPage {
    error: Option<String>,
    email: String,
    next: String,
    csrf: String,
}

/// The login page with its form token: for the browser's existing sign-in cookie, or for a new
/// random one, set on the response.
async fn login_form(state: &AppState, headers: &HeaderMap, status: StatusCode, page: LoginPage) -> Response {
    let existing =
        cookie(headers, LOGIN_COOKIE).filter(|v| v.len() == 43 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    let nonce = match existing {
        Some(v) => v.to_string(),
        None => base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>()),
    };
    let csrf = match state.store.form_token("login", &nonce).await {
        Ok(t) => t,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let mut res = (status, render(&LoginPage { csrf, ..page })).into_response();
    if existing.is_none() {
        let secure = if state.config.secure_cookies { "; Secure" } else { "" };
        let set = format!("{LOGIN_COOKIE}={nonce}; Path=/login; HttpOnly; SameSite=Strict{secure}");
        if let Ok(v) = HeaderValue::from_str(&set) {
            res.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    res
}

pub(super) async fn login_page(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    let page = LoginPage { error: None, email: String::new(), next: safe_next(q.get("next")), csrf: String::new() };
    login_form(&state, &headers, StatusCode::OK, page).await
}

/// Whether a browser that names where the request comes from names this site: `Origin`, or
/// `Referer` when there is no `Origin`, must have the host (and port) of `Host` (or of
/// `X-Forwarded-Host`, behind a proxy). Clients that send neither pass: the form token still
/// has to match.
fn same_site(headers: &HeaderMap, uri: &Uri) -> bool {
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let Some(from) = text(header::ORIGIN).or_else(|| text(header::REFERER)) else {
        return true;
    };
    let Some((_, rest)) = from.split_once("://") else {
        return false; // `Origin: null` (sandboxed frames, cross-site redirects) and garbage
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let ours = [text(header::HOST), text(header::HeaderName::from_static("x-forwarded-host")), uri.authority().map(|a| a.as_str())];
    !authority.is_empty() && ours.into_iter().flatten().any(|h| h.split(',').next().unwrap_or("").trim().eq_ignore_ascii_case(authority))
}

pub(super) async fn login_submit(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let email = form.get("email").cloned().unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    let next = safe_next(form.get("next"));
    let sent = form.get("_csrf").map(String::as_str).unwrap_or("");
    let genuine = match cookie(&headers, LOGIN_COOKIE) {
        Some(nonce) if same_site(&headers, &uri) => state.store.check_form_token("login", nonce, sent).await,
        _ => Ok(false),
    };
    match genuine {
        Ok(true) => {}
        Ok(false) => {
            // Login CSRF (signing the victim into the attacker's account) or a stale form.
            let error = Some("This sign-in form has expired: please sign in again.".to_string());
            return login_form(&state, &headers, StatusCode::FORBIDDEN, LoginPage { error, email, next, csrf: String::new() }).await;
        }
        Err(e) => return ApiError::from(e).into_response(),
    }
    match state.store.login(&email, &password, "session", request_id(&headers)).await {
        Ok(Ok((token, _))) => {
            let secure = if state.config.secure_cookies { "; Secure" } else { "" };
            let cookie = format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=2592000{secure}");
            let mut res = see_other(&next);
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
            login_form(&state, &headers, status, LoginPage { error: Some(error), email, next, csrf: String::new() }).await
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

pub(super) async fn logout(State(state): State<AppState>, user: UiUser, headers: HeaderMap) -> Response {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        let _ = state.store.revoke_token(user.actor(), token).await;
    }
    let mut res = see_other("/login");
    res.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_static("rapport_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"));
    res
}
