//! Monthly sales as any reader may see them, from the summaries of [`super::monthly_sales`].
//!
//! A reader's visibility is a set of owner keys: everything (key 0), or their own, the unowned
//! (-1) and their shared teams' members'; a team or owner filter narrows that set. Revenue and
//! orders of a set are the sums of its keys' rows. Distinct customers are too, except for the
//! customers that several keys of the set sold to in a month: `sales_buyers` marks those
//! (`owners > 1`, a partial index, few rows), and `sales_presence` says how many of the set's
//! keys each one was counted under, so the sum is corrected to count each once.
//!
//! A span whose ends fall inside months reads its whole months from the summaries and sums its
//! partial first and last month from the orders, one indexed range of paid times each.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};
use rapport_domain::permissions::{Action, Actor, Object, Visibility, require};
use rapport_domain::sales::report::{MonthlySalesRow, ReportFilter};

use super::monthly_sales::{COUNTED, EVERY, UNOWNED, next_month};
use super::reports::owners;
use crate::records::sees_all;
use crate::row::Row;
use crate::sql::Sql;
use crate::{Result, Store};

/// A span split into what the summaries answer (whole months, `YYYY-MM`, open ends `None`) and
/// the ranges of paid times (`lo <= paid_at < hi`) to sum from the orders.
#[derive(Debug, PartialEq)]
struct Split {
    months: Option<(Option<String>, Option<String>)>,
    direct: Vec<(Option<String>, Option<String>)>,
}

fn month(d: NaiveDate) -> String {
    d.format("%Y-%m").to_string()
}

fn split(f: &ReportFilter) -> Split {
    let day = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    let first_of = |d: NaiveDate| d.with_day(1).unwrap_or(d);
    let starts = f.from.is_none_or(|d| d.day() == 1);
    let ends = f.to.is_none_or(|d| d.succ_opt().is_none_or(|n| n.day() == 1));
    // Both ends inside one month: that month's days, from the orders.
    if let (Some(a), Some(b)) = (f.from, f.to)
        && (a.year(), a.month()) == (b.year(), b.month())
        && !(starts && ends)
    {
        return Split { months: None, direct: vec![(f.from_text(), f.to_bound())] };
    }
    let mut direct = vec![];
    let first = match f.from {
        Some(a) if !starts => {
            let next = next_month(&month(a));
            direct.push((Some(day(a)), next.clone()));
            next.map(|n| n[..7].to_string())
        }
        other => other.map(month),
    };
    let last = match f.to {
        Some(b) if !ends => {
            let start = first_of(b);
            direct.push((Some(day(start)), f.to_bound()));
            start.pred_opt().map(month)
        }
        other => other.map(month),
    };
    let empty = matches!((&first, &last), (Some(a), Some(b)) if a > b);
    Split { months: (!empty).then_some((first, last)), direct }
}

/// The monthly sales rows of one query's result.
fn row(r: &dyn Row) -> Result<MonthlySalesRow> {
    Ok(MonthlySalesRow {
        month: r.get("month")?,
        currency: r.get("currency")?,
        revenue_minor: r.get("revenue")?,
        orders: r.get("n")?,
        customers: r.get("customers")?,
    })
}

fn keys_in(q: &mut Sql, col: &str, keys: &BTreeSet<i64>) {
    q.push(&format!(" AND {col} IN ("));
    for (i, k) in keys.iter().enumerate() {
        q.push(if i == 0 { "" } else { ", " }).arg(*k);
    }
    q.push(")");
}

fn months_in(q: &mut Sql, col: &str, months: &(Option<String>, Option<String>)) {
    if let Some(first) = &months.0 {
        q.push(&format!(" AND {col} >= ")).arg(first.clone());
    }
    if let Some(last) = &months.1 {
        q.push(&format!(" AND {col} <= ")).arg(last.clone());
    }
}

