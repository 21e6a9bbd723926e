//! `rapport import KIND FILE` (issue 13 §2): CSV or JSON lines into the database through the
//! importer the API uses, with a progress bar (rows per second, ETA), every problem printed with
//! its line and column, and the rejected rows written to `--rejects` with their reasons.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rapport_domain::permissions::Actor;
use rapport_server::data::import::{ImportMode, Options, Problem, Progress, Sink, import};
use rapport_server::{AppState, Config};
use rapport_store::Store;

#[derive(Args)]
pub struct ImportArgs {
    /// What the rows are: customers (or people), companies, products, activities, opportunities,
    /// orders (a row per line, or JSON lines with `lines`), tickets.
    kind: String,
    /// A CSV file (`,` `;` or tab, UTF-8 with or without BOM) or JSON lines.
    file: PathBuf,
    /// `all-or-nothing` (check every row first, write only if none fails) or `best-effort`
    /// (write the good rows, report the others).
    #[arg(long, value_enum, default_value = "all-or-nothing")]
    mode: Mode,
    /// Check every row (database constraints included) and write nothing.
    #[arg(long)]
    dry_run: bool,
    /// A JSON file mapping column headers to fields: {"E-mail": "email", "Town": "address.city"}.
    #[arg(long)]
    mapping: Option<PathBuf>,
    /// The unique field rows are upserted by (external_id, email, domain, sku); by default the
    /// first such field a column maps to.
    #[arg(long)]
    upsert_key: Option<String>,
    /// Write the rejected rows here as CSV, with their line and reasons.
    #[arg(long)]
    rejects: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Import the values as they are. By default each row is cleansed as `rapport clean` does
    /// (whitespace, email domains, phones to E.164, countries to ISO codes, names in capitals),
    /// and a dry run lists every change.
    #[arg(long)]
    no_clean: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Mode {
    AllOrNothing,
    BestEffort,
}

struct CliSink {
    bar: ProgressBar,
    started: std::time::Instant,
    rejects: Option<csv::Writer<std::fs::File>>,
    problems: u64,
}

impl Sink for CliSink {
    async fn progress(&mut self, p: &Progress) {
        self.bar.set_length(p.total_bytes.max(1));
        self.bar.set_position(p.bytes);
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        self.bar.set_message(format!("{} rows, {:.0} rows/s, {} rejected", p.rows, p.rows as f64 / secs, p.rejected));
    }
    async fn problem(&mut self, p: &Problem) {
        self.problems += 1;
        let at = match (&p.column, &p.field) {
            (Some(c), _) => format!("line {}, column {c}", p.line),
            (None, Some(f)) => format!("line {}, field {f}", p.line),
            _ => format!("line {}", p.line),
        };
        self.bar.suspend(|| eprintln!("{at}: {}", p.message));
    }
    async fn rejected(&mut self, line: u64, cells: &[String], reasons: &str) {
        if let Some(w) = &mut self.rejects {
            let mut row: Vec<String> = cells.to_vec();
            row.push(line.to_string());
            row.push(reasons.to_string());
            let _ = w.write_record(&row);
        }
    }
    async fn header(&mut self, headers: &[String]) {
        if let Some(w) = &mut self.rejects {
            let mut row: Vec<String> = headers.to_vec();
            row.extend(["line".to_string(), "problems".to_string()]);
            let _ = w.write_record(&row);
        }
    }
}

pub async fn run(store: Store, args: &ImportArgs) -> anyhow::Result<()> {
    let mapping: BTreeMap<String, String> = match &args.mapping {
        Some(p) => serde_json::from_slice(&std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?)
            .with_context(|| format!("{} is not a JSON object of header → field", p.display()))?,
        None => BTreeMap::new(),
    };
    let opts = Options {
        mode: match args.mode {
            Mode::AllOrNothing => ImportMode::AllOrNothing,
            Mode::BestEffort => ImportMode::BestEffort,
        },
        dry_run: args.dry_run,
        mapping,
        upsert_key: args.upsert_key.clone(),
        no_clean: args.no_clean,
        checkpoint: None,
    };
    let bar = if args.quiet { ProgressBar::hidden() } else { ProgressBar::new(1) };
    bar.set_style(ProgressStyle::with_template("{bar:30} {percent:>3}% {msg} ETA {eta}").unwrap_or_else(|_| ProgressStyle::default_bar()));
    let rejects = match &args.rejects {
        Some(p) => Some(csv::Writer::from_path(p).with_context(|| format!("cannot write {}", p.display()))?),
        None => None,
    };
    let mut sink = CliSink { bar, started: std::time::Instant::now(), rejects, problems: 0 };
    let state = AppState::new(store, Config::default());
    let summary = import(&state, &Actor::system(), &args.kind, &args.file, &opts, &mut sink).await;
    sink.bar.finish_and_clear();
    if let Some(w) = &mut sink.rejects {
        w.flush()?;
    }
    let summary = summary.map_err(|e| anyhow::anyhow!("{e}"))?;
    if args.dry_run {
        for c in &summary.changes {
            eprintln!("line {}: {} would be cleansed: '{}' → '{}'", c.line, c.field, c.before, c.after);
        }
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", serde_json::to_string_pretty(&summary)?)?;
    if sink.problems > 0 && !summary.written && !args.dry_run {
        bail!(
            "nothing was written: {} problem(s) in {} row(s) (listed above); fix them or use --mode best-effort",
            sink.problems,
            summary.progress.rejected
        );
    }
    Ok(())
}
