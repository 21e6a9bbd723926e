//! One way to read a result row, whichever driver produced it: sqlx's (PostgreSQL, and SQLite
//! inside transactions) or rusqlite's (SQLite reads outside transactions, see [`crate::local`]).
//! Decoders take `&dyn Row` and ask for columns by name: `r.get::<Option<String>>("email")?`.

use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::{Error, Result};

/// A result row: a column's value by name, as one of the three types the schema uses.
pub(crate) trait Row {
    fn int(&self, col: &str) -> Result<Option<i64>>;
    fn real(&self, col: &str) -> Result<Option<f64>>;
    fn text(&self, col: &str) -> Result<Option<String>>;
}

impl dyn Row + '_ {
    /// The value of `col` as a `T` (`Option<T>` where the column may be NULL).
    pub fn get<T: Column>(&self, col: &str) -> Result<T> {
        T::read(self, col)
    }
}

/// A Rust type a column can be read as.
pub(crate) trait Column: Sized {
    fn read(r: &dyn Row, col: &str) -> Result<Self>;
}

fn not_null<T>(v: Option<T>, col: &str) -> Result<T> {
    v.ok_or_else(|| Error::Db(sqlx::Error::Decode(format!("column {col} is NULL").into())))
}

impl Column for i64 {
    fn read(r: &dyn Row, col: &str) -> Result<i64> {
        not_null(r.int(col)?, col)
    }
}
impl Column for Option<i64> {
    fn read(r: &dyn Row, col: &str) -> Result<Option<i64>> {
        r.int(col)
    }
}
impl Column for f64 {
    fn read(r: &dyn Row, col: &str) -> Result<f64> {
        not_null(r.real(col)?, col)
    }
}
impl Column for Option<f64> {
    fn read(r: &dyn Row, col: &str) -> Result<Option<f64>> {
        r.real(col)
    }
}
impl Column for String {
    fn read(r: &dyn Row, col: &str) -> Result<String> {
        not_null(r.text(col)?, col)
    }
}
impl Column for Option<String> {
    fn read(r: &dyn Row, col: &str) -> Result<Option<String>> {
        r.text(col)
    }
}
impl Column for bool {
    fn read(r: &dyn Row, col: &str) -> Result<bool> {
        Ok(not_null(r.int(col)?, col)? != 0)
    }
}

impl Row for AnyRow {
    fn int(&self, col: &str) -> Result<Option<i64>> {
        Ok(self.try_get(col)?)
    }
    fn real(&self, col: &str) -> Result<Option<f64>> {
        Ok(self.try_get(col)?)
    }
    fn text(&self, col: &str) -> Result<Option<String>> {
        Ok(self.try_get(col)?)
    }
}
