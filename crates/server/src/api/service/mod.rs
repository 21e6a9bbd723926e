//! Customer service resources: tickets and their workflow.

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

pub mod assignment;
pub mod mail;
pub mod tickets;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().merge(tickets::router()).merge(assignment::router()).merge(mail::router())
}
