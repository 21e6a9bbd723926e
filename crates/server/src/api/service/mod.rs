//! Customer service resources: tickets and their workflow, assignment, email, calendars and
//! SLA policies, followers, merges and splits, and macros.

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

pub mod assignment;
pub mod feedback;
pub mod links;
pub mod macros;
pub mod mail;
pub mod mail_settings;
pub mod reports;
pub mod sla;
pub mod surveys;
pub mod tickets;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(tickets::router())
        .merge(assignment::router())
        .merge(mail::router())
        .merge(mail_settings::router())
        .merge(sla::router())
        .merge(links::router())
        .merge(macros::router())
        .merge(surveys::router())
        .merge(reports::router())
        .merge(feedback::router())
}
