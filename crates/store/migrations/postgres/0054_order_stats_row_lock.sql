-- The order statistics trigger (0047) ordered concurrent writers of one person's row by a
-- transaction-scoped advisory lock. Each lock takes a slot of the server's shared lock table
-- until the transaction ends, so one transaction writing the orders of more people than the
-- table holds (about 12,000 with the default max_locks_per_transaction: a restore, an order
-- import, a batch) failed with "out of shared memory". The person's statistics row is now the
-- lock: an upsert of a placeholder locks it (a row lock lives in the row, not in the lock
-- table), and the recount that follows, a statement later, sees every order committed by the
-- writer it waited for. A person left without paid or shipped orders has no row, as before.
CREATE OR REPLACE FUNCTION refresh_customer_order_stats(cid BIGINT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF cid IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO customer_order_stats (customer_id, total_spend, order_count, last_order_date) VALUES (cid, 0, 0, '')
    ON CONFLICT (customer_id) DO UPDATE SET order_count = customer_order_stats.order_count;
    UPDATE customer_order_stats s SET total_spend = o.spend, order_count = o.n, last_order_date = COALESCE(o.last, '')
    FROM (SELECT COALESCE(SUM(total_minor), 0) AS spend, COUNT(*) AS n, MAX(COALESCE(order_date, substr(created_at, 1, 10))) AS last
          FROM orders WHERE customer_id = cid AND deleted_at IS NULL AND status IN ('paid', 'shipped')) o
    WHERE s.customer_id = cid;
    DELETE FROM customer_order_stats WHERE customer_id = cid AND order_count = 0;
END
$$;
