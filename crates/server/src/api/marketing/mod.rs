//! Marketing email (issue 12 §3–6): templates with preview, the sending of a campaign, consent
//! records, suppressions and the providers' bounce and complaint webhook.

mod bounces;
mod consent;
mod sends;
mod templates;

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    templates::router().merge(sends::router()).merge(consent::router()).merge(bounces::router())
}
