//! Marketing pages: the public pages a marketing mail links to (tracking pixel and click
//! redirects, web view, unsubscribe confirmation, preference centre), the template editor,
//! campaigns with their funnel, sending and A/B result, the segment builder, the sequence
//! editor, the marketing dashboard, and the names of clusters.

mod ab;
mod campaigns;
mod clusters;
mod confirm;
mod consent;
mod dashboard;
mod segments;
mod sequences;
mod templates;
mod tracking;

use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rapport_domain::marketing::segments::Audience;
use rapport_domain::permissions::Actor;

pub(super) use clusters::{ClusterLabels, cluster_labels};

use crate::AppState;
use crate::error::ApiError;

/// Pages for signed-in users (behind the CSRF check).
pub(super) fn router() -> axum::Router<AppState> {
    templates::router()
        .merge(campaigns::router())
        .merge(segments::router())
        .merge(clusters::router())
        .merge(ab::router())
        .merge(dashboard::router())
        .merge(sequences::router())
        .route("/static/marketing.js", get(|| async { asset("text/javascript", include_str!("../../../static/marketing.js")) }))
}

/// Pages anyone with a mail's link may open.
pub(super) fn public_router() -> axum::Router<AppState> {
    tracking::public_router().merge(consent::public_router()).merge(confirm::public_router())
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(axum::http::header::CONTENT_TYPE, content_type), (axum::http::header::CACHE_CONTROL, "public, max-age=3600")], body).into_response()
}

/// A segment or a segment's error; the people list's `segment_id=`.
pub(super) type SegmentChoice = Result<Option<(Audience, String)>, String>;

/// Takes `segment_id=` out of a list's query as the API's people list does: the segment
/// resolved with its name, or why it cannot be used (not an id, no such segment), for the list
/// to show instead of failing the page.
pub(super) async fn segment_filter(
    state: &AppState,
    actor: &Actor,
    pairs: Vec<(String, String)>,
) -> Result<(Vec<(String, String)>, SegmentChoice), ApiError> {
    let rest: Vec<(String, String)> = pairs.iter().filter(|(k, _)| k != "segment_id").cloned().collect();
    match crate::api::marketing::segments::segment_filter(state, actor, pairs).await {
        Ok((rest, None)) => Ok((rest, Ok(None))),
        Ok((rest, Some(a))) => {
            let name = state.store.get_segment(actor, a.segment_id).await?.data.name;
            Ok((rest, Ok(Some((a, name)))))
        }
        Err(e @ ApiError::BadRequest { .. }) => Ok((rest, Err(e.problem().detail))),
        Err(e) => Err(e),
    }
}
