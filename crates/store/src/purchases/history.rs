//! The purchase history as analytics read it: every paid order line the reader may see, in one
//! scan, decoded straight into columns (ids and amounts as integers, payment times as seconds,
//! product names stored once each), so that a history of millions of lines takes tens of bytes
//! per line instead of a row of `String`s.
//!
//! The scan is the one place where the engines are read differently, since going row by row
//! through sqlx was most of an analytics run's time (issue 10): on a SQLite file it runs on a
//! rusqlite connection on a blocking thread ([`crate::local`]), on PostgreSQL it is one
//! `COPY … TO STDOUT (FORMAT binary)` on a connection of its own. The SQL text is the same for
//! both, and each line goes through the same [`Columns::push`].

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use rapport_domain::ValidationErrors;
use rapport_domain::permissions::{Action, Actor, Object, require};

use super::PAID_LINES;
use crate::records::visible;
use crate::sql::{Arg, Sql};
use crate::{Error, Result, Store};

/// Every paid order line the reader may see, column by column, in line order (oldest first).
/// Line `i` is `customer_id[i]`, `order_id[i]`, `products[product[i]]`, `paid_at[i]`,
/// `amount_minor[i]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PurchaseHistory {
    /// The person who bought.
    pub customer_id: Vec<i64>,
    /// The order (one basket).
    pub order_id: Vec<i64>,
    /// The product name, as an index into [`PurchaseHistory::products`].
    pub product: Vec<u32>,
    /// The distinct product names (as on the lines), in order of first appearance.
    pub products: Vec<String>,
    /// When the order was paid: seconds since 1970-01-01 UTC, fractions dropped.
    pub paid_at: Vec<i64>,
    /// The line's net amount in minor units.
    pub amount_minor: Vec<i64>,
}

impl PurchaseHistory {
    /// How many lines.
    pub fn len(&self) -> usize {
        self.customer_id.len()
    }

    /// Whether there is no line at all.
    pub fn is_empty(&self) -> bool {
        self.customer_id.is_empty()
    }

    /// The product name of line `i`.
    pub fn product_name(&self, i: usize) -> &str {
        &self.products[self.product[i] as usize]
    }
}

/// Builds the columns one line at a time, whichever engine read it.
#[derive(Default)]
struct Columns {
    history: PurchaseHistory,
    names: HashMap<String, u32>,
    /// The last order seen and its payment time: an order's lines come one after another.
    last: Option<(i64, i64)>,
}

impl Columns {
    fn push(&mut self, customer_id: i64, order_id: i64, product: &str, paid_at: Option<&str>, amount_minor: i64) -> Result<()> {
        let at = match self.last {
            Some((order, at)) if order == order_id => at,
            _ => {
                let at = paid_at.and_then(seconds).ok_or_else(|| {
                    Error::Invalid(ValidationErrors::single(
                        "paid_at",
                        format!("order {order_id} is paid but its payment time {paid_at:?} is not a date and time"),
                    ))
                })?;
                self.last = Some((order_id, at));
                at
            }
        };
        let h = &mut self.history;
        let index = match self.names.get(product) {
            Some(i) => *i,
            None => {
                let i = h.products.len() as u32;
                h.products.push(product.to_string());
                self.names.insert(product.to_string(), i);
                i
            }
        };
        h.customer_id.push(customer_id);
        h.order_id.push(order_id);
        h.product.push(index);
        h.paid_at.push(at);
        h.amount_minor.push(amount_minor);
        Ok(())
    }
}

/// Seconds since the epoch of a stored time: RFC 3339 as the store writes it, or a bare date or
/// a date and time without offset (taken as UTC), as older imports wrote them.
fn seconds(s: &str) -> Option<i64> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime};
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp());
    }
    let naive = s.trim_end_matches('Z');
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(naive, format) {
            return Some(t.and_utc().timestamp());
        }
    }
    Some(NaiveDate::parse_from_str(naive, "%Y-%m-%d").ok()?.and_hms_opt(0, 0, 0)?.and_utc().timestamp())
}

