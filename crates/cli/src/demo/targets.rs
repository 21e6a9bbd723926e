//! The demo's targets: a quarterly quota in USD for every seller, for the last quarter and this
//! one, at a tenth above what they won in the quarter before the last, so the leaderboard and
//! the dashboard show reps ahead of and behind their targets.

use anyhow::Context;
use chrono::Utc;
use rapport_domain::permissions::Actor;
use rapport_domain::sales::report::ReportFilter;
use rapport_domain::sales::target::{Period, TargetInput, TargetMeasure};
use rapport_store::Store;

/// Adds the targets; returns how many.
pub(super) async fn build(store: &Store) -> anyhow::Result<usize> {
    let system = Actor::system();
    let now = Period::quarter_of(Utc::now().date_naive());
    let back = |p: Period, n: usize| (0..n).fold(p, |p, _| Period::parse(&prev(p)).unwrap_or(p));
    let (base, last) = (back(now, 2), back(now, 1));
    let span = ReportFilter { from: Some(base.start()), to: Some(base.end()), ..ReportFilter::default() };
    let won = store.leaderboard_report(&system, &span).await.context("reading what the sellers won")?;
    let mut n = 0;
    for row in won.iter().filter(|r| r.currency == "USD" && r.won_minor > 0) {
        for period in [last, now] {
            let input = TargetInput {
                user_id: Some(Some(row.user_id)),
                period: Some(period.to_string()),
                amount_minor: Some((row.won_minor / 1_000 * 1_100 / 100 * 100).max(100)),
                currency: Some("USD".into()),
                measure: Some(TargetMeasure::WonOpportunities),
                ..TargetInput::default()
            };
            store.create_target(&system, input).await.context("adding a demo target")?;
            n += 1;
        }
    }
    Ok(n)
}

/// The quarter before `p`, as text.
fn prev(p: Period) -> String {
    match p {
        Period::Quarter { year, quarter: 1 } => format!("{}-Q4", year - 1),
        Period::Quarter { year, quarter } => format!("{year}-Q{}", quarter - 1),
        Period::Month { year, month: 1 } => format!("{}-12", year - 1),
        Period::Month { year, month } => format!("{year}-{:02}", month - 1),
    }
}
