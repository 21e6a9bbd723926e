//! Each person's order statistics (`customer_order_stats`, migrations 0047 and 0054), which
//! segments read: kept by a trigger on orders, recounted whole after a restore.

use crate::sql::sql;
use crate::{Result, WriteTx};

/// Recounts every person's statistics from their live paid and shipped orders.
pub(crate) async fn rebuild(tx: &mut WriteTx) -> Result<()> {
    tx.execute(&sql("DELETE FROM customer_order_stats", [])).await?;
    tx.execute(&sql(
        "INSERT INTO customer_order_stats (customer_id, total_spend, order_count, last_order_date) \
         SELECT customer_id, COALESCE(SUM(total_minor), 0), COUNT(*), MAX(COALESCE(order_date, substr(created_at, 1, 10))) \
         FROM orders WHERE customer_id IS NOT NULL AND deleted_at IS NULL AND status IN ('paid', 'shipped') GROUP BY customer_id",
        [],
    ))
    .await?;
    Ok(())
}
