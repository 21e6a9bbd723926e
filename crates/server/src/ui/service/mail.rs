//! `/admin/mail`: the outgoing mail queue for admins — rows per state, the latest mails with
//! their errors — and the requeue button for a mail that failed or is `unconfirmed` (its sender
//! died mid-send, so only a person who checked may send it again).

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::response::{Redirect, Response};
use axum::routing::{get, post};
use rapport_domain::service::mail::{MailQueueSummary, MailState};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::Form;
use crate::ui::{UiUser, render};

pub(super) fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/admin/mail", get(page)).route("/admin/mail/requeue", post(requeue))
}

#[derive(Template)]
#[template(path = "service_admin_mail.html")]
struct MailPage {
    user_name: String,
    csrf: String,
    q: MailQueueSummary,
}

impl MailPage {
    fn may_requeue(&self, s: &MailState) -> bool {
        matches!(s, MailState::Unconfirmed | MailState::Failed)
    }
}

async fn page(State(state): State<AppState>, user: UiUser) -> Result<Response, ApiError> {
    let q = state.store.mail_queue_summary(user.actor(), 100).await?;
    Ok(render(&MailPage { user_name: user.user().name.clone(), csrf: user.csrf.clone(), q }))
}

async fn requeue(State(state): State<AppState>, user: UiUser, Form(form): Form<HashMap<String, String>>) -> Result<Redirect, ApiError> {
    let id = form.get("id").and_then(|v| v.parse().ok()).ok_or_else(|| ApiError::bad_field("id", "is required"))?;
    state.store.requeue_mail(user.actor(), id).await?;
    Ok(Redirect::to("/admin/mail"))
}
