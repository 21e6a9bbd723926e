-- Purchase history (one row per purchased line, as analytics reads it), the scores analytics
-- write back onto people, and analytics runs with their status for any server process to report.
CREATE TABLE purchases (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    invoice TEXT NOT NULL,
    product TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    purchased_at TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX purchases_customer_idx ON purchases (customer_id, purchased_at);

ALTER TABLE customers ADD COLUMN rfm_cell TEXT;
ALTER TABLE customers ADD COLUMN rfm_tier TEXT;
ALTER TABLE customers ADD COLUMN segment INTEGER;
ALTER TABLE customers ADD COLUMN purchase_propensity REAL;
ALTER TABLE customers ADD COLUMN churn_risk REAL;
CREATE INDEX customers_rfm_tier_idx ON customers (rfm_tier);
CREATE INDEX customers_segment_idx ON customers (segment);

CREATE TABLE analytics_runs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    -- 'all' when the starter reached every record: such results are shared with everyone.
    scope TEXT NOT NULL DEFAULT 'own',
    actor_id INTEGER,
    params TEXT NOT NULL DEFAULT '{}',
    progress TEXT,
    result TEXT,
    error TEXT,
    created_at TEXT NOT NULL,
    finished_at TEXT
);
