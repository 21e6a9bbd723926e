//! Service pages: the ticket queue, form and page with the workflow's buttons, and the public
//! help desk pages.

mod dashboard;
mod feedback;
mod macros;
mod mail;
mod mail_settings;
mod queue;
mod sla;
mod support;
mod surveys;
mod ticket_links;
mod tickets;

use crate::AppState;

/// Pages for signed-in users (behind the CSRF check).
pub(super) fn router() -> axum::Router<AppState> {
    tickets::router()
        .merge(queue::router())
        .merge(mail::router())
        .merge(mail_settings::router())
        .merge(sla::router())
        .merge(ticket_links::router())
        .merge(macros::router())
        .merge(dashboard::router())
        .merge(feedback::router())
}

/// Pages anyone may open: the public ticket form and the customers' ticket links.
pub(super) fn public_router() -> axum::Router<AppState> {
    support::public_router().merge(surveys::public_router())
}