impl Store {
    /// Every paid order line of the live people (and orders) the actor may see: what analytics
    /// run on. A line is one purchase of its product, its order one basket. Read in one scan
    /// (see the module's documentation); a batch of runs reads it once and shares it.
    pub async fn purchase_history(&self, actor: &Actor) -> Result<PurchaseHistory> {
        require(actor, Object::Customer, Action::Read)?;
        let mut q = Sql::new(&format!("SELECT o.customer_id, o.id AS order_id, l.name, o.paid_at, l.net_minor {PAID_LINES}"));
        visible(&mut q, actor, "c");
        visible(&mut q, actor, "o");
        q.push(" ORDER BY l.id");
        self.history_reads.fetch_add(1, Ordering::Relaxed);
        let started = std::time::Instant::now();
        let columns = if let Some(local) = &self.local {
            let local = local.clone();
            tokio::task::spawn_blocking(move || {
                let mut columns = Columns::default();
                local.scan(&q, |row| {
                    let text = |i: usize| {
                        row.get_ref(i)?
                            .as_str_or_null()
                            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e)))
                    };
                    let name = text(2)?.unwrap_or_default();
                    columns.push(row.get(0)?, row.get(1)?, name, text(3)?, row.get(4)?)
                })?;
                Ok::<_, Error>(columns)
            })
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "the purchase history scan stopped");
                Error::Db(sqlx::Error::WorkerCrashed)
            })??
        } else if let Some(pg) = &self.pg {
            copy_binary(pg, &q).await?
        } else {
            // An in-memory SQLite database: it lives in the pool's connection, and in memory
            // already, so reading it whole through sqlx costs nothing a scan would save.
            let mut columns = Columns::default();
            for r in q.fetch_all(&self.pool).await? {
                use sqlx::Row as _;
                let (name, paid_at): (String, Option<String>) = (r.try_get("name")?, r.try_get("paid_at")?);
                columns.push(r.try_get("customer_id")?, r.try_get("order_id")?, &name, paid_at.as_deref(), r.try_get("net_minor")?)?;
            }
            columns
        };
        let history = columns.history;
        tracing::info!(lines = history.len(), secs = started.elapsed().as_secs_f64(), "purchase history read");
        Ok(history)
    }

    /// How many times this store has read the purchase history (each batch of runs reads it
    /// once; see `rapport_server::analytics::run_batch`).
    pub fn history_reads(&self) -> u64 {
        self.history_reads.load(Ordering::Relaxed)
    }
}

/// `COPY (query) TO STDOUT` takes no parameters: the query's arguments are written into its
/// text. Only integers (and NULL) are accepted, which cannot carry SQL.
fn inline_args(q: &Sql) -> Result<String> {
    let mut text = q.text.clone();
    // The highest first, so that `$1` is not replaced inside `$10`.
    for (i, arg) in q.args().iter().enumerate().rev() {
        let literal = match arg {
            Arg::Int(Some(n)) => n.to_string(),
            Arg::Int(None) => "NULL".to_string(),
            _ => return Err(bad_copy("an argument that is not an integer")),
        };
        text = text.replace(&format!("${}", i + 1), &literal);
    }
    Ok(text)
}

