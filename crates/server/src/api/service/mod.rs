//! Customer service resources: tickets and their workflow.

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

pub mod feedback;
pub mod reports;
pub mod surveys;
pub mod tickets;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().merge(tickets::router()).merge(surveys::router()).merge(reports::router()).merge(feedback::router())
}
