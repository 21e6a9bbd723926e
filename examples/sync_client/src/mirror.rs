//! The mirror: a SQLite file holding every record the server listed, one JSON row per record,
//! the lines of orders in a table of their own, the merges seen, and where each record type's
//! sync stopped. A page of changes and the token after it are written in one transaction, so
//! a client killed at any moment resumes from a token that matches what the file holds.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use rusqlite::{OptionalExtension, params};
use serde_json::Value;

/// What one page changes in the mirror.
#[derive(Debug, Default, Clone)]
pub struct PageChanges {
    /// Records to write as they are now (their derived fields already left out).
    pub upserts: Vec<(i64, Value)>,
    /// Records gone (deleted, or merged into another).
    pub deletes: Vec<i64>,
    /// Merges seen: (loser, survivor).
    pub merges: Vec<(i64, i64)>,
}

/// An open mirror file.
pub struct Mirror {
    conn: rusqlite::Connection,
}

impl Mirror {
    /// Opens (creating if needed) the mirror at `path`.
    pub fn open(path: &Path) -> anyhow::Result<Mirror> {
        let conn = rusqlite::Connection::open(path).with_context(|| format!("cannot open the mirror {}", path.display()))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             CREATE TABLE IF NOT EXISTS sync_state (kind TEXT PRIMARY KEY, token TEXT NOT NULL, synced_at TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS records (
                 kind TEXT NOT NULL, id INTEGER NOT NULL, version INTEGER, updated_at TEXT, body TEXT NOT NULL,
                 PRIMARY KEY (kind, id));
             CREATE TABLE IF NOT EXISTS order_lines (
                 order_id INTEGER NOT NULL, line_no INTEGER NOT NULL, body TEXT NOT NULL,
                 PRIMARY KEY (order_id, line_no));
             CREATE TABLE IF NOT EXISTS merges (
                 kind TEXT NOT NULL, loser INTEGER NOT NULL, survivor INTEGER NOT NULL, seen_at TEXT NOT NULL,
                 PRIMARY KEY (kind, loser));",
        )?;
        Ok(Mirror { conn })
    }

    /// Where the sync of `kind` stopped, if it ever ran.
    pub fn token(&self, kind: &str) -> anyhow::Result<Option<String>> {
        Ok(self.conn.query_row("SELECT token FROM sync_state WHERE kind = ?1", [kind], |r| r.get(0)).optional()?)
    }

    /// Applies one page of `kind` and stores `token` with it, atomically.
    pub fn apply(&mut self, kind: &str, changes: &PageChanges, token: &str) -> anyhow::Result<()> {
        let now = now();
        let tx = self.conn.transaction()?;
        for id in &changes.deletes {
            tx.execute("DELETE FROM records WHERE kind = ?1 AND id = ?2", params![kind, id])?;
            if kind == "orders" {
                tx.execute("DELETE FROM order_lines WHERE order_id = ?1", [id])?;
            }
        }
        for (loser, survivor) in &changes.merges {
            tx.execute(
                "INSERT INTO merges (kind, loser, survivor, seen_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (kind, loser) DO UPDATE SET survivor = excluded.survivor, seen_at = excluded.seen_at",
                params![kind, loser, survivor, now],
            )?;
        }
        for (id, body) in &changes.upserts {
            tx.execute(
                "INSERT INTO records (kind, id, version, updated_at, body) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (kind, id) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at, body = excluded.body",
                params![kind, id, body["version"].as_i64(), body["updated_at"].as_str(), body.to_string()],
            )?;
            if kind == "orders" {
                tx.execute("DELETE FROM order_lines WHERE order_id = ?1", [id])?;
                for (n, line) in body["lines"].as_array().into_iter().flatten().enumerate() {
                    tx.execute(
                        "INSERT INTO order_lines (order_id, line_no, body) VALUES (?1, ?2, ?3)",
                        params![id, n as i64 + 1, line.to_string()],
                    )?;
                }
            }
        }
        tx.execute(
            "INSERT INTO sync_state (kind, token, synced_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (kind) DO UPDATE SET token = excluded.token, synced_at = excluded.synced_at",
            params![kind, token, now],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Every mirrored record of `kind`, by id.
    pub fn records(&self, kind: &str) -> anyhow::Result<BTreeMap<i64, Value>> {
        let mut stmt = self.conn.prepare("SELECT id, body FROM records WHERE kind = ?1")?;
        let rows = stmt.query_map([kind], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = BTreeMap::new();
        for row in rows {
            let (id, body) = row?;
            out.insert(id, serde_json::from_str(&body).with_context(|| format!("{kind} {id} in the mirror is not JSON"))?);
        }
        Ok(out)
    }

    /// The lines of a mirrored order, in order.
    pub fn order_lines(&self, order_id: i64) -> anyhow::Result<Vec<Value>> {
        let mut stmt = self.conn.prepare("SELECT body FROM order_lines WHERE order_id = ?1 ORDER BY line_no")?;
        let rows = stmt.query_map([order_id], |r| r.get::<_, String>(0))?;
        rows.map(|r| Ok(serde_json::from_str(&r?)?)).collect()
    }

    /// The survivor a record of `kind` was merged into, if the sync saw that merge.
    pub fn merged_into(&self, kind: &str, loser: i64) -> anyhow::Result<Option<i64>> {
        Ok(self
            .conn
            .query_row("SELECT survivor FROM merges WHERE kind = ?1 AND loser = ?2", params![kind, loser], |r| r.get(0))
            .optional()?)
    }

    /// Forgets where the sync of `kind` stopped, so the next run starts over (used by tests
    /// and after a restore of the server).
    pub fn reset(&mut self, kind: &str) -> anyhow::Result<()> {
        self.conn.execute("DELETE FROM sync_state WHERE kind = ?1", [kind])?;
        Ok(())
    }
}

fn now() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    format!("{secs}")
}
