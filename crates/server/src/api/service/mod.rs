//! Customer service resources: tickets and their workflow, followers, merges and splits, and
//! macros.

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

pub mod links;
pub mod macros;
pub mod tickets;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().merge(tickets::router()).merge(links::router()).merge(macros::router())
}
