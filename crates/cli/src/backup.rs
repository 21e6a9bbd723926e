//! `rapport backup FILE` and `rapport restore FILE [--force]`: the operator's side of
//! [`Store::backup`] and [`Store::restore`] (format and guarantees are documented in
//! `rapport_store`'s `backup` module).

use std::path::Path;

use anyhow::Context;
use rapport_store::Store;

/// Writes a consistent snapshot of the database to `file` and prints what it holds.
pub async fn backup(store: &Store, file: &Path) -> anyhow::Result<()> {
    let s = store.backup(file).await.context("backup failed")?;
    let tables = s.tables.iter().filter(|(_, n)| *n > 0).count();
    println!(
        "Backed up {} rows of {} tables ({} with rows) from the {:?} database to {} ({} bytes).",
        s.total_rows(),
        s.tables.len(),
        tables,
        s.backend,
        s.path.display(),
        s.bytes
    );
    Ok(())
}

/// Rebuilds the database from the backup `file`; refuses a database holding data unless `force`.
pub async fn restore(store: &Store, file: &Path, force: bool) -> anyhow::Result<()> {
    let s = store.restore(file, force).await.context("restore failed")?;
    store.analyze().await.context("restore done, but refreshing the planner's statistics failed")?;
    println!(
        "Restored {} rows into {} tables from {} (a {} backup taken at {}){}.",
        s.total_rows(),
        s.tables.len(),
        s.path.display(),
        s.source_backend,
        s.created_at,
        if s.wiped { "; the data held before was erased" } else { "" }
    );
    for (table, rows) in s.tables.iter().filter(|(_, n)| *n > 0) {
        println!("  {table}: {rows}");
    }
    Ok(())
}