impl Store {
    /// The owner keys whose sales `actor` reads under `f`'s owner and team filters: `None` for
    /// every order (key 0 answers).
    async fn sales_keys(&self, actor: &Actor, f: &ReportFilter) -> Result<Option<BTreeSet<i64>>> {
        let mut keys: Option<BTreeSet<i64>> = None;
        if !sees_all(actor)
            && let Some(me) = actor.user_id
        {
            // Their own, the unowned, and the members' of their teams (shared ones, for a rep):
            // the rule of [`crate::records::visible`].
            let mut q = Sql::new(
                "SELECT DISTINCT m2.user_id FROM team_members m1 JOIN team_members m2 ON m2.team_id = m1.team_id \
                 JOIN teams t ON t.id = m1.team_id WHERE m1.user_id = ",
            );
            q.arg(me);
            if actor.visibility() == Visibility::Own {
                q.push(" AND t.visibility = 'team'");
            }
            let mut seen: BTreeSet<i64> = self.read(&q, |r| r.get("user_id")).await?.into_iter().collect();
            seen.extend([me, UNOWNED]);
            keys = Some(seen);
        }
        let narrow = |keys: Option<BTreeSet<i64>>, to: BTreeSet<i64>| match keys {
            Some(k) => Some(k.intersection(&to).copied().collect()),
            None => Some(to),
        };
        if let Some(o) = f.owner_id {
            keys = narrow(keys, [o].into());
        }
        if let Some(t) = f.team_id {
            let mut q = Sql::new("SELECT user_id FROM team_members WHERE team_id = ");
            q.arg(t);
            let members: BTreeSet<i64> = self.read(&q, |r| r.get("user_id")).await?.into_iter().collect();
            keys = narrow(keys, members);
        }
        Ok(keys)
    }

    /// Monthly sales: the orders paid in the span (paid or shipped since), per month and
    /// currency: net revenue, orders and distinct customers, as the reader may see them. Whole
    /// months come from the summaries (see the module's text), a partial first or last month
    /// from the orders.
    pub async fn monthly_sales_report(&self, actor: &Actor, f: &ReportFilter) -> Result<Vec<MonthlySalesRow>> {
        require(actor, Object::Order, Action::Read)?;
        let split = split(f);
        let mut rows = vec![];
        for (lo, hi) in &split.direct {
            rows.extend(self.sales_from_orders(actor, f, lo.as_deref(), hi.as_deref()).await?);
        }
        if let Some(months) = &split.months {
            let keys = self.sales_keys(actor, f).await?;
            rows.extend(self.sales_from_summary(keys.as_ref(), months).await?);
        }
        rows.sort_by(|a, b| (&a.month, &a.currency).cmp(&(&b.month, &b.currency)));
        Ok(rows)
    }

    /// The summaries' rows of the owner keys `keys` (every order when `None`) in `months`.
    async fn sales_from_summary(
        &self,
        keys: Option<&BTreeSet<i64>>,
        months: &(Option<String>, Option<String>),
    ) -> Result<Vec<MonthlySalesRow>> {
        let every = BTreeSet::from([EVERY]);
        let keys = keys.unwrap_or(&every);
        if keys.is_empty() {
            return Ok(vec![]);
        }
        let mut q = Sql::new(
            "SELECT s.month, s.currency, CAST(SUM(s.revenue_minor) AS BIGINT) AS revenue, CAST(SUM(s.orders) AS BIGINT) AS n, \
             CAST(SUM(s.customers) AS BIGINT) AS customers FROM monthly_sales s WHERE 1 = 1",
        );
        keys_in(&mut q, "s.owner_key", keys);
        months_in(&mut q, "s.month", months);
        q.push(" GROUP BY s.month, s.currency ORDER BY s.month, s.currency");
        let mut rows = self.read(&q, row).await?;
        if keys.len() > 1 {
            // Customers several of the keys sold to were counted once per key: once is right.
            let mut q = Sql::new(
                "SELECT b.month, b.currency, COUNT(*) AS n FROM sales_buyers b JOIN sales_presence p \
                 ON p.month = b.month AND p.currency = b.currency AND p.customer_id = b.customer_id WHERE b.owners > 1",
            );
            months_in(&mut q, "b.month", months);
            keys_in(&mut q, "p.owner_key", keys);
            q.push(" GROUP BY b.month, b.currency, b.customer_id HAVING COUNT(*) > 1");
            let twice = self.read(&q, |r| Ok(((r.get::<String>("month")?, r.get::<String>("currency")?), r.get::<i64>("n")? - 1))).await?;
            let mut extra: BTreeMap<(String, String), i64> = BTreeMap::new();
            for (k, n) in twice {
                *extra.entry(k).or_default() += n;
            }
            for r in &mut rows {
                r.customers -= extra.get(&(r.month.clone(), r.currency.clone())).copied().unwrap_or_default();
            }
        }
        Ok(rows)
    }

