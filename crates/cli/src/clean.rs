//! `rapport clean`: the cleansing the API previews and applies, over every person, as the
//! system. Without `--apply` it prints every change it would make and every value it cannot
//! fix, and writes nothing.

use anyhow::Context;
use clap::Args;
use rapport_domain::permissions::Actor;
use rapport_domain::values::Region;
use rapport_store::Store;

/// What `rapport clean` takes.
#[derive(Args)]
pub struct CleanArgs {
    /// Write the changes (each person at the version just read, one transaction per page).
    #[arg(long)]
    apply: bool,
    /// The region phone numbers without a country code are read in, for people whose country
    /// has none: an ISO 3166 code such as US, GB or DE.
    #[arg(long, env = "RAPPORT_DEFAULT_REGION", default_value = "US")]
    default_region: String,
}

/// Prints (and with `--apply` writes) the changes, page by page.
pub async fn run(store: &Store, args: &CleanArgs) -> anyhow::Result<()> {
    let region = Region::parse(&args.default_region).map_err(anyhow::Error::msg).context("--default-region")?;
    let actor = Actor::system();
    let (mut changed, mut problems, mut scanned) = (0, 0, 0);
    let mut cursor = None;
    loop {
        let page = store.clean_preview(&actor, region, cursor.take(), 1000).await?;
        scanned += page.scanned;
        for r in &page.records {
            for c in &r.findings.changes {
                println!("{}\t{}\t{}\t{:?} -> {:?}", r.id, r.name, c.field, c.before, c.after);
            }
            for p in &r.findings.problems {
                println!("{}\t{}\t{}\t{:?}: {}", r.id, r.name, p.field, p.value, p.message);
                problems += 1;
            }
        }
        let targets: Vec<(i64, i64)> = page.records.iter().filter(|r| !r.findings.changes.is_empty()).map(|r| (r.id, r.version)).collect();
        changed += targets.len();
        if args.apply && !targets.is_empty() {
            store.clean_apply(&actor, region, &targets).await?;
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let verb = if args.apply { "changed" } else { "would change (run with --apply to write)" };
    eprintln!("Read {scanned} people: {verb} {changed}; {problems} values cannot be fixed by cleansing and are listed above.");
    Ok(())
}
