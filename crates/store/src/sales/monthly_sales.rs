//! The monthly sales summary (migration 0014): per paid month and currency, for all owners
//! (`owner_key` 0) and per owner, the revenue, orders and distinct customers of the live paid
//! and shipped orders. Distinct customers cannot be added up from smaller counts, so no row is
//! ever adjusted by a difference: every write that can change a month recomputes that month's
//! rows from the orders (one index range per month), inside the write's transaction, so the
//! summary is exact whenever a transaction commits.

use rapport_domain::sales::order::{OrderData, OrderStatus};

use crate::sql::{Sql, sql};
use crate::{Result, WriteTx};

/// What monthly sales count of the orders: live, paid (or shipped since), with a paid time.
pub(crate) const COUNTED: &str = "o.status IN ('paid', 'shipped') AND o.paid_at IS NOT NULL AND o.deleted_at IS NULL";

/// The (month, currency) an order counts in, if it counts (live orders only: a deleted one's
/// month is refreshed after it left).
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

/// Recomputes the summary rows of the given months (with their currency) from the orders.
pub(crate) async fn refresh(tx: &mut WriteTx, keys: impl IntoIterator<Item = (String, String)>) -> Result<()> {
    let mut keys: Vec<(String, String)> = keys.into_iter().collect();
    keys.sort_unstable();
    keys.dedup();
    for (month, currency) in keys {
        let Some(end) = next_month(&month) else { continue };
        tx.execute(&sql("DELETE FROM monthly_sales WHERE month = ? AND currency = ?", [month.clone().into(), currency.clone().into()]))
            .await?;
        for owner in [false, true] {
            // One month of paid times is a range of the (status, paid_at, …) index.
            let mut q = insert(owner);
            q.push(" AND o.paid_at >= ").arg(month.clone()).push(" AND o.paid_at < ").arg(end.clone());
            q.push(" AND o.currency = ").arg(currency.clone());
            group(&mut q, owner);
            tx.execute(&q).await?;
        }
    }
    Ok(())
}

/// Recomputes the whole summary (after a restore, whose backup may predate it).
pub(crate) async fn rebuild(tx: &mut WriteTx) -> Result<()> {
    tx.execute(&sql("DELETE FROM monthly_sales", [])).await?;
    for owner in [false, true] {
        let mut q = insert(owner);
        group(&mut q, owner);
        tx.execute(&q).await?;
    }
    Ok(())
}

/// The summary rows of the counted orders, for all owners or per owner, up to the conditions
/// and grouping the caller adds.
fn insert(owner: bool) -> Sql {
    let key = if owner { "o.owner_id" } else { "0" };
    let mut q = Sql::new(&format!(
        "INSERT INTO monthly_sales (owner_key, month, currency, revenue_minor, orders, customers) \
         SELECT {key}, substr(o.paid_at, 1, 7), o.currency, CAST(SUM(o.net_minor) AS BIGINT), COUNT(*), COUNT(DISTINCT o.customer_id) \
         FROM orders o WHERE {COUNTED}"
    ));
    if owner {
        q.push(" AND o.owner_id IS NOT NULL");
    }
    q
}

fn group(q: &mut Sql, owner: bool) {
    q.push(if owner {
        " GROUP BY o.owner_id, substr(o.paid_at, 1, 7), o.currency"
    } else {
        " GROUP BY substr(o.paid_at, 1, 7), o.currency"
    });
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
