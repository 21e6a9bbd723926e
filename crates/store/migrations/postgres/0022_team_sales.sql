-- Issue 9 §5: monthly sales narrowed to a team, or as a rep sees them, read from a summary
-- like the one for all owners and per owner (0014). Distinct customers do not add up across
-- owners, so each team's row is counted from its members' orders themselves: the team's own
-- (owner in the team; the team filter) and its reach (the team's plus the unowned ones: what
-- a rep whose only shared team it is may see). Every order write recomputes the months it
-- touches for the teams of its owners (every team when unowned), and every membership change
-- recomputes that team, in the write's transaction, so the rows are exact at each commit.
CREATE TABLE team_sales (
    team_id BIGINT NOT NULL,
    month TEXT NOT NULL,
    currency TEXT NOT NULL,
    revenue_minor BIGINT NOT NULL,
    orders BIGINT NOT NULL,
    customers BIGINT NOT NULL,
    reach_revenue_minor BIGINT NOT NULL,
    reach_orders BIGINT NOT NULL,
    reach_customers BIGINT NOT NULL,
    PRIMARY KEY (team_id, month, currency)
);
INSERT INTO team_sales (team_id, month, currency, revenue_minor, orders, customers, reach_revenue_minor, reach_orders, reach_customers)
SELECT t.id, substr(o.paid_at, 1, 7), o.currency,
    CAST(COALESCE(SUM(CASE WHEN o.owner_id IS NOT NULL THEN o.net_minor END), 0) AS BIGINT), COUNT(o.owner_id),
    COUNT(DISTINCT CASE WHEN o.owner_id IS NOT NULL THEN o.customer_id END),
    CAST(SUM(o.net_minor) AS BIGINT), COUNT(*), COUNT(DISTINCT o.customer_id)
FROM teams t JOIN orders o ON o.owner_id IS NULL OR o.owner_id IN (SELECT tm.user_id FROM team_members tm WHERE tm.team_id = t.id)
WHERE o.status IN ('paid', 'shipped') AND o.paid_at IS NOT NULL AND o.deleted_at IS NULL
GROUP BY t.id, substr(o.paid_at, 1, 7), o.currency;
ANALYZE team_sales;
