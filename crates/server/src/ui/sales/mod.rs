//! Sales pages: the pipeline board, the opportunity list, form and detail page, the admins'
//! pipeline editor, the product catalogue, orders with their entry form and page, the lead
//! list, activities with their detail page and the cards on people and companies, the task
//! lists, the sales dashboard and the targets, and the public lead form with its admin page.
//! The board's script and styles are served here too.

use axum::response::{IntoResponse, Response};
use axum::routing::get;

mod activities;
mod board;
mod convert;
mod dashboard;
mod leads;
mod opportunities;
mod orders;
mod pipelines;
mod products;
mod targets;
mod tasks;
mod timeline;
mod web_form;

pub(super) use activities::{ActivityCard, activity_card};
pub(super) use orders::{OrderCard, order_card};
pub(super) use timeline::{TimelineCard, timeline_card};

use crate::AppState;

/// Pages for signed-in users (behind the CSRF check).
pub(super) fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .merge(leads::router())
        .merge(convert::router())
        .merge(timeline::router())
        .merge(activities::router())
        .merge(tasks::router())
        .merge(web_form::admin_router())
        .merge(board::router())
        .merge(opportunities::router())
        .merge(pipelines::router())
        .merge(products::router())
        .merge(orders::router())
        .merge(dashboard::router())
        .merge(targets::router())
        .route("/static/sales.js", get(|| async { asset("text/javascript", include_str!("../../../static/sales.js")) }))
        .route("/static/sales.css", get(|| async { asset("text/css", include_str!("../../../static/sales.css")) }))
}

/// Pages anyone may open: the public lead form.
pub(super) fn public_router() -> axum::Router<AppState> {
    web_form::public_router()
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(axum::http::header::CONTENT_TYPE, content_type), (axum::http::header::CACHE_CONTROL, "public, max-age=3600")], body).into_response()
}

/// `1,234.50 EUR`, or nothing for an amount without a currency.
pub(super) fn money(minor: i64, currency: &str) -> String {
    rapport_domain::sales::money::format_minor(minor, currency)
}

/// A span of seconds as people read it: `3 d 4 h`, `2 h 5 min`, `40 s`.
pub(super) fn duration(seconds: i64) -> String {
    let s = seconds.max(0);
    let (d, h, m) = (s / 86_400, s % 86_400 / 3_600, s % 3_600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

/// A stored time as `2026-03-10 14:05` (UTC).
pub(super) fn short_time(t: &str) -> String {
    t.get(..16).unwrap_or(t).replace('T', " ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(super::duration(40), "40 s");
        assert_eq!(super::duration(125), "2 min");
        assert_eq!(super::duration(7_500), "2 h 5 min");
        assert_eq!(super::duration(3 * 86_400 + 4 * 3_600 + 59), "3 d 4 h");
        assert_eq!(super::duration(-5), "0 s");
    }
}
