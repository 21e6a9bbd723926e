//! The monthly sales summaries (migrations 0014 and 0024), kept by difference: each order write
//! subtracts the part its order had before and adds the part it has after, in the write's
//! transaction, so the rows are exact whenever a transaction commits and no month is ever
//! recounted (a bulk load costs what it writes).
//!
//! * `monthly_sales`: per owner key (an owner's id, -1 for unowned orders, 0 for every order),
//!   paid month and currency: net revenue, orders, distinct customers of that key.
//! * `sales_presence`: per month, currency, customer and owner key, how many counted orders.
//!   A row appearing or leaving moves that key's distinct customers by one.
//! * `sales_buyers`: per month, currency and customer, how many owner keys sold to them. A row
//!   appearing or leaving moves the customers of key 0 (every order) by one; `owners > 1`
//!   marks the customers a reader over several keys must not count twice (see
//!   [`super::monthly_sales_report`]).

use std::collections::BTreeMap;

use rapport_domain::sales::order::{OrderData, OrderStatus};

use crate::bulk::inserts;
use crate::sql::{Arg, sql};
use crate::{Result, WriteTx};

/// What monthly sales count of the orders: live, paid (or shipped since), with a paid time.
pub(crate) const COUNTED: &str = "o.status IN ('paid', 'shipped') AND o.paid_at IS NOT NULL AND o.deleted_at IS NULL";

/// The owner key of unowned orders.
pub(crate) const UNOWNED: i64 = -1;

/// The owner key of every order.
pub(crate) const EVERY: i64 = 0;

/// The (month, currency) an order counts in, if it counts.
pub(crate) fn month_of(d: &OrderData) -> Option<(String, String)> {
    let counted = matches!(d.status, OrderStatus::Paid | OrderStatus::Shipped);
    let month = d.paid_at.as_deref().filter(|_| counted)?.get(..7)?;
    Some((month.to_string(), d.currency.clone()))
}

/// The first day of the month after `month` (`2026-12` → `2027-01-01`).
pub(crate) fn next_month(month: &str) -> Option<String> {
    let (y, m) = month.split_once('-')?;
    let (y, m): (i32, u32) = (y.parse().ok()?, m.parse().ok()?);
    Some(if m >= 12 { format!("{:04}-01-01", y + 1) } else { format!("{y:04}-{:02}-01", m + 1) })
}

/// (month, currency, customer, owner key).
type PresenceKey = (String, String, i64, i64);
/// (owner key, month, currency) → (revenue, orders, customers).
type Totals = BTreeMap<(i64, String, String), (i64, i64, i64)>;