/// Reads `q` through `COPY … (FORMAT binary)` on a connection of its own (the pool's
/// connections are `Any` ones, which cannot copy), decoding each tuple as it arrives.
async fn copy_binary(pg: &sqlx::postgres::PgConnectOptions, q: &Sql) -> Result<Columns> {
    use sqlx::Connection as _;
    let mut conn = sqlx::postgres::PgConnection::connect_with(pg).await?;
    let statement = format!("COPY ({}) TO STDOUT (FORMAT binary)", inline_args(q)?);
    let mut columns = Columns::default();
    let mut tuples = Tuples::default();
    {
        let mut stream = conn.copy_out_raw(&statement).await?;
        while let Some(chunk) = std::future::poll_fn(|cx| futures_core::Stream::poll_next(stream.as_mut(), cx)).await {
            tuples.feed(&chunk?, |f| {
                let int = |i: usize| f[i].map(be_int).transpose()?.ok_or_else(|| bad_copy("a NULL id or amount"));
                let text = |i: usize| f[i].map(|b| std::str::from_utf8(b).map_err(|_| bad_copy("text that is not UTF-8"))).transpose();
                columns.push(int(0)?, int(1)?, text(2)?.unwrap_or_default(), text(3)?, int(4)?)
            })?;
        }
    }
    if !tuples.ended {
        return Err(bad_copy("no end of data"));
    }
    conn.close().await?;
    Ok(columns)
}

fn bad_copy(what: &str) -> Error {
    Error::Db(sqlx::Error::Protocol(format!("COPY of the purchase history: {what}")))
}

/// A big-endian `int4` or `int8`.
fn be_int(b: &[u8]) -> Result<i64> {
    match b.len() {
        8 => Ok(i64::from_be_bytes(b.try_into().expect("8 bytes"))),
        4 => Ok(i32::from_be_bytes(b.try_into().expect("4 bytes")) as i64),
        _ => Err(bad_copy("an integer of unexpected width")),
    }
}

/// PostgreSQL's binary COPY stream cut into tuples of five fields: a header, then per tuple a
/// field count (`-1` ends the data) and per field a length (`-1` is NULL) and its bytes. A
/// tuple may be cut across chunks: the unfinished part waits in `pending`.
#[derive(Default)]
struct Tuples {
    pending: Vec<u8>,
    header: bool,
    ended: bool,
}

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

impl Tuples {
    fn feed(&mut self, chunk: &[u8], mut row: impl FnMut(&[Option<&[u8]>; 5]) -> Result<()>) -> Result<()> {
        let owned;
        let data: &[u8] = if self.pending.is_empty() {
            chunk
        } else {
            self.pending.extend_from_slice(chunk);
            owned = std::mem::take(&mut self.pending);
            &owned
        };
        let mut at = 0;
        if !self.header {
            // Signature, flags, then the length of a header extension to skip.
            let end = data
                .get(SIGNATURE.len() + 4..SIGNATURE.len() + 8)
                .map(|ext| SIGNATURE.len() + 8 + u32::from_be_bytes(ext.try_into().expect("4 bytes")) as usize);
            match end {
                Some(end) if end <= data.len() => at = end,
                _ => {
                    self.pending = data.to_vec();
                    return Ok(());
                }
            }
            if !data.starts_with(SIGNATURE) {
                return Err(bad_copy("no binary COPY signature"));
            }
            self.header = true;
        }
        loop {
            if self.ended {
                return Ok(());
            }
            let Some((consumed, fields)) = tuple(&data[at..])? else { break };
            at += consumed;
            match fields {
                Some(f) => row(&f)?,
                None => self.ended = true,
            }
        }
        self.pending = data[at..].to_vec();
        Ok(())
    }
}

