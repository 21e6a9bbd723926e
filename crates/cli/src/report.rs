//! `rapport report NAME`: a sales report printed as CSV (or JSON), as the system sees it (every
//! record), for scripts and spreadsheets without a running server.

use std::io::Write;

use anyhow::Context;
use clap::Args;
use rapport_domain::permissions::Actor;
use rapport_domain::sales::report::ReportFilter;
use rapport_server::sales::reports::{Rendered, ReportKind, report};
use rapport_store::Store;

/// What `rapport report` takes.
#[derive(Args)]
pub struct ReportArgs {
    /// pipeline, win_rate, cycle_length, funnel, leaderboard or monthly_sales.
    name: String,
    /// A month (2026-07) or quarter (2026-Q3).
    #[arg(long)]
    period: Option<String>,
    /// First day counted (YYYY-MM-DD).
    #[arg(long)]
    from: Option<String>,
    /// Last day counted, included.
    #[arg(long)]
    to: Option<String>,
    /// Only records owned by this user id.
    #[arg(long)]
    owner_id: Option<i64>,
    /// Only records owned by members of this team id.
    #[arg(long)]
    team_id: Option<i64>,
    /// Only this pipeline id.
    #[arg(long)]
    pipeline_id: Option<i64>,
    /// Print JSON instead of CSV.
    #[arg(long)]
    json: bool,
}

/// Prints the report.
pub async fn run(store: &Store, args: &ReportArgs) -> anyhow::Result<()> {
    let names: Vec<&str> = ReportKind::ALL.iter().map(|k| k.as_str()).collect();
    let kind = ReportKind::parse(&args.name).with_context(|| format!("no report '{}': use one of {}", args.name, names.join(", ")))?;
    let mut pairs: Vec<(String, String)> = vec![];
    for (k, v) in [("period", args.period.clone()), ("from", args.from.clone()), ("to", args.to.clone())] {
        pairs.extend(v.map(|v| (k.to_string(), v)));
    }
    for (k, v) in [("owner_id", args.owner_id), ("team_id", args.team_id), ("pipeline_id", args.pipeline_id)] {
        pairs.extend(v.map(|v| (k.to_string(), v.to_string())));
    }
    let filter = ReportFilter::parse(&pairs).map_err(|e| anyhow::anyhow!("{e}"))?;
    let out = report(store, &Actor::system(), kind, &filter, !args.json).await?;
    let mut stdout = std::io::stdout().lock();
    match out {
        Rendered::Csv(bytes) => stdout.write_all(&bytes)?,
        Rendered::Json(v) => writeln!(stdout, "{}", serde_json::to_string_pretty(&v)?)?,
    }
    Ok(())
}
