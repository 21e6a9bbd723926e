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

/// SQL text with its arguments; `arg` appends the next `$n` placeholder.
#[derive(Debug, Default)]
pub(crate) struct Sql {
    pub text: String,
    args: Vec<Arg>,
}

impl Sql {
    pub fn new(text: &str) -> Sql {
        Sql { text: text.to_string(), args: vec![] }
    }

    pub fn push(&mut self, s: &str) -> &mut Sql {
        self.text.push_str(s);
        self
    }

    pub fn arg(&mut self, a: impl Into<Arg>) -> &mut Sql {
        self.args.push(a.into());
        let _ = write!(self.text, "${}", self.args.len());
        self
    }

    /// The same statement with `prefix` before it (`EXPLAIN `), its arguments as they are.
    pub fn prefixed(&self, prefix: &str) -> Sql {
        Sql { text: format!("{prefix}{}", self.text), args: self.args.clone() }
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
                Arg::Real(f) => q.bind(f),
            };
        }
        q
    }

    pub async fn fetch_all<'e, E: Executor<'e, Database = Any>>(&self, e: E) -> sqlx::Result<Vec<AnyRow>> {
        self.query().fetch_all(e).await
    }

    pub async fn fetch_optional<'e, E: Executor<'e, Database = Any>>(&self, e: E) -> sqlx::Result<Option<AnyRow>> {
        self.query().fetch_optional(e).await
    }

    pub async fn fetch_one<'e, E: Executor<'e, Database = Any>>(&self, e: E) -> sqlx::Result<AnyRow> {
        self.query().fetch_one(e).await
    }

    pub async fn execute<'e, E: Executor<'e, Database = Any>>(&self, e: E) -> sqlx::Result<u64> {
        Ok(self.query().execute(e).await?.rows_affected())
    }
}

/// The most arguments a bulk statement takes. SQLite looks up a numbered (`$n`) parameter's
/// name by walking all of the statement's parameters, so binding costs the square of their
/// count: a 4,000-argument insert binds a hundred times slower per row than a 250-argument one.
pub(crate) const MAX_ARGS: usize = 250;

/// How many rows of `cols` values each one multi-row statement takes (see [`MAX_ARGS`]).
pub(crate) fn rows_per_statement(cols: usize) -> usize {
    (MAX_ARGS / cols.max(1)).max(1)
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
