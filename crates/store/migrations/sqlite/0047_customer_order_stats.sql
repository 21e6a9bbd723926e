-- Issue 12: a segment's order statistics (total spend, order count, last order date) at a
-- million people. Read per person from the orders they were computed from, a count scans every
-- person's orders; kept here, one row per person with live paid or shipped orders, the segment
-- compiler reads the few people whose statistic passes as one set. Triggers on orders keep the
-- row of each person an order write touches: recomputed from that person's orders (a handful,
-- through orders_customer_idx), removed when none is left. A person without such orders has no
-- row: spend 0, count 0, no last date.
CREATE TABLE customer_order_stats (
    customer_id INTEGER PRIMARY KEY,
    total_spend INTEGER NOT NULL,
    order_count INTEGER NOT NULL,
    last_order_date TEXT NOT NULL
);

INSERT INTO customer_order_stats (customer_id, total_spend, order_count, last_order_date)
SELECT customer_id, COALESCE(SUM(total_minor), 0), COUNT(*), MAX(COALESCE(order_date, substr(created_at, 1, 10)))
FROM orders WHERE customer_id IS NOT NULL AND deleted_at IS NULL AND status IN ('paid', 'shipped') GROUP BY customer_id;

CREATE TRIGGER orders_stats_insert AFTER INSERT ON orders WHEN NEW.customer_id IS NOT NULL BEGIN
    DELETE FROM customer_order_stats WHERE customer_id = NEW.customer_id;
    INSERT INTO customer_order_stats (customer_id, total_spend, order_count, last_order_date)
    SELECT NEW.customer_id, COALESCE(SUM(total_minor), 0), COUNT(*), MAX(COALESCE(order_date, substr(created_at, 1, 10)))
    FROM orders WHERE customer_id = NEW.customer_id AND deleted_at IS NULL AND status IN ('paid', 'shipped') HAVING COUNT(*) > 0;
END;

CREATE TRIGGER orders_stats_update AFTER UPDATE OF customer_id, status, total_minor, order_date, created_at, deleted_at ON orders BEGIN
    DELETE FROM customer_order_stats WHERE customer_id IN (OLD.customer_id, NEW.customer_id);
    INSERT INTO customer_order_stats (customer_id, total_spend, order_count, last_order_date)
    SELECT customer_id, COALESCE(SUM(total_minor), 0), COUNT(*), MAX(COALESCE(order_date, substr(created_at, 1, 10)))
    FROM orders WHERE customer_id IN (OLD.customer_id, NEW.customer_id) AND deleted_at IS NULL AND status IN ('paid', 'shipped')
    GROUP BY customer_id;
END;

CREATE TRIGGER orders_stats_delete AFTER DELETE ON orders WHEN OLD.customer_id IS NOT NULL BEGIN
    DELETE FROM customer_order_stats WHERE customer_id = OLD.customer_id;
    INSERT INTO customer_order_stats (customer_id, total_spend, order_count, last_order_date)
    SELECT OLD.customer_id, COALESCE(SUM(total_minor), 0), COUNT(*), MAX(COALESCE(order_date, substr(created_at, 1, 10)))
    FROM orders WHERE customer_id = OLD.customer_id AND deleted_at IS NULL AND status IN ('paid', 'shipped') HAVING COUNT(*) > 0;
END;
