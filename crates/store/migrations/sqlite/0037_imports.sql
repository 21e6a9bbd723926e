-- Issue 13 §2: imports run as background jobs, with their progress, every problem, the rejected
-- rows and reusable column mappings.

CREATE TABLE imports (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    mode TEXT NOT NULL,
    dry_run INTEGER NOT NULL DEFAULT 0,
    file_name TEXT,
    headers TEXT NOT NULL DEFAULT '[]',
    created_by INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT,
    rows_read INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    bytes_read INTEGER NOT NULL DEFAULT 0,
    total_bytes INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    summary TEXT
);
CREATE INDEX imports_created_by ON imports (created_by, id);

-- Every problem of every row, in line order.
CREATE TABLE import_problems (
    id INTEGER PRIMARY KEY,
    import_id INTEGER NOT NULL REFERENCES imports (id),
    line INTEGER NOT NULL,
    column_name TEXT,
    field TEXT,
    message TEXT NOT NULL
);
CREATE INDEX import_problems_import ON import_problems (import_id, id);

-- The rows a best-effort import did not write, as read (a JSON array of cells), with why.
-- Sealed like other personal data.
CREATE TABLE import_rejects (
    id INTEGER PRIMARY KEY,
    import_id INTEGER NOT NULL REFERENCES imports (id),
    line INTEGER NOT NULL,
    cells TEXT NOT NULL,
    reasons TEXT NOT NULL
);
CREATE INDEX import_rejects_import ON import_rejects (import_id, id);

-- Column mappings saved by name per record type, for the next file of the same shape.
CREATE TABLE import_mappings (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    mapping TEXT NOT NULL,
    created_by INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX import_mappings_kind_name_key ON import_mappings (kind, name);
