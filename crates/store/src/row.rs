//! One way to read a result row, whichever driver produced it: sqlx's (PostgreSQL, SQLite scans
//! and restores) or rusqlite's (SQLite reads and writes, see [`crate::local`] and [`crate::writer`]).
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

/// The three value types of the schema; each is a [`Column`] as itself (NULL is an error) and
/// as an `Option`.
pub(crate) trait Scalar: Sized {
    fn read_nullable(r: &dyn Row, col: &str) -> Result<Option<Self>>;
}

impl Scalar for i64 {
    fn read_nullable(r: &dyn Row, col: &str) -> Result<Option<i64>> {
        r.int(col)
    }
}
impl Scalar for f64 {
    fn read_nullable(r: &dyn Row, col: &str) -> Result<Option<f64>> {
        r.real(col)
    }
}
impl Scalar for String {
    fn read_nullable(r: &dyn Row, col: &str) -> Result<Option<String>> {
        r.text(col)
    }
}

impl<T: Scalar> Column for T {
    fn read(r: &dyn Row, col: &str) -> Result<T> {
        T::read_nullable(r, col)?.ok_or_else(|| Error::Db(sqlx::Error::Decode(format!("column {col} is NULL").into())))
    }
}
impl<T: Scalar> Column for Option<T> {
    fn read(r: &dyn Row, col: &str) -> Result<Option<T>> {
        T::read_nullable(r, col)
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
