//! Service pages: the ticket queue, form and page with the workflow's buttons.

mod tickets;

use crate::AppState;

/// Pages for signed-in users (behind the CSRF check).
pub(super) fn router() -> axum::Router<AppState> {
    tickets::router()
}
