//! Customer service resources: tickets and their workflow, calendars and SLA policies.

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

pub mod assignment;
pub mod mail;
pub mod sla;
pub mod tickets;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().merge(tickets::router()).merge(assignment::router()).merge(mail::router()).merge(sla::router())
}
