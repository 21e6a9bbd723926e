//! The sales reports by name, as JSON or CSV: what `/api/v1/reports/…` answers and what
//! `rapport report` prints, from the same store calls.

use rapport_domain::permissions::Actor;
use rapport_domain::sales::report::{CycleRow, FunnelRow, LeaderRow, MonthlySalesRow, PipelineRow, Report, ReportFilter, WinRateRow};
use rapport_store::Store;
use serde::Serialize;

/// A report by its name in the API path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// `pipeline`: pipeline by stage.
    Pipeline,
    /// `win_rate`.
    WinRate,
    /// `cycle_length`.
    CycleLength,
    /// `funnel`: stage-to-stage conversion.
    Funnel,
    /// `leaderboard`: reps against target.
    Leaderboard,
    /// `monthly_sales`: paid orders per month.
    MonthlySales,
}

impl ReportKind {
    /// Every report.
    pub const ALL: [ReportKind; 6] =
        [Self::Pipeline, Self::WinRate, Self::CycleLength, Self::Funnel, Self::Leaderboard, Self::MonthlySales];

    /// Its name in the path.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pipeline => "pipeline",
            Self::WinRate => "win_rate",
            Self::CycleLength => "cycle_length",
            Self::Funnel => "funnel",
            Self::Leaderboard => "leaderboard",
            Self::MonthlySales => "monthly_sales",
        }
    }

    /// The report named `name`.
    pub fn parse(name: &str) -> Option<ReportKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// A report's rows, rendered.
#[derive(Debug, Clone, PartialEq)]
pub enum Rendered {
    /// `{"from", "to", "rows"}`.
    Json(serde_json::Value),
    /// A header row, then one line per row.
    Csv(Vec<u8>),
}

/// Why a report did not render.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Reading failed or was refused.
    #[error(transparent)]
    Store(#[from] rapport_store::Error),
    /// Writing the CSV failed (a bug).
    #[error("writing CSV: {0}")]
    Csv(String),
}

fn render<T: Serialize>(f: &ReportFilter, columns: &[&str], rows: Vec<T>, csv: bool) -> Result<Rendered, ReportError> {
    if !csv {
        return serde_json::to_value(Report::new(f, rows)).map(Rendered::Json).map_err(|e| ReportError::Csv(e.to_string()));
    }
    let fail = |e: csv::Error| ReportError::Csv(e.to_string());
    let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(vec![]);
    w.write_record(columns).map_err(fail)?;
    for r in &rows {
        w.serialize(r).map_err(fail)?;
    }
    w.into_inner().map(Rendered::Csv).map_err(|e| ReportError::Csv(e.to_string()))
}

/// Report `kind` over `f` as `actor` may see it, as JSON or (`csv`) CSV under its header row.
pub async fn report(store: &Store, actor: &Actor, kind: ReportKind, f: &ReportFilter, csv: bool) -> Result<Rendered, ReportError> {
    match kind {
        ReportKind::Pipeline => render(f, PipelineRow::COLUMNS, store.pipeline_report(actor, f).await?, csv),
        ReportKind::WinRate => render(f, WinRateRow::COLUMNS, store.win_rate_report(actor, f).await?, csv),
        ReportKind::CycleLength => render(f, CycleRow::COLUMNS, store.cycle_report(actor, f).await?, csv),
        ReportKind::Funnel => render(f, FunnelRow::COLUMNS, store.funnel_report(actor, f).await?, csv),
        ReportKind::Leaderboard => render(f, LeaderRow::COLUMNS, store.leaderboard_report(actor, f).await?, csv),
        ReportKind::MonthlySales => render(f, MonthlySalesRow::COLUMNS, store.monthly_sales_report(actor, f).await?, csv),
    }
}
