-- Issue 11 §2: email in and out.

-- Outgoing mail, written in the transaction of the change that causes it and sent by the
-- background sender (crates/cli/src/mail). Generic: tickets write `transactional` rows, the
-- marketing module will write `marketing` ones. State: queued → claimed (leased, not yet handed
-- to SMTP) → sending (handed to SMTP) → sent | failed; a `sending` row whose lease ran out is
-- `unconfirmed` (the process died mid-transaction: it may have been delivered, so it is never
-- resent by itself; an admin may requeue it).
CREATE TABLE mail_queue (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL DEFAULT 'transactional',
    to_addr TEXT NOT NULL,
    to_name TEXT,
    subject TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT,
    headers TEXT NOT NULL DEFAULT '{}',
    message_id TEXT NOT NULL UNIQUE,
    ticket_id INTEGER REFERENCES tickets (id),
    state TEXT NOT NULL DEFAULT 'queued',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_owner TEXT,
    lease_until TEXT,
    sent_at TEXT,
    error TEXT,
    created_at TEXT NOT NULL
);
-- The sender's claim: due rows in order.
CREATE INDEX mail_queue_due_idx ON mail_queue (state, next_attempt_at, id);
CREATE INDEX mail_queue_ticket_idx ON mail_queue (ticket_id, id);

-- Every Message-ID Rapport saw or wrote, and the ticket it belongs to: threading reads the
-- In-Reply-To and References of an inbound mail here; an inbound Message-ID already here is a
-- duplicate.
CREATE TABLE mail_message_ids (
    message_id TEXT PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    direction TEXT NOT NULL,
    ticket_message_id INTEGER REFERENCES ticket_messages (id),
    at TEXT NOT NULL
);
CREATE INDEX mail_message_ids_ticket_idx ON mail_message_ids (ticket_id, at);

-- How far the IMAP poller read each mailbox: the UIDs up to last_uid of this UIDVALIDITY are
-- imported (advanced in the transaction that imports the message).
CREATE TABLE mail_imap_state (
    mailbox TEXT PRIMARY KEY,
    uidvalidity INTEGER NOT NULL,
    last_uid INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
