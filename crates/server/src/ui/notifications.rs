//! The notifications page: the signed-in user's SLA warnings and mentions, newest first, each
//! opening its page and marking itself read; and the unread count the header's badge shows.

use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rapport_domain::notification::Notification;

use super::{UiUser, render};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::Path;

pub(super) fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/notifications", get(page))
        .route("/notifications/badge", get(badge))
        .route("/notifications/read", post(read_all))
        .route("/notifications/{id}/open", post(open))
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    user_name: String,
    csrf: String,
    unread: i64,
    items: Vec<Notification>,
}

impl NotificationsPage {
    fn when(&self, n: &Notification) -> String {
        n.created_at.get(..16).unwrap_or("").replace('T', " ")
    }
}

async fn page(State(state): State<AppState>, user: UiUser) -> Result<Response, ApiError> {
    let items = state.store.notifications(user.actor(), false, None, 100).await?;
    let unread = state.store.unread_notifications(user.actor()).await?;
    Ok(render(&NotificationsPage { user_name: user.user().name.clone(), csrf: user.csrf.clone(), unread, items }))
}

/// The unread count as plain text (empty at zero), for the header's badge.
async fn badge(State(state): State<AppState>, user: UiUser) -> Result<Response, ApiError> {
    let n = state.store.unread_notifications(user.actor()).await?;
    let body = if n == 0 { String::new() } else { n.to_string() };
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response())
}

async fn read_all(State(state): State<AppState>, user: UiUser) -> Result<Response, ApiError> {
    state.store.mark_notifications_read(user.actor(), None).await?;
    Ok(Redirect::to("/notifications").into_response())
}

/// Marks one read and goes where it points.
async fn open(State(state): State<AppState>, user: UiUser, Path(id): Path<i64>) -> Result<Response, ApiError> {
    state.store.mark_notifications_read(user.actor(), Some(id)).await?;
    let link = state.store.notifications(user.actor(), false, Some(id + 1), 1).await?.into_iter().find(|n| n.id == id).and_then(|n| n.link);
    // Only our own pages: a link is a path.
    let to = link.filter(|l| l.starts_with('/') && !l.starts_with("//")).unwrap_or_else(|| "/notifications".into());
    Ok(Redirect::to(&to).into_response())
}
