//! `rapport-sync`: mirror a Rapport server into a SQLite file, and compare the two.
//!
//! ```text
//! rapport-sync --url http://127.0.0.1:8080 --token $TOKEN --mirror mirror.db sync [--every 30]
//! rapport-sync --url http://127.0.0.1:8080 --token $TOKEN --mirror mirror.db compare
//! ```

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use rapport_sync_client::{Client, Mirror, compare, discover, sync_all};

#[derive(Parser, Debug)]
#[command(name = "rapport-sync", about = "Mirror every Rapport record type into a SQLite file through the sync listings")]
struct Args {
    /// The server, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "RAPPORT_URL")]
    url: String,
    /// An API token (an admin's, to mirror every record).
    #[arg(long, env = "RAPPORT_TOKEN", hide_env_values = true)]
    token: String,
    /// The mirror file (created if missing).
    #[arg(long, default_value = "mirror.db")]
    mirror: PathBuf,
    /// Only these record types (comma-separated list names); every type by default.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Fetch every change since the last run (or everything, the first time).
    Sync {
        /// Keep syncing, every this many seconds, until interrupted.
        #[arg(long)]
        every: Option<u64>,
    },
    /// Fetch the server's current records and report how the mirror differs (exit status 1
    /// when it does).
    Compare,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let client = Client::new(&args.url, &args.token)?;
    let mut mirror = Mirror::open(&args.mirror)?;
    let kinds = if args.only.is_empty() { discover(&client).await? } else { args.only.clone() };
    match args.command {
        Command::Sync { every } => loop {
            let done = sync_all(&client, &mut mirror, &kinds).await?;
            for (kind, s) in &done {
                if s.upserted + s.deleted > 0 {
                    println!("{kind}: {} written, {} deleted, {} merges followed", s.upserted, s.deleted, s.merges);
                }
            }
            let total: usize = done.values().map(|s| s.upserted + s.deleted).sum();
            println!("synced {} record types, {total} changes", done.len());
            match every {
                Some(secs) => tokio::time::sleep(Duration::from_secs(secs.max(1))).await,
                None => return Ok(()),
            }
        },
        Command::Compare => {
            let diffs = compare(&client, &mirror, &kinds).await?;
            for d in &diffs {
                println!("{d}");
            }
            if diffs.is_empty() {
                println!("the mirror matches the server ({} record types)", kinds.len());
                Ok(())
            } else {
                println!("{} differences", diffs.len());
                std::process::exit(1)
            }
        }
    }
}
