//! `rapport sla run`: the SLA breach job once, now or at a given time, without waiting for the
//! server's tick. It needs no lease: what it flags is flagged once whoever else runs the job.

use anyhow::Context;
use clap::Subcommand;
use rapport_store::Store;

#[derive(Subcommand)]
pub enum SlaCommand {
    /// Evaluate every open ticket and flag near breaches and breaches not flagged yet.
    Run {
        /// Evaluate as of this RFC 3339 time instead of now.
        #[arg(long)]
        at: Option<String>,
    },
}

pub async fn run(store: &Store, cmd: &SlaCommand) -> anyhow::Result<()> {
    let SlaCommand::Run { at } = cmd;
    let now = match at {
        Some(a) => chrono::DateTime::parse_from_rfc3339(a).with_context(|| format!("--at '{a}' is not an RFC 3339 time"))?.to_utc(),
        None => chrono::Utc::now(),
    };
    let started = std::time::Instant::now();
    let run = store.flag_sla(now).await?;
    println!(
        "Evaluated {} open tickets ({} under a policy) in {} ms: flagged {} breaches and {} near breaches, sent {} notifications.",
        run.tickets,
        run.with_policy,
        started.elapsed().as_millis(),
        run.breaches,
        run.near_breaches,
        run.notifications
    );
    Ok(())
}
