//! Marketing pages: the public pages a marketing mail links to (tracking pixel and click
//! redirects, web view, unsubscribe confirmation, preference centre), the template editor and the sequence editor.

mod ab;
mod confirm;
mod consent;
mod dashboard;
mod sequences;
mod templates;
mod tracking;

use crate::AppState;

/// Pages for signed-in users (behind the CSRF check).
pub(super) fn router() -> axum::Router<AppState> {
    templates::router().merge(ab::router()).merge(dashboard::router()).merge(sequences::router())
}

/// Pages anyone with a mail's link may open.
pub(super) fn public_router() -> axum::Router<AppState> {
    tracking::public_router().merge(consent::public_router()).merge(confirm::public_router())
}
