-- Pipelines and opportunities (issue 9, section 2).
--
-- pipelines: admin-configured, their stages one JSON list in board order (the source of truth).
-- pipeline_stages mirrors that list one row per stage, rewritten in the transaction of every
-- pipeline write, so that reading an opportunity joins its stage's name and probability by key
-- with one index lookup on either engine (JSON functions differ between them).
CREATE TABLE pipelines (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    sort_name TEXT NOT NULL,
    stages TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    change_seq INTEGER DEFAULT 0
);
CREATE INDEX pipelines_sort_name_idx ON pipelines (sort_name, id);
CREATE INDEX pipelines_updated_idx ON pipelines (updated_at, id);
CREATE INDEX pipelines_created_idx ON pipelines (created_at, id);
CREATE INDEX pipelines_change_idx ON pipelines (change_seq, id);
CREATE INDEX pipelines_unstamped_idx ON pipelines (id) WHERE change_seq IS NULL;

CREATE TABLE pipeline_stages (
    pipeline_id INTEGER NOT NULL REFERENCES pipelines (id),
    stage_key TEXT NOT NULL,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    probability INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    PRIMARY KEY (pipeline_id, stage_key)
);

-- The default pipeline: PipelineData::default_sales().
INSERT INTO pipelines (id, name, sort_name, stages, created_at, updated_at, version, change_seq)
    VALUES (1, 'Sales', 'sales', '[{"key":"qualification","name":"Qualification","probability":10,"outcome":"open"},{"key":"needs_analysis","name":"Needs analysis","probability":25,"outcome":"open"},{"key":"proposal","name":"Proposal","probability":50,"outcome":"open"},{"key":"negotiation","name":"Negotiation","probability":75,"outcome":"open"},{"key":"won","name":"Won","probability":100,"outcome":"won"},{"key":"lost","name":"Lost","probability":0,"outcome":"lost"}]', strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.000000Z', strftime('%Y-%m-%dT%H:%M:%S', 'now') || '.000000Z', 1, 0);
INSERT INTO pipeline_stages (pipeline_id, stage_key, position, name, probability, outcome) VALUES
    (1, 'qualification', 0, 'Qualification', 10, 'open'),
    (1, 'needs_analysis', 1, 'Needs analysis', 25, 'open'),
    (1, 'proposal', 2, 'Proposal', 50, 'open'),
    (1, 'negotiation', 3, 'Negotiation', 75, 'open'),
    (1, 'won', 4, 'Won', 100, 'won'),
    (1, 'lost', 5, 'Lost', 0, 'lost');

-- Opportunities: owned records on the shared machinery. `stage` is a key of the pipeline's
-- stages and `status` its outcome; `stage_entered_at` is stamped with each stage change.
CREATE TABLE opportunities (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    sort_name TEXT NOT NULL,
    amount_minor INTEGER NOT NULL DEFAULT 0,
    currency TEXT NOT NULL,
    expected_close_date TEXT,
    owner_id INTEGER REFERENCES users (id),
    customer_id INTEGER REFERENCES customers (id),
    company_id INTEGER REFERENCES companies (id),
    campaign_id INTEGER,
    pipeline_id INTEGER NOT NULL REFERENCES pipelines (id),
    stage TEXT NOT NULL,
    status TEXT NOT NULL,
    next_step TEXT,
    lost_reason TEXT,
    closed_at TEXT,
    description TEXT,
    stage_entered_at TEXT,
    search_text TEXT NOT NULL DEFAULT '',
    private_text TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    change_seq INTEGER DEFAULT 0
);
CREATE INDEX opportunities_sort_name_idx ON opportunities (sort_name, id);
CREATE INDEX opportunities_updated_idx ON opportunities (updated_at, id);
CREATE INDEX opportunities_created_idx ON opportunities (created_at, id);
CREATE INDEX opportunities_change_idx ON opportunities (change_seq, id);
CREATE INDEX opportunities_unstamped_idx ON opportunities (id) WHERE change_seq IS NULL;
CREATE INDEX opportunities_owner_idx ON opportunities (owner_id);
CREATE INDEX opportunities_customer_idx ON opportunities (customer_id);
CREATE INDEX opportunities_company_idx ON opportunities (company_id);
CREATE INDEX opportunities_campaign_idx ON opportunities (campaign_id);
-- The board reads one stage of a pipeline at a time, largest deals first.
CREATE INDEX opportunities_board_idx ON opportunities (pipeline_id, stage, (COALESCE(amount_minor, -9223372036854775807)), id);
CREATE INDEX opportunities_status_idx ON opportunities (status);
-- The board's column heads (count and amounts per stage and currency) without reading rows.
CREATE INDEX opportunities_totals_idx ON opportunities (pipeline_id, stage, currency, owner_id, amount_minor) WHERE deleted_at IS NULL;
CREATE INDEX opportunities_amount_idx ON opportunities ((COALESCE(amount_minor, -9223372036854775807)), id);
CREATE INDEX opportunities_close_date_idx ON opportunities ((COALESCE(expected_close_date, '')), id);
CREATE INDEX opportunities_closed_at_idx ON opportunities ((COALESCE(closed_at, '')), id);
CREATE INDEX opportunities_in_stage_idx ON opportunities ((COALESCE(stage_entered_at, '')), id);

CREATE VIRTUAL TABLE opportunities_fts USING fts5 (
    search_text, private_text,
    content = 'opportunities', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3'
);
CREATE TRIGGER opportunities_fts_insert AFTER INSERT ON opportunities BEGIN
    INSERT INTO opportunities_fts (rowid, search_text, private_text) VALUES (new.id, new.search_text, coalesce(new.private_text, ''));
END;
CREATE TRIGGER opportunities_fts_update AFTER UPDATE OF search_text, private_text ON opportunities BEGIN
    INSERT INTO opportunities_fts (opportunities_fts, rowid, search_text, private_text)
    VALUES ('delete', old.id, old.search_text, coalesce(old.private_text, ''));
    INSERT INTO opportunities_fts (rowid, search_text, private_text) VALUES (new.id, new.search_text, coalesce(new.private_text, ''));
END;
CREATE TRIGGER opportunities_fts_delete AFTER DELETE ON opportunities BEGIN
    INSERT INTO opportunities_fts (opportunities_fts, rowid, search_text, private_text)
    VALUES ('delete', old.id, old.search_text, coalesce(old.private_text, ''));
END;

-- Every stage change, written in the transaction of the create or update that made it: time in
-- stage and cycle length are measured from here. `outcome` is the stage's outcome at the time.
CREATE TABLE opportunity_stage_changes (
    id INTEGER PRIMARY KEY,
    opportunity_id INTEGER NOT NULL REFERENCES opportunities (id),
    pipeline_id INTEGER,
    from_stage TEXT,
    to_stage TEXT NOT NULL,
    outcome TEXT NOT NULL,
    at TEXT NOT NULL,
    actor_id INTEGER REFERENCES users (id)
);
-- Covering what the history and the win-probability model read of it.
CREATE INDEX opportunity_stage_changes_opportunity_idx ON opportunity_stage_changes (opportunity_id, at, id, pipeline_id, to_stage, outcome);
