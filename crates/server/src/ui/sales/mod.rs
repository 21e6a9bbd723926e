//! Sales pages: the lead list, activities with their detail page and the cards on people and
//! companies, the task lists, and the public lead form with its admin page.

mod activities;
mod leads;
mod tasks;
mod web_form;

pub(super) use activities::{ActivityCard, activity_card};

use crate::AppState;

/// Pages for signed-in users (behind the CSRF check).
pub(super) fn router() -> axum::Router<AppState> {
    axum::Router::new().merge(leads::router()).merge(activities::router()).merge(tasks::router()).merge(web_form::admin_router())
}

/// Pages anyone may open: the public lead form.
pub(super) fn public_router() -> axum::Router<AppState> {
    web_form::public_router()
}