/// The tuple at the start of `data`: how many bytes it takes and its fields (`None` for the
/// end-of-data marker), or `None` when it is not complete yet.
#[allow(clippy::type_complexity)]
fn tuple(data: &[u8]) -> Result<Option<(usize, Option<[Option<&[u8]>; 5]>)>> {
    let Some(count) = data.get(..2) else { return Ok(None) };
    let count = i16::from_be_bytes(count.try_into().expect("2 bytes"));
    if count == -1 {
        return Ok(Some((2, None)));
    }
    if count != 5 {
        return Err(bad_copy("a tuple without five fields"));
    }
    let mut fields = [None; 5];
    let mut at = 2;
    for field in &mut fields {
        let Some(len) = data.get(at..at + 4) else { return Ok(None) };
        let len = i32::from_be_bytes(len.try_into().expect("4 bytes"));
        at += 4;
        if len >= 0 {
            let Some(bytes) = data.get(at..at + len as usize) else { return Ok(None) };
            *field = Some(bytes);
            at += len as usize;
        }
    }
    Ok(Some((at, Some(fields))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(rows: &[[Option<Vec<u8>>; 5]]) -> Vec<u8> {
        let mut out = SIGNATURE.to_vec();
        out.extend(0u32.to_be_bytes());
        out.extend(3u32.to_be_bytes());
        out.extend(b"ext");
        for r in rows {
            out.extend(5i16.to_be_bytes());
            for f in r {
                match f {
                    Some(b) => {
                        out.extend((b.len() as i32).to_be_bytes());
                        out.extend(b);
                    }
                    None => out.extend((-1i32).to_be_bytes()),
                }
            }
        }
        out.extend((-1i16).to_be_bytes());
        out
    }

    #[test]
    fn binary_copy_is_decoded_whatever_the_chunks() {
        let row = |c: i64, o: i32, name: &str, at: Option<&str>, net: i64| {
            [
                Some(c.to_be_bytes().to_vec()),
                Some(o.to_be_bytes().to_vec()),
                Some(name.as_bytes().to_vec()),
                at.map(|a| a.as_bytes().to_vec()),
                Some(net.to_be_bytes().to_vec()),
            ]
        };
        let data = encode(&[
            row(7, 1, "Tea\tgreen", Some("2025-01-05T10:00:00.123456Z"), 1250),
            row(7, 1, "Cup", None, -300),
            row(9, 2, "Tea\tgreen", Some("2025-02-01"), 99),
        ]);
        for size in [1, 2, 3, 7, 64, data.len()] {
            let mut columns = Columns::default();
            let mut tuples = Tuples::default();
            for chunk in data.chunks(size) {
                tuples
                    .feed(chunk, |f| {
                        let text = |i: usize| f[i].map(|b| std::str::from_utf8(b).unwrap());
                        columns.push(be_int(f[0].unwrap())?, be_int(f[1].unwrap())?, text(2).unwrap(), text(3), be_int(f[4].unwrap())?)
                    })
                    .unwrap();
            }
            assert!(tuples.ended, "chunks of {size}");
            let h = columns.history;
            assert_eq!(h.customer_id, [7, 7, 9]);
            assert_eq!(h.order_id, [1, 1, 2]);
            assert_eq!((h.product_name(0), h.product_name(1), h.product_name(2)), ("Tea\tgreen", "Cup", "Tea\tgreen"));
            assert_eq!(h.products.len(), 2, "each name is kept once");
            // The second line is of the same order: its payment time is the order's.
            assert_eq!(h.paid_at, [1_736_071_200, 1_736_071_200, 1_738_368_000]);
            assert_eq!(h.amount_minor, [1250, -300, 99]);
        }
    }

    #[test]
    fn a_paid_line_without_a_readable_time_is_refused() {
        let mut columns = Columns::default();
        assert!(columns.push(1, 1, "Tea", None, 1).is_err());
        assert!(columns.push(1, 2, "Tea", Some("soon"), 1).is_err());
        assert_eq!(seconds("2025-01-05 10:00"), seconds("2025-01-05T10:00:00Z"));
        assert_eq!(seconds("2025-01-05T12:00:00+02:00"), seconds("2025-01-05T10:00:00Z"));
    }

    #[test]
    fn only_integers_are_written_into_a_copy() {
        let mut q = Sql::new("SELECT 1 WHERE a = ");
        q.arg(5_i64);
        for n in 2..=10 {
            q.push(" AND b = ").arg(n as i64);
        }
        q.push(" AND c = ").arg(Option::<i64>::None);
        let text = inline_args(&q).unwrap();
        assert!(text.starts_with("SELECT 1 WHERE a = 5 AND b = 2") && text.contains("b = 10 AND c = NULL"), "{text}");
    }
}
