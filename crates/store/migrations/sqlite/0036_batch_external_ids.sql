-- Issue 13 §1: upserts by a key another system gives, and batch calls that a retry cannot apply twice.

-- The id a record has in the system it came from (a spreadsheet's row key, another CRM's id):
-- unique among live records, so a batch or an import upserts by it.
ALTER TABLE customers ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX customers_external_id_key ON customers (external_id) WHERE deleted_at IS NULL;
ALTER TABLE companies ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX companies_external_id_key ON companies (external_id) WHERE deleted_at IS NULL;

-- A batch call's `Idempotency-Key`: per user and path, the hash of the request it came with and
-- the response it got, so a retry with the same key answers the stored response and writes
-- nothing, and the same key with another body is refused.
CREATE TABLE idempotency_keys (
    id INTEGER PRIMARY KEY,
    user_id INTEGER,
    scope TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    response TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX idempotency_keys_key ON idempotency_keys (scope, idem_key);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