/// The summaries' change from orders leaving (`gone`: their data before the write) and arriving
/// (`come`: after it). An order whose sales part did not change cancels out and writes nothing.
pub(crate) async fn apply<'a>(
    tx: &mut WriteTx,
    gone: impl IntoIterator<Item = &'a OrderData>,
    come: impl IntoIterator<Item = &'a OrderData>,
) -> Result<()> {
    let mut presence: BTreeMap<PresenceKey, i64> = BTreeMap::new();
    let mut totals: Totals = BTreeMap::new();
    for (sign, d) in gone.into_iter().map(|d| (-1, d)).chain(come.into_iter().map(|d| (1, d))) {
        let Some((month, currency)) = month_of(d) else { continue };
        let owner = d.owner_id.unwrap_or(UNOWNED);
        let net = d.totals().map(|t| t.net_minor).unwrap_or_default();
        for key in [owner, EVERY] {
            let t = totals.entry((key, month.clone(), currency.clone())).or_default();
            t.0 += sign * net;
            t.1 += sign;
        }
        if let Some(c) = d.customer_id {
            *presence.entry((month, currency, c, owner)).or_default() += sign;
        }
    }
    presence.retain(|_, n| *n != 0);
    // Presence rows that appeared or left: their key's distinct customers, and the buyers.
    let mut buyers: BTreeMap<(String, String, i64), i64> = BTreeMap::new();
    let mut left: Vec<PresenceKey> = vec![];
    let rows: Vec<(&PresenceKey, &i64)> = presence.iter().collect();
    let head = "INSERT INTO sales_presence (month, currency, customer_id, owner_key, orders) VALUES ";
    let tail = " ON CONFLICT (month, currency, customer_id, owner_key) DO UPDATE SET orders = sales_presence.orders + excluded.orders \
                RETURNING month, currency, customer_id, owner_key, orders";
    let values =
        |(k, n): &(&PresenceKey, &i64)| [Arg::from(k.0.clone()), Arg::from(k.1.clone()), Arg::from(k.2), Arg::from(k.3), Arg::from(**n)];
    for q in inserts(tx.backend, head, tail, 5, &rows, values).collect::<Vec<_>>() {
        let back = tx
            .fetch_all(&q, |r| {
                let key: PresenceKey = (r.get("month")?, r.get("currency")?, r.get("customer_id")?, r.get("owner_key")?);
                Ok((key, r.get::<i64>("orders")?))
            })
            .await?;
        for (key, now) in back {
            let before = now - presence.get(&key).copied().unwrap_or_default();
            let step = match (before > 0, now > 0) {
                (false, true) => 1,
                (true, false) => -1,
                _ => continue,
            };
            totals.entry((key.3, key.0.clone(), key.1.clone())).or_default().2 += step;
            *buyers.entry((key.0.clone(), key.1.clone(), key.2)).or_default() += step;
            if step < 0 {
                left.push(key);
            }
        }
    }
    for (month, currency, customer, owner) in left {
        let q = sql(
            "DELETE FROM sales_presence WHERE month = ? AND currency = ? AND customer_id = ? AND owner_key = ?",
            [month.into(), currency.into(), customer.into(), owner.into()],
        );
        tx.execute(&q).await?;
    }
    buyers.retain(|_, n| *n != 0);
    let rows: Vec<(&(String, String, i64), &i64)> = buyers.iter().collect();
    let head = "INSERT INTO sales_buyers (month, currency, customer_id, owners) VALUES ";
    let tail = " ON CONFLICT (month, currency, customer_id) DO UPDATE SET owners = sales_buyers.owners + excluded.owners \
                RETURNING month, currency, customer_id, owners";
    let values = |(k, n): &(&(String, String, i64), &i64)| [Arg::from(k.0.clone()), Arg::from(k.1.clone()), Arg::from(k.2), Arg::from(**n)];
    let mut gone_buyers = vec![];
    for q in inserts(tx.backend, head, tail, 4, &rows, values).collect::<Vec<_>>() {
        let back =
            tx.fetch_all(&q, |r| Ok(((r.get("month")?, r.get("currency")?, r.get("customer_id")?), r.get::<i64>("owners")?))).await?;
        for (key, now) in back {
            let key: (String, String, i64) = key;
            let before = now - buyers.get(&key).copied().unwrap_or_default();
            match (before > 0, now > 0) {
                (false, true) => totals.entry((EVERY, key.0.clone(), key.1.clone())).or_default().2 += 1,
                (true, false) => {
                    totals.entry((EVERY, key.0.clone(), key.1.clone())).or_default().2 -= 1;
                    gone_buyers.push(key);
                }
                _ => {}
            }
        }
    }
    for (month, currency, customer) in gone_buyers {
        let q = sql(
            "DELETE FROM sales_buyers WHERE month = ? AND currency = ? AND customer_id = ?",
            [month.into(), currency.into(), customer.into()],
        );
        tx.execute(&q).await?;
    }
    totals.retain(|_, t| *t != (0, 0, 0));
    let rows: Vec<_> = totals.iter().collect();
    let head = "INSERT INTO monthly_sales (owner_key, month, currency, revenue_minor, orders, customers) VALUES ";
    let tail = " ON CONFLICT (owner_key, month, currency) DO UPDATE SET revenue_minor = monthly_sales.revenue_minor + excluded.revenue_minor, \
                orders = monthly_sales.orders + excluded.orders, customers = monthly_sales.customers + excluded.customers \
                RETURNING owner_key, month, currency, orders";
    let values = |(k, t): &(&(i64, String, String), &(i64, i64, i64))| {
        [Arg::from(k.0), Arg::from(k.1.clone()), Arg::from(k.2.clone()), Arg::from(t.0), Arg::from(t.1), Arg::from(t.2)]
    };
    let mut empty = vec![];
    for q in inserts(tx.backend, head, tail, 6, &rows, values).collect::<Vec<_>>() {
        let back = tx
            .fetch_all(&q, |r| {
                Ok((r.get::<i64>("owner_key")?, r.get::<String>("month")?, r.get::<String>("currency")?, r.get::<i64>("orders")?))
            })
            .await?;
        empty.extend(back.into_iter().filter(|r| r.3 <= 0));
    }
    // A month and currency nobody sold in any more has no row (the reports list only sales).
    for (owner, month, currency, _) in empty {
        let q = sql(
            "DELETE FROM monthly_sales WHERE owner_key = ? AND month = ? AND currency = ?",
            [owner.into(), month.into(), currency.into()],
        );
        tx.execute(&q).await?;
    }
    Ok(())
}

/// Recounts the summaries from the orders (after a restore, whose backup may predate them).
pub(crate) async fn rebuild(tx: &mut WriteTx) -> Result<()> {
    for table in ["monthly_sales", "sales_presence", "sales_buyers"] {
        tx.execute(&sql(&format!("DELETE FROM {table}"), [])).await?;
    }
    // Key 0 (all orders) is a constant and stays out of GROUP BY, where a bare 0 would mean a
    // column position.
    for (key, group) in [("0", ""), ("COALESCE(o.owner_id, -1)", "COALESCE(o.owner_id, -1), ")] {
        let q = format!(
            "INSERT INTO monthly_sales (owner_key, month, currency, revenue_minor, orders, customers) \
             SELECT {key}, substr(o.paid_at, 1, 7), o.currency, CAST(SUM(o.net_minor) AS BIGINT), COUNT(*), COUNT(DISTINCT o.customer_id) \
             FROM orders o WHERE {COUNTED} GROUP BY {group}substr(o.paid_at, 1, 7), o.currency"
        );
        tx.execute(&sql(&q, [])).await?;
    }
    let q = format!(
        "INSERT INTO sales_presence (month, currency, customer_id, owner_key, orders) \
         SELECT substr(o.paid_at, 1, 7), o.currency, o.customer_id, COALESCE(o.owner_id, -1), COUNT(*) \
         FROM orders o WHERE {COUNTED} AND o.customer_id IS NOT NULL \
         GROUP BY substr(o.paid_at, 1, 7), o.currency, o.customer_id, COALESCE(o.owner_id, -1)"
    );
    tx.execute(&sql(&q, [])).await?;
    let q = "INSERT INTO sales_buyers (month, currency, customer_id, owners) \
             SELECT month, currency, customer_id, COUNT(*) FROM sales_presence GROUP BY month, currency, customer_id";
    tx.execute(&sql(q, [])).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::next_month;

    #[test]
    fn the_month_after_wraps_the_year() {
        assert_eq!(next_month("2026-11").as_deref(), Some("2026-12-01"));
        assert_eq!(next_month("2026-12").as_deref(), Some("2027-01-01"));
        assert_eq!(next_month("junk"), None);
    }
}
