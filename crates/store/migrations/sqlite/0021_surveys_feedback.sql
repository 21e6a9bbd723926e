-- Issue 11 §8 and §9: satisfaction surveys of resolved tickets, feedback outside tickets, and
-- the indexes the service reports read.

-- One survey per ticket, made when it is first resolved. The link's token is derived from a
-- server secret and the nonce (so the mail module can ask for the link again later); only its
-- SHA-256 is stored for the lookup. The current answer sits on the row (a second answer
-- replaces the first; the audit log keeps both).
CREATE TABLE ticket_surveys (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL UNIQUE REFERENCES tickets (id),
    nonce TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    csat INTEGER,
    nps INTEGER,
    comment TEXT,
    decision TEXT,
    -- The agent credited with the rating: the last public replier, else the assignee.
    agent_id INTEGER REFERENCES users (id),
    answered_at TEXT,
    answers INTEGER NOT NULL DEFAULT 0
);
-- CSAT and NPS reports: answered surveys by time, and per credited agent.
CREATE INDEX ticket_surveys_answered_idx ON ticket_surveys (answered_at, ticket_id, csat, nps, agent_id) WHERE answered_at IS NOT NULL;
CREATE INDEX ticket_surveys_agent_idx ON ticket_surveys (agent_id, answered_at, csat, nps) WHERE answered_at IS NOT NULL;

-- Feedback, complaints and praise that arrive outside a ticket, on the record machinery.
CREATE TABLE feedback (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL DEFAULT 'feedback',
    sort_name TEXT NOT NULL,
    body TEXT NOT NULL,
    channel TEXT NOT NULL DEFAULT 'email',
    customer_id INTEGER REFERENCES customers (id),
    owner_id INTEGER REFERENCES users (id),
    search_text TEXT NOT NULL DEFAULT '',
    private_text TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    change_seq INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX feedback_sort_name_idx ON feedback (sort_name, id);
CREATE INDEX feedback_updated_idx ON feedback (updated_at, id);
CREATE INDEX feedback_created_idx ON feedback (created_at, id);
CREATE INDEX feedback_change_idx ON feedback (change_seq, id);
CREATE INDEX feedback_reindex_idx ON feedback (id) WHERE private_text IS NULL;
CREATE INDEX feedback_owner_idx ON feedback (owner_id, id);
CREATE INDEX feedback_customer_idx ON feedback (customer_id, created_at, id);
CREATE INDEX feedback_kind_idx ON feedback (kind, created_at, id);

CREATE VIRTUAL TABLE feedback_fts USING fts5 (
    search_text, private_text,
    content = 'feedback', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3'
);
CREATE TRIGGER feedback_fts_insert AFTER INSERT ON feedback BEGIN
    INSERT INTO feedback_fts (rowid, search_text, private_text) VALUES (new.id, new.search_text, coalesce(new.private_text, ''));
END;
CREATE TRIGGER feedback_fts_update AFTER UPDATE OF search_text, private_text ON feedback BEGIN
    INSERT INTO feedback_fts (feedback_fts, rowid, search_text, private_text)
    VALUES ('delete', old.id, old.search_text, coalesce(old.private_text, ''));
    INSERT INTO feedback_fts (rowid, search_text, private_text) VALUES (new.id, new.search_text, coalesce(new.private_text, ''));
END;
CREATE TRIGGER feedback_fts_delete AFTER DELETE ON feedback BEGIN
    INSERT INTO feedback_fts (feedback_fts, rowid, search_text, private_text)
    VALUES ('delete', old.id, old.search_text, coalesce(old.private_text, ''));
END;

-- Service reports: tickets created in a period (trend, response and resolution times, reopen
-- rate), resolved in a period, and the first public agent reply of each ticket.
CREATE INDEX tickets_report_created_idx ON tickets (created_at, owner_id, team_id, priority, status) WHERE deleted_at IS NULL;
CREATE INDEX tickets_report_resolved_idx ON tickets (resolved_at, owner_id, team_id, priority) WHERE deleted_at IS NULL AND resolved_at IS NOT NULL;
CREATE INDEX tickets_report_owner_created_idx ON tickets (owner_id, created_at) WHERE deleted_at IS NULL;
CREATE INDEX tickets_report_owner_resolved_idx ON tickets (owner_id, resolved_at) WHERE deleted_at IS NULL AND resolved_at IS NOT NULL;
CREATE INDEX ticket_messages_agent_reply_idx ON ticket_messages (ticket_id, at) WHERE author = 'agent' AND internal = 0;
CREATE INDEX ticket_status_changes_reopen_idx ON ticket_status_changes (ticket_id) WHERE to_status = 'reopened';