    /// Monthly sales summed from the orders paid in `lo <= paid_at < hi` (one indexed range).
    async fn sales_from_orders(&self, actor: &Actor, f: &ReportFilter, lo: Option<&str>, hi: Option<&str>) -> Result<Vec<MonthlySalesRow>> {
        let month = "substr(o.paid_at, 1, 7)";
        let mut q = Sql::new(&format!(
            "SELECT {month} AS month, o.currency, CAST(SUM(o.net_minor) AS BIGINT) AS revenue, COUNT(*) AS n, \
             COUNT(DISTINCT o.customer_id) AS customers FROM orders o WHERE {COUNTED}"
        ));
        if let Some(lo) = lo {
            q.push(" AND o.paid_at >= ").arg(lo.to_string());
        }
        if let Some(hi) = hi {
            q.push(" AND o.paid_at < ").arg(hi.to_string());
        }
        owners(&mut q, actor, f);
        q.push(&format!(" GROUP BY {month}, o.currency ORDER BY {month}, o.currency"));
        self.read(&q, row).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(from: Option<&str>, to: Option<&str>) -> Split {
        let d = |s: Option<&str>| s.and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok());
        split(&ReportFilter { from: d(from), to: d(to), ..Default::default() })
    }
    fn m(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn spans_split_into_whole_months_and_edge_days() {
        assert_eq!(span(None, None), Split { months: Some((None, None)), direct: vec![] });
        assert_eq!(
            span(m("2026-10-01").as_deref(), m("2026-12-31").as_deref()),
            Split { months: Some((m("2026-10"), m("2026-12"))), direct: vec![] }
        );
        // Both ends inside months: the whole months between, and each edge's days.
        assert_eq!(
            span(Some("2026-10-15"), Some("2027-01-10")),
            Split {
                months: Some((m("2026-11"), m("2026-12"))),
                direct: vec![(m("2026-10-15"), m("2026-11-01")), (m("2027-01-01"), m("2027-01-10T24"))]
            }
        );
        // Adjacent partial months: no whole month between them.
        assert_eq!(
            span(Some("2026-10-15"), Some("2026-11-14")),
            Split { months: None, direct: vec![(m("2026-10-15"), m("2026-11-01")), (m("2026-11-01"), m("2026-11-14T24"))] }
        );
        assert_eq!(
            span(Some("2026-10-02"), Some("2026-10-30")),
            Split { months: None, direct: vec![(m("2026-10-02"), m("2026-10-30T24"))] }
        );
        // Open ends keep their side open.
        assert_eq!(
            span(None, Some("2026-10-30")),
            Split { months: Some((None, m("2026-09"))), direct: vec![(m("2026-10-01"), m("2026-10-30T24"))] }
        );
        assert_eq!(
            span(Some("2026-12-31"), None),
            Split { months: Some((m("2027-01"), None)), direct: vec![(m("2026-12-31"), m("2027-01-01"))] }
        );
    }
}
