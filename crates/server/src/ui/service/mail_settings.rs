//! `/admin/mail/settings`: the form where admins set the SMTP relay, the IMAP mailbox (host,
//! port, TLS mode, user, password, folder, a custom CA), the From address and the poll interval,
//! each field's error beside it and a stale form refused (the hidden `version`). Passwords are
//! never shown: left empty they stay, or a box clears them.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use rapport_domain::ValidationErrors;
use rapport_domain::service::mail_settings::{MailSettings, MailSettingsInput, TlsMode};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::Form;
use crate::ui::forms::FormState;
use crate::ui::{UiUser, form_errors, form_version, render};

pub(super) fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/admin/mail/settings", get(page).post(save))
}

#[derive(Template)]
#[template(path = "service_admin_mail_settings.html")]
struct SettingsPage {
    user_name: String,
    csrf: String,
    f: FormState,
    saved: MailSettings,
    modes: &'static [&'static str],
    notice: Option<String>,
    done: bool,
}

/// The form fields of the stored settings.
fn values(s: &MailSettings) -> FormState {
    let t = |v: &Option<String>| v.clone().unwrap_or_default();
    let n = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    let m = |v: Option<TlsMode>| v.unwrap_or_default().as_str().to_string();
    let values = HashMap::from([
        ("smtp_host".to_string(), t(&s.smtp_host)),
        ("smtp_port".to_string(), n(s.smtp_port)),
        ("smtp_tls".to_string(), m(s.smtp_tls)),
        ("smtp_user".to_string(), t(&s.smtp_user)),
        ("mail_from".to_string(), t(&s.mail_from)),
        ("imap_host".to_string(), t(&s.imap_host)),
        ("imap_port".to_string(), n(s.imap_port)),
        ("imap_tls".to_string(), m(s.imap_tls)),
        ("imap_user".to_string(), t(&s.imap_user)),
        ("imap_folder".to_string(), t(&s.imap_folder)),
        ("imap_ca_pem".to_string(), t(&s.imap_ca_pem)),
        ("imap_poll_secs".to_string(), n(s.imap_poll_secs)),
        ("version".to_string(), s.version.to_string()),
    ]);
    FormState { values, errors: HashMap::new() }
}

async fn show(
    state: &AppState,
    user: &UiUser,
    f: Option<FormState>,
    notice: Option<String>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let saved = state.store.mail_settings(user.actor()).await?;
    let done = f.is_none() && notice.is_some();
    let f = f.unwrap_or_else(|| values(&saved));
    let page = SettingsPage { user_name: user.user().name.clone(), csrf: user.csrf.clone(), f, saved, modes: TlsMode::NAMES, notice, done };
    Ok((status, render(&page)).into_response())
}

async fn page(
    State(state): State<AppState>,
    user: UiUser,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let notice = q.contains_key("saved").then(|| "Saved. The mail jobs use the new settings from their next pass.".to_string());
    show(&state, &user, None, notice, StatusCode::OK).await
}

/// What the form asks: an empty text clears its field, an empty password keeps the stored one
/// (unless its "clear" box is ticked).
fn input(form: &HashMap<String, String>) -> Result<MailSettingsInput, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let text = |k: &str| Some(form.get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty()));
    let mut number = |k: &str| -> Option<Option<i64>> {
        match form.get(k).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            None => Some(None),
            Some(raw) => match raw.parse() {
                Ok(n) => Some(Some(n)),
                Err(_) => {
                    errors.add(k, format!("'{raw}' is not a whole number"));
                    None
                }
            },
        }
    };
    let password = |k: &str| {
        if form.get(&format!("clear_{k}")).is_some_and(|v| v == "on") {
            Some(None)
        } else {
            form.get(k).filter(|v| !v.is_empty()).map(|v| Some(v.clone()))
        }
    };
    let (smtp_port, imap_port, imap_poll_secs) = (number("smtp_port"), number("imap_port"), number("imap_poll_secs"));
    let input = MailSettingsInput {
        smtp_host: text("smtp_host"),
        smtp_port,
        smtp_tls: text("smtp_tls"),
        smtp_user: text("smtp_user"),
        smtp_password: password("smtp_password"),
        mail_from: text("mail_from"),
        imap_host: text("imap_host"),
        imap_port,
        imap_tls: text("imap_tls"),
        imap_user: text("imap_user"),
        imap_password: password("imap_password"),
        imap_folder: text("imap_folder"),
        imap_ca_pem: text("imap_ca_pem"),
        imap_poll_secs,
    };
    errors.into_result(input)
}

async fn save(State(state): State<AppState>, user: UiUser, Form(form): Form<HashMap<String, String>>) -> Result<Response, ApiError> {
    let r = match input(&form) {
        Ok(input) => state.store.save_mail_settings(user.actor(), form_version(&form), input).await,
        Err(e) => Err(rapport_store::Error::Invalid(e)),
    };
    let e = match r {
        Ok(_) => return Ok(Redirect::to("/admin/mail/settings?saved=1").into_response()),
        Err(e) => e,
    };
    let status = match &e {
        rapport_store::Error::VersionMismatch { .. } => StatusCode::CONFLICT,
        rapport_store::Error::Denied(_) | rapport_store::Error::Forbidden { .. } => return Err(e.into()),
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let mut form = form;
    form.remove("smtp_password");
    form.remove("imap_password");
    let (fs, notice) = form_errors(form, e)?;
    show(&state, &user, Some(fs), notice, status).await
}
