-- Issue 9 §5: monthly sales for every reader from summaries, kept by adding and subtracting
-- each order write's part (no month is ever recounted, so bulk loads cost what they write).
-- A reader's visibility is a set of owner keys (owners' ids; -1 for the unowned orders), so:
--   monthly_sales   per owner key (and 0: every order), month and currency: revenue, orders
--                   and the distinct customers of that key;
--   sales_presence  per month, currency, customer and owner key: how many counted orders;
--   sales_buyers    per month, currency and customer: how many owner keys sold to them.
-- The sum of a set of keys' rows counts a customer once per key that sold to them; the few
-- customers bought from under several keys (sales_buyers.owners > 1) are counted once again
-- through sales_presence, so distinct customers stay exact for any set. team_sales (0022),
-- one summary per team recounted on every order and membership change, is subsumed.
DROP TABLE team_sales;
CREATE TABLE sales_presence (
    month TEXT NOT NULL,
    currency TEXT NOT NULL,
    customer_id BIGINT NOT NULL,
    owner_key BIGINT NOT NULL,
    orders BIGINT NOT NULL,
    PRIMARY KEY (month, currency, customer_id, owner_key)
);
CREATE TABLE sales_buyers (
    month TEXT NOT NULL,
    currency TEXT NOT NULL,
    customer_id BIGINT NOT NULL,
    owners BIGINT NOT NULL,
    PRIMARY KEY (month, currency, customer_id)
);
-- The customers of several owner keys: what a reader's sum must count once again.
CREATE INDEX sales_buyers_shared_idx ON sales_buyers (month, currency, customer_id, owners) WHERE owners > 1;
INSERT INTO sales_presence (month, currency, customer_id, owner_key, orders)
SELECT substr(o.paid_at, 1, 7), o.currency, o.customer_id, COALESCE(o.owner_id, -1), COUNT(*)
FROM orders o WHERE o.status IN ('paid', 'shipped') AND o.paid_at IS NOT NULL AND o.deleted_at IS NULL AND o.customer_id IS NOT NULL
GROUP BY substr(o.paid_at, 1, 7), o.currency, o.customer_id, COALESCE(o.owner_id, -1);
INSERT INTO sales_buyers (month, currency, customer_id, owners)
SELECT month, currency, customer_id, COUNT(*) FROM sales_presence GROUP BY month, currency, customer_id;
-- The unowned orders get their own key (-1) beside every owner's.
INSERT INTO monthly_sales (owner_key, month, currency, revenue_minor, orders, customers)
SELECT -1, substr(o.paid_at, 1, 7), o.currency, CAST(SUM(o.net_minor) AS BIGINT), COUNT(*), COUNT(DISTINCT o.customer_id)
FROM orders o WHERE o.status IN ('paid', 'shipped') AND o.paid_at IS NOT NULL AND o.deleted_at IS NULL AND o.owner_id IS NULL
GROUP BY substr(o.paid_at, 1, 7), o.currency;
ANALYZE sales_presence;
ANALYZE sales_buyers;
ANALYZE monthly_sales;
