-- Issue 9 §5: targets (quotas per rep or team and period) on the record machinery, and the
-- indexes the sales reports aggregate on.

CREATE TABLE targets (
    id INTEGER PRIMARY KEY,
    user_id INTEGER REFERENCES users (id),
    team_id INTEGER, -- checked by the store: a missing team is a field error, not a foreign-key fault
    period TEXT NOT NULL,
    measure TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    starts_on TEXT NOT NULL,
    ends_on TEXT NOT NULL,
    sort_name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    change_seq INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX targets_sort_name_idx ON targets (sort_name, id);
CREATE INDEX targets_updated_idx ON targets (updated_at, id);
CREATE INDEX targets_created_idx ON targets (created_at, id);
CREATE INDEX targets_change_idx ON targets (change_seq, id);
CREATE INDEX targets_amount_idx ON targets ((COALESCE(amount_minor, -9223372036854775807)), id);
CREATE INDEX targets_starts_idx ON targets ((COALESCE(starts_on, '')), id);
-- One target per rep (or team), period and measure: both indexes are named after the period
-- field, which a duplicate is reported on.
CREATE UNIQUE INDEX targets_period_key_user ON targets (user_id, period, measure) WHERE deleted_at IS NULL AND user_id IS NOT NULL;
CREATE UNIQUE INDEX targets_period_key_team ON targets (team_id, period, measure) WHERE deleted_at IS NULL AND team_id IS NOT NULL;

-- Won and lost deals by the day they closed (win rate, cycle length, leaderboard, attainment),
-- covering what those reports sum.
CREATE INDEX opportunities_closed_report_idx ON opportunities (status, closed_at, owner_id, currency, amount_minor) WHERE deleted_at IS NULL;

-- Monthly sales and paid-order attainment sum orders' net amounts (after discounts, before
-- tax), kept beside the totals on every order write; orders written before are filled in from
-- their stored totals.
ALTER TABLE orders ADD COLUMN net_minor INTEGER NOT NULL DEFAULT 0;
UPDATE orders SET net_minor = COALESCE(CAST(json_extract(totals, '$.net_minor') AS INTEGER), 0);
-- Paid (and shipped) orders by the day they were paid, covering what the reports sum.
CREATE INDEX orders_sales_report_idx ON orders (status, paid_at, currency, owner_id, customer_id, net_minor) WHERE deleted_at IS NULL;
