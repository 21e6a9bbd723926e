-- Issue 11: tickets on the record machinery (see domain::service::ticket::SPEC) and their
-- status history, which the SLA clocks, the service reports and the timeline read.

CREATE TABLE tickets (
    id INTEGER PRIMARY KEY,
    subject TEXT NOT NULL,
    sort_name TEXT NOT NULL,
    description TEXT,
    status TEXT NOT NULL DEFAULT 'new',
    priority TEXT NOT NULL DEFAULT 'normal',
    category TEXT,
    channel TEXT NOT NULL DEFAULT 'api',
    customer_id INTEGER REFERENCES customers (id),
    company_id INTEGER REFERENCES companies (id),
    owner_id INTEGER REFERENCES users (id),
    team_id INTEGER, -- checked by the store: a missing team is a field error
    tags TEXT NOT NULL DEFAULT '[]',
    snoozed_until TEXT,
    status_changed_at TEXT,
    resolved_at TEXT,
    closed_at TEXT,
    -- SHA-256 of the secret in the customer's link to the ticket (tickets opened by the public form).
    access_hash TEXT,
    search_text TEXT NOT NULL DEFAULT '',
    private_text TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    change_seq INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tickets_sort_name_idx ON tickets (sort_name, id);
CREATE INDEX tickets_updated_idx ON tickets (updated_at, id);
CREATE INDEX tickets_created_idx ON tickets (created_at, id);
CREATE INDEX tickets_change_idx ON tickets (change_seq, id);
CREATE INDEX tickets_reindex_idx ON tickets (id) WHERE private_text IS NULL;
CREATE INDEX tickets_owner_idx ON tickets (owner_id, status);
CREATE INDEX tickets_customer_idx ON tickets (customer_id, id);
CREATE INDEX tickets_company_idx ON tickets (company_id, id);
-- Queues: a team's tickets by status, newest first.
CREATE INDEX tickets_queue_idx ON tickets (team_id, status, created_at, id);
CREATE INDEX tickets_status_idx ON tickets (status, created_at, id);
CREATE INDEX tickets_snoozed_sort_idx ON tickets ((COALESCE(snoozed_until, '')), id);
CREATE INDEX tickets_status_changed_sort_idx ON tickets ((COALESCE(status_changed_at, '')), id);
CREATE INDEX tickets_resolved_sort_idx ON tickets ((COALESCE(resolved_at, '')), id);
CREATE INDEX tickets_closed_sort_idx ON tickets ((COALESCE(closed_at, '')), id);

CREATE TABLE ticket_tags (
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    tag TEXT NOT NULL,
    PRIMARY KEY (tag, ticket_id)
);
CREATE INDEX ticket_tags_ticket_idx ON ticket_tags (ticket_id);

CREATE VIRTUAL TABLE tickets_fts USING fts5 (
    search_text, private_text,
    content = 'tickets', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3'
);
CREATE TRIGGER tickets_fts_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO tickets_fts (rowid, search_text, private_text) VALUES (new.id, new.search_text, coalesce(new.private_text, ''));
END;
CREATE TRIGGER tickets_fts_update AFTER UPDATE OF search_text, private_text ON tickets BEGIN
    INSERT INTO tickets_fts (tickets_fts, rowid, search_text, private_text)
    VALUES ('delete', old.id, old.search_text, coalesce(old.private_text, ''));
    INSERT INTO tickets_fts (rowid, search_text, private_text) VALUES (new.id, new.search_text, coalesce(new.private_text, ''));
END;
CREATE TRIGGER tickets_fts_delete AFTER DELETE ON tickets BEGIN
    INSERT INTO tickets_fts (tickets_fts, rowid, search_text, private_text)
    VALUES ('delete', old.id, old.search_text, coalesce(old.private_text, ''));
END;

-- Every status a ticket entered, with when and who (none for the customer or the system).
CREATE TABLE ticket_status_changes (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    from_status TEXT,
    to_status TEXT NOT NULL,
    at TEXT NOT NULL,
    actor_id INTEGER REFERENCES users (id)
);
CREATE INDEX ticket_status_changes_ticket_idx ON ticket_status_changes (ticket_id, at, id);

-- The conversation: public replies and internal notes, oldest first per ticket.
CREATE TABLE ticket_messages (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    author TEXT NOT NULL,
    author_id INTEGER REFERENCES users (id),
    author_name TEXT,
    internal INTEGER NOT NULL DEFAULT 0,
    body TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX ticket_messages_ticket_idx ON ticket_messages (ticket_id, id);
