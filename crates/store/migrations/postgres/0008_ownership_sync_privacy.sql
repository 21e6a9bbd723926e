-- Sync order, private search words and sealed custom values.
--
-- change_seq: the id of the transaction that last wrote the row (pg_current_xact_id). Sync
-- readers stop short of the oldest transaction still writing in this database, so one that
-- started first and commits last is served once it commits, never skipped (see the store's
-- sync_horizon). change_clock is SQLite's counter; it exists here too so that backups move
-- between the engines.
CREATE TABLE change_clock (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL
);
INSERT INTO change_clock (id, seq) VALUES (1, 0);

ALTER TABLE customers ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE companies ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX customers_change_idx ON customers (change_seq, id);
CREATE INDEX companies_change_idx ON companies (change_seq, id);

-- Sensitive custom values live sealed in custom_sealed, never in the filterable custom column.
ALTER TABLE customers ADD COLUMN custom_sealed TEXT;
ALTER TABLE companies ADD COLUMN custom_sealed TEXT;

-- Email and phone words move out of search_text into private_text, indexed with weight B, so
-- that roles without pii search the weight-A words (names) only. NULL marks a row whose derived
-- columns the store must recompute (see the SQLite twin).
ALTER TABLE customers ADD COLUMN private_text TEXT;
ALTER TABLE companies ADD COLUMN private_text TEXT;
CREATE INDEX customers_reindex_idx ON customers (id) WHERE private_text IS NULL;
CREATE INDEX companies_reindex_idx ON companies (id) WHERE private_text IS NULL;

DROP INDEX customers_search_idx;
ALTER TABLE customers DROP COLUMN search_tsv;
ALTER TABLE customers ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple', search_text || ' ' || company_text), 'A')
    || setweight(to_tsvector('simple', coalesce(private_text, '')), 'B')
) STORED;
CREATE INDEX customers_search_idx ON customers USING GIN (search_tsv);

DROP INDEX companies_search_idx;
ALTER TABLE companies DROP COLUMN search_tsv;
ALTER TABLE companies ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple', search_text), 'A') || setweight(to_tsvector('simple', coalesce(private_text, '')), 'B')
) STORED;
CREATE INDEX companies_search_idx ON companies USING GIN (search_tsv);
