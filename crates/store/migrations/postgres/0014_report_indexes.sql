-- Issue 9 §5: every sales report, with each of its filters, reads an index rather than the
-- whole table, and monthly sales read a summary kept in the order's write transaction.
--
-- Each index over live rows (WHERE deleted_at IS NULL) ends with deleted_at: SQLite counts a
-- partial index as covering only when it holds every column the query names, the condition's
-- too; without it every matching row is read from the table as well.

-- 0010's and 0012's report indexes again, covering in that sense.
DROP INDEX opportunities_totals_idx;
CREATE INDEX opportunities_totals_idx ON opportunities (pipeline_id, stage, currency, owner_id, amount_minor, deleted_at) WHERE deleted_at IS NULL;
DROP INDEX orders_sales_report_idx;
CREATE INDEX orders_sales_report_idx ON orders (status, paid_at, currency, owner_id, customer_id, net_minor, deleted_at) WHERE deleted_at IS NULL;

-- Pipeline by stage over a span of expected close days, with and without one pipeline; both
-- cover what the report sums.
CREATE INDEX opportunities_close_report_idx ON opportunities (expected_close_date, pipeline_id, stage, currency, owner_id, amount_minor, deleted_at) WHERE deleted_at IS NULL;
CREATE INDEX opportunities_pipeline_close_idx ON opportunities (pipeline_id, expected_close_date, stage, currency, owner_id, amount_minor, deleted_at) WHERE deleted_at IS NULL;
-- Won and lost deals by close time (win rate, cycle length, leaderboard): 0012's index, now
-- covering the pipeline filter too.
DROP INDEX opportunities_closed_report_idx;
CREATE INDEX opportunities_closed_report_idx ON opportunities (status, closed_at, pipeline_id, owner_id, currency, amount_minor, deleted_at) WHERE deleted_at IS NULL;
-- The same deals by owner (win rate and leaderboard over all time group by owner): with the
-- statistics of a loaded database SQLite otherwise walks the owner index and reads every row.
CREATE INDEX opportunities_owner_report_idx ON opportunities (status, owner_id, currency, amount_minor, pipeline_id, closed_at, deleted_at) WHERE deleted_at IS NULL;
-- The funnel's cohort (deals whose history starts in a span) is found from the changes in it.
CREATE INDEX opportunity_stage_changes_at_idx ON opportunity_stage_changes (at, opportunity_id);
-- Paid orders by owner (a team's, or those a rep may see), covering what monthly sales sum.
CREATE INDEX orders_owner_sales_idx ON orders (owner_id, status, paid_at, currency, customer_id, net_minor, deleted_at) WHERE deleted_at IS NULL;

-- Monthly sales per paid month (the first 7 characters of paid_at) and currency, for all
-- owners (owner_key 0) and per owner (owner_key = the owner's id): revenue (net of discounts,
-- before tax), orders and distinct customers of the live paid and shipped orders. Every order
-- write recomputes its months' rows from the orders in its transaction, so they stay exact.
CREATE TABLE monthly_sales (
    owner_key BIGINT NOT NULL,
    month TEXT NOT NULL,
    currency TEXT NOT NULL,
    revenue_minor BIGINT NOT NULL,
    orders BIGINT NOT NULL,
    customers BIGINT NOT NULL,
    PRIMARY KEY (owner_key, month, currency)
);
INSERT INTO monthly_sales (owner_key, month, currency, revenue_minor, orders, customers)
SELECT 0, substr(o.paid_at, 1, 7), o.currency, SUM(o.net_minor), COUNT(*), COUNT(DISTINCT o.customer_id)
FROM orders o WHERE o.status IN ('paid', 'shipped') AND o.paid_at IS NOT NULL AND o.deleted_at IS NULL
GROUP BY substr(o.paid_at, 1, 7), o.currency;
INSERT INTO monthly_sales (owner_key, month, currency, revenue_minor, orders, customers)
SELECT o.owner_id, substr(o.paid_at, 1, 7), o.currency, SUM(o.net_minor), COUNT(*), COUNT(DISTINCT o.customer_id)
FROM orders o WHERE o.status IN ('paid', 'shipped') AND o.paid_at IS NOT NULL AND o.deleted_at IS NULL AND o.owner_id IS NOT NULL
GROUP BY o.owner_id, substr(o.paid_at, 1, 7), o.currency;

-- The planner's statistics for the new indexes, so an existing database uses them at once.
ANALYZE opportunities;
ANALYZE opportunity_stage_changes;
ANALYZE orders;
ANALYZE monthly_sales;
