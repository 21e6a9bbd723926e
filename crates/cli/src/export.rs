//! `rapport export KIND` (issue 13 §3): every record of a type as CSV or JSON lines, streamed
//! to a file or stdout, through the exporter the API uses (audited).

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use rapport_domain::permissions::Actor;
use rapport_server::data::export::{Format, pages, start};
use rapport_store::Store;

#[derive(Args)]
pub struct ExportArgs {
    /// customers, companies, products, opportunities, orders, activities, tickets, campaigns,
    /// segments, pipelines, targets, feedback or macros.
    kind: String,
    /// `csv` or `jsonl`.
    #[arg(long, default_value = "csv")]
    format: String,
    /// Write here instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
}

pub async fn run(store: Store, args: &ExportArgs) -> anyhow::Result<()> {
    let Some(spec) = rapport_store::data::export::exportable(&args.kind) else {
        anyhow::bail!("'{}' cannot be exported: export one of {}", args.kind, kinds());
    };
    let format = match args.format.as_str() {
        "csv" => Format::Csv,
        "jsonl" => Format::Jsonl,
        other => anyhow::bail!("--format {other}: use csv or jsonl"),
    };
    let actor = Actor::system();
    let writer = start(&store, &actor, spec, format, "cli").await?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    let job = tokio::spawn(async move { pages(&store, &actor, spec, &writer, tx).await });
    let mut out: Box<dyn Write + Send> = match &args.out {
        Some(p) => Box::new(std::io::BufWriter::new(std::fs::File::create(p)?)),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    while let Some(chunk) = rx.recv().await {
        out.write_all(&chunk)?;
    }
    out.flush()?;
    let n = job.await??;
    eprintln!("exported {n} {}", spec.label_plural);
    Ok(())
}

fn kinds() -> String {
    rapport_store::data::export::EXPORTABLE.iter().map(|s| s.plural).collect::<Vec<_>>().join(", ")
}
