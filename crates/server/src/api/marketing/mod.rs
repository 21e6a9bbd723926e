//! Marketing (issue 12): `/api/v1/campaigns` with their members and responses, and
//! `/api/v1/segments` with their live counts.

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

pub mod campaigns;
pub mod members;
pub mod segments;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().merge(campaigns::router()).merge(members::router()).merge(segments::router())
}
