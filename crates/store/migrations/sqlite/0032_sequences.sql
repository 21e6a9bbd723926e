-- Issue 12 §7: drip sequences. A sequence is an ordered list of steps (stored as JSON, checked
-- on save) that people enter by joining a segment or list, by signing up (a granted consent),
-- or by hand; its sends count for one email campaign. Each person's position is an
-- enrollment, advanced by the background job in one transaction with the step's writes; a
-- step run is one row, unique per (enrollment, step), so no step ever runs twice for a person
-- (branches only jump forward).
CREATE TABLE sequences (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    topic TEXT NOT NULL DEFAULT 'newsletter',
    entry TEXT NOT NULL DEFAULT 'manual',
    segment_id INTEGER,
    steps TEXT NOT NULL DEFAULT '[]',
    owner_id INTEGER,
    state TEXT NOT NULL DEFAULT 'draft',
    activated_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX sequences_state_idx ON sequences (state, entry);

CREATE TABLE sequence_enrollments (
    id INTEGER PRIMARY KEY,
    sequence_id INTEGER NOT NULL REFERENCES sequences (id),
    person_id INTEGER NOT NULL REFERENCES customers (id),
    step INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'active',
    next_run_at TEXT NOT NULL,
    last_mail_id INTEGER,
    source TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (sequence_id, person_id)
);
CREATE INDEX sequence_enrollments_due_idx ON sequence_enrollments (state, next_run_at, id);

CREATE TABLE sequence_step_runs (
    enrollment_id INTEGER NOT NULL REFERENCES sequence_enrollments (id),
    step INTEGER NOT NULL,
    kind TEXT NOT NULL,
    outcome TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL,
    PRIMARY KEY (enrollment_id, step)
);

-- A sequence's mail in the queue: claimed while its sequence is active, its consent topic
-- read from the sequence.
ALTER TABLE mail_queue ADD COLUMN sequence_id INTEGER;
