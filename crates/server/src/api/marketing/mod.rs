//! Marketing (issue 12): `/api/v1/campaigns` with their members and responses,
//! `/api/v1/segments` with their live counts, and marketing email: templates with preview, the
//! sending of a campaign, consent records, suppressions and the providers' bounce and complaint
//! webhook.

mod ab;
mod bounces;
mod clusters;
mod consent;
mod reports;
mod sends;
mod sequences;
mod templates;

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

pub mod campaigns;
pub mod members;
pub mod segments;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(campaigns::router())
        .merge(members::router())
        .merge(segments::router())
        .merge(templates::router())
        .merge(sends::router())
        .merge(consent::router())
        .merge(bounces::router())
        .merge(ab::router())
        .merge(reports::router())
        .merge(sequences::router())
        .merge(clusters::router())
}
