-- Issue 11 §4 and §7: followers, merge and split with parent/child links, canned replies
-- (macros) and the "another agent is replying" notice.

-- A split-off ticket names the ticket it came from; a merged one (a tombstone) its survivor.
ALTER TABLE tickets ADD COLUMN parent_id INTEGER REFERENCES tickets (id);
ALTER TABLE tickets ADD COLUMN merged_into_id INTEGER REFERENCES tickets (id);
CREATE INDEX tickets_parent_idx ON tickets (parent_id, id);
CREATE INDEX tickets_merged_into_idx ON tickets (merged_into_id) WHERE merged_into_id IS NOT NULL;

-- History and messages moved by a merge keep the ticket they were written on, so SLA clocks
-- and reports can tell the survivor's own history from what joined it.
ALTER TABLE ticket_status_changes ADD COLUMN merged_from_id INTEGER REFERENCES tickets (id);
ALTER TABLE ticket_messages ADD COLUMN merged_from_id INTEGER REFERENCES tickets (id);

-- People following a ticket beside its person (`tickets.customer_id`): contacts of the ticket
-- for replies and email threading.
CREATE TABLE ticket_contacts (
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    added_at TEXT NOT NULL,
    added_by INTEGER REFERENCES users (id),
    PRIMARY KEY (ticket_id, customer_id)
);
CREATE INDEX ticket_contacts_customer_idx ON ticket_contacts (customer_id, ticket_id);

-- Canned replies, on the record machinery (see domain::service::canned::SPEC).
CREATE TABLE macros (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    sort_name TEXT NOT NULL,
    body TEXT NOT NULL,
    internal INTEGER NOT NULL DEFAULT 0,
    action TEXT,
    add_tags TEXT NOT NULL DEFAULT '[]',
    assignee_id INTEGER REFERENCES users (id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    change_seq INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX macros_name_key ON macros (name) WHERE deleted_at IS NULL;
CREATE INDEX macros_sort_name_idx ON macros (sort_name, id);
CREATE INDEX macros_updated_idx ON macros (updated_at, id);
CREATE INDEX macros_created_idx ON macros (created_at, id);
CREATE INDEX macros_change_idx ON macros (change_seq, id);
CREATE TABLE macro_tags (
    macro_id INTEGER NOT NULL REFERENCES macros (id),
    tag TEXT NOT NULL,
    PRIMARY KEY (tag, macro_id)
);
CREATE INDEX macro_tags_macro_idx ON macro_tags (macro_id);

-- Who is writing a reply to which ticket, until when (refreshed by the page while the reply
-- box is in use): in the database, so every server process sees it.
CREATE TABLE ticket_presence (
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    expires_at TEXT NOT NULL,
    PRIMARY KEY (ticket_id, user_id)
);
CREATE INDEX ticket_presence_expires_idx ON ticket_presence (expires_at);
