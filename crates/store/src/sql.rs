//! A tiny builder for dynamic SQL with numbered `$n` parameters, which both engines accept.

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AssertSqlSafe, Executor};
use std::fmt::Write;

/// A bound value.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Text(Option<String>),
    Int(Option<i64>),
    Real(Option<f64>),
}

impl From<&str> for Arg {
    fn from(s: &str) -> Arg {
        Arg::Text(Some(s.to_string()))
    }
}
impl From<String> for Arg {
    fn from(s: String) -> Arg {
        Arg::Text(Some(s))
    }
}
impl From<Option<String>> for Arg {
    fn from(s: Option<String>) -> Arg {
        Arg::Text(s)
    }
}
impl From<Option<&String>> for Arg {
    fn from(s: Option<&String>) -> Arg {
        Arg::Text(s.cloned())
    }
}
impl From<i64> for Arg {
    fn from(n: i64) -> Arg {
        Arg::Int(Some(n))
    }
}
impl From<Option<i64>> for Arg {
    fn from(n: Option<i64>) -> Arg {
        Arg::Int(n)
    }
}
impl From<f64> for Arg {
    fn from(n: f64) -> Arg {
        Arg::Real(Some(n))
    }
}

/// SQL text with its arguments; `arg` appends the next `$n` placeholder (or `?`, see
/// [`Sql::positional`]).
#[derive(Debug, Default, Clone)]
pub(crate) struct Sql {
    pub text: String,
    args: Vec<Arg>,
    /// Placeholders are anonymous `?`, bound in order (SQLite only).
    pub positional: bool,
}

impl Sql {
    pub fn new(text: &str) -> Sql {
        Sql { text: text.to_string(), args: vec![], positional: false }
    }

    /// A statement whose placeholders are anonymous `?` on SQLite (bound by position, in
    /// constant time each) and `$n` on PostgreSQL, which has no `?`: for the statements of
    /// thousands of arguments that bulk loads write (see [`MAX_ARGS`]).
    pub fn for_bulk(backend: crate::Backend, text: &str) -> Sql {
        Sql { positional: backend == crate::Backend::Sqlite, ..Sql::new(text) }
    }

    pub fn push(&mut self, s: &str) -> &mut Sql {
        self.text.push_str(s);
        self
    }

    pub fn arg(&mut self, a: impl Into<Arg>) -> &mut Sql {
        self.args.push(a.into());
        if self.positional {
            self.text.push('?');
        } else {
            let _ = write!(self.text, "${}", self.args.len());
        }
        self
    }

    /// The same statement with `prefix` before it (`EXPLAIN `), its arguments as they are: for
    /// the tests of query plans.
    pub fn prefixed(&self, prefix: &str) -> Sql {
        Sql { text: format!("{prefix}{}", self.text), ..self.clone() }
    }

    pub fn args(&self) -> &[Arg] {
        &self.args
    }

    pub fn query(&self) -> Query<'static, Any, AnyArguments> {
        let mut q = sqlx::query(AssertSqlSafe(self.text.clone()));
        for a in &self.args {
            q = match a.clone() {
                Arg::Text(s) => q.bind(s),
                Arg::Int(n) => q.bind(n),
                Arg::Real(f) => bind_real(q, f),
            };
        }
        q
    }

    pub async fn fetch_all<'e, E: Executor<'e, Database = Any>>(&self, e: E) -> sqlx::Result<Vec<AnyRow>> {
        self.query().fetch_all(e).await
    }

    pub async fn execute<'e, E: Executor<'e, Database = Any>>(&self, e: E) -> sqlx::Result<u64> {
        Ok(self.query().execute(e).await?.rows_affected())
    }
}

/// The most arguments a statement with numbered placeholders takes. SQLite looks up a numbered
/// (`$n`) parameter's name by walking all of the statement's parameters, so binding costs the
/// square of their count: a 4,000-argument insert binds a hundred times slower per row than a
/// 250-argument one. Anonymous `?` placeholders have no name to look up ([`Sql::for_bulk`]), so
/// bulk statements take [`BULK_ARGS`].
pub(crate) const MAX_ARGS: usize = 250;

