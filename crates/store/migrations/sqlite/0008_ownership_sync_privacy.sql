-- Sync order, private search words and sealed custom values.
--
-- change_seq: the place in the change sequence of the transaction that last wrote the row.
-- SQLite's writers take turns, so a counter in change_clock bumped once per write transaction
-- grows in commit order; sync clients page by (change_seq, id) instead of by updated_at, which
-- is taken before commit and so can appear out of commit order.
CREATE TABLE change_clock (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
INSERT INTO change_clock (id, seq) VALUES (1, 0);

ALTER TABLE customers ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE companies ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX customers_change_idx ON customers (change_seq, id);
CREATE INDEX companies_change_idx ON companies (change_seq, id);

-- Sensitive custom values live sealed in custom_sealed, never in the filterable custom column.
ALTER TABLE customers ADD COLUMN custom_sealed TEXT;
ALTER TABLE companies ADD COLUMN custom_sealed TEXT;

-- Email and phone words move out of search_text into private_text, a column of their own, so that
-- roles without pii search names only. NULL marks a row whose derived columns (search words,
-- sealed values) the store must recompute: every row now, and rows of an object whose custom
-- field became sensitive or stopped being so.
ALTER TABLE customers ADD COLUMN private_text TEXT;
ALTER TABLE companies ADD COLUMN private_text TEXT;
CREATE INDEX customers_reindex_idx ON customers (id) WHERE private_text IS NULL;
CREATE INDEX companies_reindex_idx ON companies (id) WHERE private_text IS NULL;

DROP TRIGGER customers_fts_insert;
DROP TRIGGER customers_fts_update;
DROP TRIGGER customers_fts_delete;
DROP TABLE customers_fts;
CREATE VIRTUAL TABLE customers_fts USING fts5 (
    search_text, company_text, private_text,
    content = 'customers', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3'
);
CREATE TRIGGER customers_fts_insert AFTER INSERT ON customers BEGIN
    INSERT INTO customers_fts (rowid, search_text, company_text, private_text)
    VALUES (new.id, new.search_text, new.company_text, coalesce(new.private_text, ''));
END;
CREATE TRIGGER customers_fts_update AFTER UPDATE OF search_text, company_text, private_text ON customers BEGIN
    INSERT INTO customers_fts (customers_fts, rowid, search_text, company_text, private_text)
    VALUES ('delete', old.id, old.search_text, old.company_text, coalesce(old.private_text, ''));
    INSERT INTO customers_fts (rowid, search_text, company_text, private_text)
    VALUES (new.id, new.search_text, new.company_text, coalesce(new.private_text, ''));
END;
CREATE TRIGGER customers_fts_delete AFTER DELETE ON customers BEGIN
    INSERT INTO customers_fts (customers_fts, rowid, search_text, company_text, private_text)
    VALUES ('delete', old.id, old.search_text, old.company_text, coalesce(old.private_text, ''));
END;
INSERT INTO customers_fts (rowid, search_text, company_text, private_text)
    SELECT id, search_text, company_text, '' FROM customers;

DROP TRIGGER companies_fts_insert;
DROP TRIGGER companies_fts_update;
DROP TRIGGER companies_fts_delete;
DROP TABLE companies_fts;
CREATE VIRTUAL TABLE companies_fts USING fts5 (
    search_text, private_text,
    content = 'companies', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3'
);
CREATE TRIGGER companies_fts_insert AFTER INSERT ON companies BEGIN
    INSERT INTO companies_fts (rowid, search_text, private_text) VALUES (new.id, new.search_text, coalesce(new.private_text, ''));
END;
CREATE TRIGGER companies_fts_update AFTER UPDATE OF search_text, private_text ON companies BEGIN
    INSERT INTO companies_fts (companies_fts, rowid, search_text, private_text)
    VALUES ('delete', old.id, old.search_text, coalesce(old.private_text, ''));
    INSERT INTO companies_fts (rowid, search_text, private_text) VALUES (new.id, new.search_text, coalesce(new.private_text, ''));
END;
CREATE TRIGGER companies_fts_delete AFTER DELETE ON companies BEGIN
    INSERT INTO companies_fts (companies_fts, rowid, search_text, private_text)
    VALUES ('delete', old.id, old.search_text, coalesce(old.private_text, ''));
END;
INSERT INTO companies_fts (rowid, search_text, private_text) SELECT id, search_text, '' FROM companies;
