-- Issue 12 §1-2: campaigns move onto the shared record machinery (status, actual spend,
-- audience, goal, parent; sort, search and sync columns) with the new channel names, and
-- segments arrive: rules stored as JSON (compiled to SQL by the store), static lists' members,
-- and the names people give k-means clusters.
ALTER TABLE campaigns ADD COLUMN status TEXT NOT NULL DEFAULT 'planned';
ALTER TABLE campaigns ADD COLUMN actual_spend_minor INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN segment_id INTEGER;
ALTER TABLE campaigns ADD COLUMN parent_id INTEGER;
ALTER TABLE campaigns ADD COLUMN goal TEXT;
ALTER TABLE campaigns ADD COLUMN sort_name TEXT NOT NULL DEFAULT '';
ALTER TABLE campaigns ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
ALTER TABLE campaigns ADD COLUMN private_text TEXT NOT NULL DEFAULT '';
ALTER TABLE campaigns ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
UPDATE campaigns SET
    channel = CASE channel WHEN 'search' THEN 'paid_ads' WHEN 'events' THEN 'event' WHEN 'print' THEN 'other'
                           WHEN 'partners' THEN 'other' ELSE channel END,
    status = CASE WHEN ends_on < date('now') THEN 'completed' WHEN starts_on <= date('now') THEN 'active' ELSE 'planned' END,
    sort_name = lower(name),
    search_text = lower(name);
CREATE INDEX campaigns_sort_name_idx ON campaigns (sort_name, id);
CREATE INDEX campaigns_updated_idx ON campaigns (updated_at, id);
CREATE INDEX campaigns_created_idx ON campaigns (created_at, id);
CREATE INDEX campaigns_change_idx ON campaigns (change_seq, id);
CREATE INDEX campaigns_owner_idx ON campaigns (owner_id);
CREATE INDEX campaigns_status_idx ON campaigns (status);
CREATE INDEX campaigns_channel_idx ON campaigns ((COALESCE(channel, '')), id);
CREATE INDEX campaigns_starts_on_idx ON campaigns ((COALESCE(starts_on, '')), id);
CREATE INDEX campaigns_parent_idx ON campaigns (parent_id);
CREATE INDEX campaigns_segment_idx ON campaigns (segment_id);
CREATE VIRTUAL TABLE campaigns_fts USING fts5 (
    search_text, private_text,
    content = 'campaigns', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3'
);
INSERT INTO campaigns_fts (rowid, search_text, private_text) SELECT id, search_text, private_text FROM campaigns;
CREATE TRIGGER campaigns_fts_insert AFTER INSERT ON campaigns BEGIN
    INSERT INTO campaigns_fts (rowid, search_text, private_text) VALUES (new.id, new.search_text, coalesce(new.private_text, ''));
END;
CREATE TRIGGER campaigns_fts_update AFTER UPDATE OF search_text, private_text ON campaigns BEGIN
    INSERT INTO campaigns_fts (campaigns_fts, rowid, search_text, private_text)
    VALUES ('delete', old.id, old.search_text, coalesce(old.private_text, ''));
    INSERT INTO campaigns_fts (rowid, search_text, private_text) VALUES (new.id, new.search_text, coalesce(new.private_text, ''));
END;
CREATE TRIGGER campaigns_fts_delete AFTER DELETE ON campaigns BEGIN
    INSERT INTO campaigns_fts (campaigns_fts, rowid, search_text, private_text)
    VALUES ('delete', old.id, old.search_text, coalesce(old.private_text, ''));
END;

CREATE TABLE segments (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    sort_name TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'dynamic',
    description TEXT,
    rules TEXT NOT NULL DEFAULT '{}',
    exclude TEXT NOT NULL DEFAULT '[]',
    search_text TEXT NOT NULL DEFAULT '',
    private_text TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    change_seq INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX segments_sort_name_idx ON segments (sort_name, id);
CREATE INDEX segments_updated_idx ON segments (updated_at, id);
CREATE INDEX segments_created_idx ON segments (created_at, id);
CREATE INDEX segments_change_idx ON segments (change_seq, id);
CREATE INDEX segments_kind_idx ON segments (kind);
CREATE VIRTUAL TABLE segments_fts USING fts5 (
    search_text, private_text,
    content = 'segments', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3'
);
CREATE TRIGGER segments_fts_insert AFTER INSERT ON segments BEGIN
    INSERT INTO segments_fts (rowid, search_text, private_text) VALUES (new.id, new.search_text, coalesce(new.private_text, ''));
END;
CREATE TRIGGER segments_fts_update AFTER UPDATE OF search_text, private_text ON segments BEGIN
    INSERT INTO segments_fts (segments_fts, rowid, search_text, private_text)
    VALUES ('delete', old.id, old.search_text, coalesce(old.private_text, ''));
    INSERT INTO segments_fts (rowid, search_text, private_text) VALUES (new.id, new.search_text, coalesce(new.private_text, ''));
END;
CREATE TRIGGER segments_fts_delete AFTER DELETE ON segments BEGIN
    INSERT INTO segments_fts (segments_fts, rowid, search_text, private_text)
    VALUES ('delete', old.id, old.search_text, coalesce(old.private_text, ''));
END;

-- The members of static segments (lists).
CREATE TABLE segment_members (
    segment_id INTEGER NOT NULL REFERENCES segments (id),
    person_id INTEGER NOT NULL REFERENCES customers (id),
    added_at TEXT NOT NULL,
    PRIMARY KEY (segment_id, person_id)
);
CREATE INDEX segment_members_person_idx ON segment_members (person_id, segment_id);

-- What people call k-means clusters (a run names them from their centres; people rename them).
CREATE TABLE cluster_names (
    cluster INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    renamed INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);
