//! The web UI: server-rendered pages (askama templates compiled into the binary) with a little
//! plain JavaScript for live search. Sessions are database-backed tokens in an HttpOnly,
//! SameSite=Lax cookie; every form carries a CSRF token (see [`session`]).

use std::collections::HashMap;

use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rapport_domain::permissions::Actor;
use rapport_store::User;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::CurrentUser;

mod admin;
mod analytics;
pub mod charts;
mod webhooks;
pub use analytics::{forecast_svg, scatter_svg};
mod companies;
mod customers;
mod data;
mod forms;
mod marketing;
mod merge;
mod notifications;
mod quality;
pub mod records;
mod sales;
mod service;
mod session;

/// UI routes and static assets; `state` is what the CSRF check reads sessions from.
pub fn router(state: &AppState) -> axum::Router<AppState> {
    // Every form of a signed-in user passes the CSRF check before its handler runs.
    let signed_in = axum::Router::new()
        .route("/logout", post(session::logout))
        .merge(customers::router())
        .merge(companies::router())
        .merge(admin::router())
        .merge(webhooks::router())
        .merge(analytics::router())
        .merge(sales::router())
        .merge(service::router())
        .merge(notifications::router())
        .merge(marketing::router())
        .merge(quality::router())
        .merge(merge::router())
        .merge(data::router())
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), session::require_csrf));
    axum::Router::new()
        .route("/", get(|| async { Redirect::to("/dashboard") }))
        .route("/login", get(session::login_page).post(session::login_submit))
        .merge(sales::public_router())
        .merge(service::public_router())
        .merge(marketing::public_router())
        .merge(data::upload_router())
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

/// What a rejected form submission shows: the submitted values with each field's error, and a
/// notice on top. Errors that are not about the input (missing record, database down) are
/// answered as such.
pub fn form_errors(form: HashMap<String, String>, e: rapport_store::Error) -> Result<(forms::FormState, Option<String>), ApiError> {
    use rapport_store::Error as E;
    let with =
        |errors: &[rapport_domain::FieldError]| forms::FormState { values: form.clone(), errors: HashMap::new() }.with_errors(errors);
    Ok(match e {
        E::Invalid(v) => (with(&v.0), Some("Please correct the fields marked below.".to_string())),
        E::Refused(r) => {
            let field = r.field.unwrap_or(r.object).to_string();
            (with(&[rapport_domain::FieldError { field, message: r.to_string() }]), Some(r.to_string()))
        }
        E::Conflict { field, message } | E::Forbidden { field, message } => {
            (with(&[rapport_domain::FieldError { field, message: message.clone() }]), Some(message))
        }
        e @ E::VersionMismatch { .. } => (with(&[]), Some(format!("{e}. Open the record again to see their change, then re-apply yours."))),
        other => return Err(other.into()),
    })
}

/// What a page shows when one of its buttons is refused (a stale page, a status that no longer
/// allows the action, a missing field): the status to answer with and the problem's detail, to
/// draw the page again with it on top. A missing record or a server fault is answered as such.
pub fn refusal(e: rapport_store::Error) -> Result<(axum::http::StatusCode, String), ApiError> {
    let api = ApiError::from(e);
    let status = axum::http::StatusCode::from_u16(api.problem().status).unwrap_or(axum::http::StatusCode::UNPROCESSABLE_ENTITY);
    if status == axum::http::StatusCode::NOT_FOUND || status.is_server_error() {
        return Err(api);
    }
    Ok((status, api.problem().detail))
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
