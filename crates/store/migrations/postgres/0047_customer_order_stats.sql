-- Issue 12: a segment's order statistics (total spend, order count, last order date) at a
-- million people. Read per person from the orders they were computed from, a count scans every
-- person's orders; kept here, one row per person with live paid or shipped orders, the segment
-- compiler reads the few people whose statistic passes as one set. A trigger on orders keeps the
-- row of each person an order write touches: recomputed from that person's orders (a handful,
-- through orders_customer_idx), removed when none is left. A transaction-scoped advisory lock
-- per person orders concurrent writers (servers sharing the database): each recomputes after
-- the one before it committed, so the last one's row counts every order. A person without such
-- orders has no row: spend 0, count 0, no last date.
CREATE TABLE customer_order_stats (
    customer_id BIGINT PRIMARY KEY,
    total_spend BIGINT NOT NULL,
    order_count BIGINT NOT NULL,
    last_order_date TEXT NOT NULL
);

INSERT INTO customer_order_stats (customer_id, total_spend, order_count, last_order_date)
SELECT customer_id, COALESCE(SUM(total_minor), 0), COUNT(*), MAX(COALESCE(order_date, substr(created_at, 1, 10)))
FROM orders WHERE customer_id IS NOT NULL AND deleted_at IS NULL AND status IN ('paid', 'shipped') GROUP BY customer_id;

CREATE FUNCTION refresh_customer_order_stats(cid BIGINT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF cid IS NULL THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(4712, hashtext(cid::text));
    DELETE FROM customer_order_stats WHERE customer_id = cid;
    INSERT INTO customer_order_stats (customer_id, total_spend, order_count, last_order_date)
    SELECT cid, COALESCE(SUM(total_minor), 0), COUNT(*), MAX(COALESCE(order_date, substr(created_at, 1, 10)))
    FROM orders WHERE customer_id = cid AND deleted_at IS NULL AND status IN ('paid', 'shipped') HAVING COUNT(*) > 0;
END
$$;

CREATE FUNCTION orders_stats_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM refresh_customer_order_stats(NEW.customer_id);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM refresh_customer_order_stats(OLD.customer_id);
    ELSIF OLD.customer_id IS DISTINCT FROM NEW.customer_id THEN
        -- Two people: the lower id first, so two such moves never wait on each other.
        PERFORM refresh_customer_order_stats(LEAST(OLD.customer_id, NEW.customer_id));
        PERFORM refresh_customer_order_stats(GREATEST(OLD.customer_id, NEW.customer_id));
    ELSIF OLD.status IS DISTINCT FROM NEW.status OR OLD.total_minor IS DISTINCT FROM NEW.total_minor
        OR OLD.order_date IS DISTINCT FROM NEW.order_date OR OLD.created_at IS DISTINCT FROM NEW.created_at
        OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at THEN
        PERFORM refresh_customer_order_stats(NEW.customer_id);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER orders_stats AFTER INSERT OR UPDATE OR DELETE ON orders FOR EACH ROW EXECUTE FUNCTION orders_stats_refresh();
