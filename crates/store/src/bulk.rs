//! Bulk loads (the demo company, imports): rows written in multi-row `INSERT`s of thousands of
//! arguments, so that a load costs a few statements per thousand rows instead of one per row.
//!
//! The statements bind anonymous `?` placeholders on SQLite ([`Sql::for_bulk`]): SQLite looks
//! each numbered `$n` parameter up by walking the statement's list of them, which made binding
//! a large statement cost the square of its arguments. Statements of a full chunk have the same
//! text, so both engines prepare them once and reuse them.

use crate::Backend;
use crate::sql::{Arg, Sql, bulk_rows_per_statement};

/// The statements that insert `rows`, each row as `width` values from `values`: `head` is
/// `INSERT INTO t (c1, …) VALUES `, `tail` what follows the rows (` RETURNING id`, or nothing).
/// Both engines number a statement's rows in `VALUES` order.
pub(crate) fn inserts<'a, R, V>(
    backend: Backend,
    head: &'a str,
    tail: &'a str,
    width: usize,
    rows: &'a [R],
    values: impl Fn(&R) -> V + 'a,
) -> impl Iterator<Item = Sql> + 'a
where
    V: IntoIterator<Item = Arg>,
{
    rows.chunks(bulk_rows_per_statement(width)).map(move |part| {
        let mut q = Sql::for_bulk(backend, head);
        for (n, row) in part.iter().enumerate() {
            q.push(if n == 0 { "(" } else { ", (" });
            for (i, v) in values(row).into_iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                q.arg(v);
            }
            q.push(")");
        }
        q.push(tail);
        q
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_binds_in_order_and_postgres_by_number() {
        let rows = [(1_i64, "a"), (2, "b"), (3, "c")];
        let on = |b| inserts(b, "INSERT INTO t (n, s) VALUES ", " RETURNING id", 2, &rows, |(n, s)| [Arg::from(*n), Arg::from(*s)]);
        let lite: Vec<Sql> = on(Backend::Sqlite).collect();
        assert_eq!(lite.len(), 1);
        assert_eq!(lite[0].text, "INSERT INTO t (n, s) VALUES (?, ?), (?, ?), (?, ?) RETURNING id");
        assert_eq!(lite[0].args().len(), 6);
        let pg: Vec<Sql> = on(Backend::Postgres).collect();
        assert_eq!(pg[0].text, "INSERT INTO t (n, s) VALUES ($1, $2), ($3, $4), ($5, $6) RETURNING id");
    }

    #[test]
    fn rows_split_into_statements_of_at_most_the_bulk_limit() {
        let rows: Vec<i64> = (0..10_001).collect();
        let qs: Vec<Sql> =
            inserts(Backend::Sqlite, "INSERT INTO t (a, b) VALUES ", "", 2, &rows, |n| [Arg::from(*n), Arg::from(*n)]).collect();
        assert!(qs.iter().all(|q| q.args().len() <= crate::sql::BULK_ARGS));
        assert_eq!(qs.iter().map(|q| q.args().len()).sum::<usize>(), 20_002, "every row once");
    }
}
