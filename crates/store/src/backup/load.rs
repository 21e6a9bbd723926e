//! Rows of a backup into the target database: each value converted to its column's type
//! ([`convert`]), a table's rows gathered into multi-row `INSERT`s ([`Loader`]).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;
use sqlx::{Any, AssertSqlSafe, Transaction};

use super::{BackupError, Column, Kind, Lines, PARAMS_PER_INSERT, Table, ident};
use crate::Backend;

/// Rows of one table waiting for their multi-row `INSERT`.
pub(super) struct Loader {
    pub(super) table: Table,
    /// The file's columns, in the file's order, with the target's types.
    pub(super) columns: Vec<Column>,
    pub(super) pending: Vec<Vec<Bound>>,
    pub(super) rows: u64,
}

/// A value converted to its target column's type.
#[derive(Debug)]
pub(super) enum Bound {
    Int(Option<i64>),
    Real(Option<f64>),
    Text(Option<String>),
    Bool(Option<bool>),
    Blob(Option<Vec<u8>>),
}

pub(super) fn convert(kind: Kind, v: Value) -> Result<Bound, String> {
    let tagged_float = |v: &Value| -> Option<f64> {
        match v.get("float")?.as_str()? {
            "NaN" => Some(f64::NAN),
            "inf" => Some(f64::INFINITY),
            "-inf" => Some(f64::NEG_INFINITY),
            _ => None,
        }
    };
    let blob = |v: &Value| -> Option<Vec<u8>> { BASE64.decode(v.get("base64")?.as_str()?).ok() };
    Ok(match (kind, v) {
        (Kind::Int, Value::Null) => Bound::Int(None),
        (Kind::Real, Value::Null) => Bound::Real(None),
        (Kind::Text | Kind::Dynamic, Value::Null) => Bound::Text(None),
        (Kind::Bool, Value::Null) => Bound::Bool(None),
        (Kind::Blob, Value::Null) => Bound::Blob(None),
        (Kind::Int | Kind::Dynamic, Value::Number(n)) if n.is_i64() => Bound::Int(n.as_i64()),
        (Kind::Int, Value::Number(n)) if n.as_f64().is_some_and(|f| f.fract() == 0.0 && f.abs() < 9.0e15) => {
            Bound::Int(n.as_f64().map(|f| f as i64))
        }
        (Kind::Int, Value::Bool(b)) => Bound::Int(Some(b as i64)),
        (Kind::Real | Kind::Dynamic, Value::Number(n)) => Bound::Real(n.as_f64()),
        (Kind::Real | Kind::Dynamic, v @ Value::Object(_)) if tagged_float(&v).is_some() => Bound::Real(tagged_float(&v)),
        (Kind::Text | Kind::Dynamic, Value::String(s)) => Bound::Text(Some(s)),
        (Kind::Bool, Value::Bool(b)) => Bound::Bool(Some(b)),
        (Kind::Dynamic, Value::Bool(b)) => Bound::Int(Some(b as i64)),
        (Kind::Bool, Value::Number(n)) if n.as_i64().is_some_and(|i| i == 0 || i == 1) => Bound::Bool(n.as_i64().map(|i| i == 1)),
        (Kind::Blob | Kind::Dynamic, v @ Value::Object(_)) if blob(&v).is_some() => Bound::Blob(blob(&v)),
        (kind, v) => return Err(format!("{v} does not fit a column of type {kind:?}")),
    })
}

impl Loader {
    pub(super) fn push(&mut self, row: Vec<Value>, lines: &Lines) -> Result<(), BackupError> {
        let mut out = Vec::with_capacity(row.len());
        for (c, v) in self.columns.iter().zip(row) {
            out.push(convert(c.kind, v).map_err(|m| lines.error(format!("column {}.{}: {m}", self.table.name, c.name)))?);
        }
        self.pending.push(out);
        Ok(())
    }

    pub(super) fn full(&self) -> bool {
        (self.pending.len() + 1) * self.columns.len().max(1) > PARAMS_PER_INSERT
    }

    /// Inserts the pending rows; a refusal names the table and the line of the batch's last row.
    pub(super) async fn flush(&mut self, tx: &mut Transaction<'static, Any>, backend: Backend, lines: &Lines) -> Result<(), BackupError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let cols = self.columns.iter().map(|c| ident(&c.name)).collect::<Vec<_>>().join(", ");
        let overriding = backend == Backend::Postgres && self.table.columns.iter().any(|c| c.always_identity);
        let mut text =
            format!("INSERT INTO {} ({cols}){} VALUES ", ident(&self.table.name), if overriding { " OVERRIDING SYSTEM VALUE" } else { "" });
        let width = self.columns.len();
        for r in 0..self.pending.len() {
            text.push_str(if r == 0 { "(" } else { ", (" });
            for c in 0..width {
                if c > 0 {
                    text.push_str(", ");
                }
                text.push_str(&format!("${}", r * width + c + 1));
            }
            text.push(')');
        }
        let count = self.pending.len() as u64;
        let mut q = sqlx::query(AssertSqlSafe(text));
        for row in self.pending.drain(..) {
            for v in row {
                q = match v {
                    Bound::Int(x) => q.bind(x),
                    Bound::Real(x) => crate::sql::bind_real(q, x),
                    Bound::Text(x) => q.bind(x),
                    Bound::Bool(x) => q.bind(x),
                    Bound::Blob(x) => q.bind(x),
                };
            }
        }
        q.execute(&mut **tx)
            .await
            .map_err(|e| lines.error(format!("the database refused rows of {} (up to this line): {e}", self.table.name)))?;
        self.rows += count;
        Ok(())
    }
}
