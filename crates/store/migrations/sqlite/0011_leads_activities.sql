-- Issue 9 §1 and §4: lead status on people, activities, and the public web form's throttle
-- and settings.

-- A lead is a person at lifecycle stage 'lead'; these are its lead fields (see
-- domain::sales::lead). converted_opportunity_id becomes a reference once opportunities exist.
ALTER TABLE customers ADD COLUMN lead_status TEXT NOT NULL DEFAULT 'new';
ALTER TABLE customers ADD COLUMN disqualified_reason TEXT;
ALTER TABLE customers ADD COLUMN converted_at TEXT;
ALTER TABLE customers ADD COLUMN converted_opportunity_id INTEGER;
CREATE INDEX customers_lead_status_idx ON customers (lifecycle_stage, lead_status);
CREATE INDEX customers_converted_opportunity_idx ON customers (converted_opportunity_id);

-- Tasks, calls, meetings, notes and logged emails, on the record machinery (see
-- domain::sales::activity::SPEC). opportunity_id becomes a reference once opportunities exist.
CREATE TABLE activities (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    sort_name TEXT NOT NULL,
    body TEXT,
    due_at TEXT,
    starts_at TEXT,
    ends_at TEXT,
    done INTEGER NOT NULL DEFAULT 0,
    done_at TEXT,
    assignee_id INTEGER REFERENCES users (id),
    owner_id INTEGER REFERENCES users (id),
    customer_id INTEGER REFERENCES customers (id),
    company_id INTEGER REFERENCES companies (id),
    opportunity_id INTEGER,
    search_text TEXT NOT NULL DEFAULT '',
    private_text TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    change_seq INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX activities_sort_name_idx ON activities (sort_name, id);
CREATE INDEX activities_updated_idx ON activities (updated_at, id);
CREATE INDEX activities_created_idx ON activities (created_at, id);
CREATE INDEX activities_change_idx ON activities (change_seq, id);
CREATE INDEX activities_reindex_idx ON activities (id) WHERE private_text IS NULL;
CREATE INDEX activities_owner_idx ON activities (owner_id);
CREATE INDEX activities_customer_idx ON activities (customer_id, id);
CREATE INDEX activities_company_idx ON activities (company_id, id);
CREATE INDEX activities_opportunity_idx ON activities (opportunity_id, id);
CREATE INDEX activities_kind_idx ON activities (kind);
-- Task lists: one assignee's open tasks by due time.
CREATE INDEX activities_assignee_due_idx ON activities (assignee_id, due_at);
CREATE INDEX activities_due_sort_idx ON activities ((COALESCE(due_at, '')), id);
CREATE INDEX activities_starts_sort_idx ON activities ((COALESCE(starts_at, '')), id);
CREATE INDEX activities_done_sort_idx ON activities ((COALESCE(done_at, '')), id);

CREATE VIRTUAL TABLE activities_fts USING fts5 (
    search_text, private_text,
    content = 'activities', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3'
);
CREATE TRIGGER activities_fts_insert AFTER INSERT ON activities BEGIN
    INSERT INTO activities_fts (rowid, search_text, private_text) VALUES (new.id, new.search_text, coalesce(new.private_text, ''));
END;
CREATE TRIGGER activities_fts_update AFTER UPDATE OF search_text, private_text ON activities BEGIN
    INSERT INTO activities_fts (activities_fts, rowid, search_text, private_text)
    VALUES ('delete', old.id, old.search_text, coalesce(old.private_text, ''));
    INSERT INTO activities_fts (rowid, search_text, private_text) VALUES (new.id, new.search_text, coalesce(new.private_text, ''));
END;
CREATE TRIGGER activities_fts_delete AFTER DELETE ON activities BEGIN
    INSERT INTO activities_fts (activities_fts, rowid, search_text, private_text)
    VALUES ('delete', old.id, old.search_text, coalesce(old.private_text, ''));
END;

-- The web form's per-IP throttle: submissions in the window that started at window_start,
-- counted by one atomic upsert, so every server process over the database shares the count.
CREATE TABLE web_lead_throttle (
    client TEXT PRIMARY KEY,
    hits INTEGER NOT NULL,
    window_start TEXT NOT NULL
);
CREATE INDEX web_lead_throttle_window_idx ON web_lead_throttle (window_start);

-- The web form's settings, one row (written on the first save; absent means the defaults).
CREATE TABLE web_form_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    allowed_origins TEXT NOT NULL DEFAULT '[]',
    default_owner_id INTEGER REFERENCES users (id),
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