/// The most arguments a bulk statement ([`Sql::for_bulk`]) takes: well under the limits of
/// both engines (SQLite 32,766, PostgreSQL 65,535), and enough that a statement's fixed costs
/// (the round trip to the driver, the parse of a statement not cached yet) vanish per row.
pub(crate) const BULK_ARGS: usize = 4_000;

/// How many rows of `cols` values one bulk statement takes (see [`BULK_ARGS`]).
pub(crate) fn bulk_rows_per_statement(cols: usize) -> usize {
    (BULK_ARGS / cols.max(1)).max(1)
}

/// Binds a real that may be NULL. sqlx 0.9's Any driver has the NULLs of `f64` and `f32`
/// swapped: a NULL `f64` reaches PostgreSQL typed `real` (float4). A statement it cached with a
/// NULL in that place then refuses the next non-NULL `f64` there ("incorrect binary data
/// format in bind parameter N"), which broke a SQLite backup's restore into PostgreSQL at the
/// first batch of people with a propensity after one without. A NULL goes as a NULL `f32`,
/// which arrives as `double precision`; the test below fails if sqlx changes this.
pub(crate) fn bind_real<'q>(q: Query<'q, Any, AnyArguments>, x: Option<f64>) -> Query<'q, Any, AnyArguments> {
    match x {
        Some(x) => q.bind(x),
        None => q.bind(None::<f32>),
    }
}

/// `(?, ?, …)` for `n` arguments: an `IN` list.
pub(crate) fn marks(n: usize) -> String {
    format!("({})", vec!["?"; n].join(", "))
}

/// `SELECT … WHERE` helper: builds `sql` from a template with one placeholder per argument.
pub(crate) fn sql(text: &str, args: impl IntoIterator<Item = Arg>) -> Sql {
    let mut s = Sql::new("");
    let mut parts = text.split('?');
    s.push(parts.next().unwrap_or(""));
    let mut args = args.into_iter();
    for p in parts {
        s.arg(args.next().expect("one argument per ?"));
        s.push(p);
    }
    s
}

#[cfg(test)]
thread_local! {
    /// The reads made on this thread while capturing (see [`capture`]).
    static READS: std::cell::RefCell<Option<Vec<Sql>>> = const { std::cell::RefCell::new(None) };
}

/// Notes a read while this thread captures them (tests of the queries a function makes).
#[cfg(test)]
pub(crate) fn note_read(q: &Sql) {
    READS.with(|r| r.borrow_mut().as_mut().map(|v| v.push(q.clone())));
}

/// The reads `f` makes (those through [`crate::Store::read`]), in order.
#[cfg(test)]
pub(crate) async fn capture<T>(f: impl std::future::Future<Output = T>) -> (T, Vec<Sql>) {
    READS.with(|r| *r.borrow_mut() = Some(vec![]));
    let out = f.await;
    (out, READS.with(|r| r.borrow_mut().take().unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    //! A NULL real and then a number, bound in the same place of one statement text (which the
    //! connection caches prepared), both go in on both engines (see [`super::bind_real`]).
    use super::{Arg, Sql};
    use crate::Store;

    async fn check(store: Store) {
        let mut tx = store.write_tx().await.unwrap();
        tx.execute(&Sql::new("CREATE TEMPORARY TABLE reals (x DOUBLE PRECISION)")).await.unwrap();
        for x in [None, Some(0.25), None, Some(1.5)] {
            let mut q = Sql::new("INSERT INTO reals (x) VALUES (");
            q.arg(Arg::Real(x)).push(")");
            tx.execute(&q).await.unwrap_or_else(|e| panic!("inserting {x:?}: {e}"));
        }
        let sum: f64 = tx.fetch_one(&Sql::new("SELECT SUM(x) AS s FROM reals"), |r| r.get("s")).await.unwrap();
        assert_eq!(sum, 1.75);
        tx.commit().await.unwrap();
    }

    #[tokio::test]
    async fn null_and_number_reals_share_a_cached_statement_on_sqlite() {
        crate::test_db::on_sqlite("reals", check).await;
    }

    #[tokio::test]
    async fn null_and_number_reals_share_a_cached_statement_on_postgres() {
        crate::test_db::on_postgres("reals", check).await;
    }
}
