-- Issue 12 §3–6, §11: marketing email through the one mail queue and sender of 0017.

-- Email templates: a subject, a plain-text part and an optional HTML part with merge fields
-- ({{name}}, {{company}}, custom fields, {{x | default: "friend"}}), checked on save.
CREATE TABLE email_templates (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    subject TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    version INTEGER NOT NULL DEFAULT 1
);

-- One sending of a campaign's email: scheduled (until send_at) → expanding (the job writes the
-- members' mails into mail_queue in batches, advancing member_cursor in the same transaction,
-- so a restart continues after the last batch) → sending → done; paused after error_threshold
-- failed attempts, until resumed; cancelled by hand. One live sending per campaign.
CREATE TABLE campaign_sends (
    id INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    template_id INTEGER NOT NULL REFERENCES email_templates (id),
    topic TEXT NOT NULL DEFAULT 'newsletter',
    state TEXT NOT NULL DEFAULT 'scheduled',
    send_at TEXT NOT NULL,
    error_threshold INTEGER NOT NULL DEFAULT 50,
    errors INTEGER NOT NULL DEFAULT 0,
    member_cursor INTEGER NOT NULL DEFAULT 0,
    queued INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0,
    created_by INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX campaign_sends_state_idx ON campaign_sends (state, send_at);
CREATE UNIQUE INDEX campaign_sends_live_key ON campaign_sends (campaign_id) WHERE state IN ('scheduled', 'expanding', 'sending', 'paused');

-- Marketing rows of the queue: which sending and person they are for, the recipient's email
-- key (the blind index when encrypting) that suppression and the frequency cap look up, the
-- random token of its tracking and unsubscribe links, and the links it carries (a JSON array:
-- a click redirect goes only to one of them).
ALTER TABLE mail_queue ADD COLUMN send_id INTEGER;
ALTER TABLE mail_queue ADD COLUMN campaign_id INTEGER;
ALTER TABLE mail_queue ADD COLUMN person_id INTEGER;
ALTER TABLE mail_queue ADD COLUMN to_key TEXT;
ALTER TABLE mail_queue ADD COLUMN track_token TEXT;
ALTER TABLE mail_queue ADD COLUMN links TEXT;
-- A sending writes each person's mail once, whatever restarts in between.
CREATE UNIQUE INDEX mail_queue_send_person_key ON mail_queue (send_id, person_id) WHERE send_id IS NOT NULL;
CREATE UNIQUE INDEX mail_queue_track_token_key ON mail_queue (track_token) WHERE track_token IS NOT NULL;
-- The marketing claim and the frequency cap.
CREATE INDEX mail_queue_kind_due_idx ON mail_queue (kind, state, next_attempt_at, id);
CREATE INDEX mail_queue_to_key_idx ON mail_queue (to_key, sent_at) WHERE to_key IS NOT NULL;
CREATE INDEX mail_queue_send_state_idx ON mail_queue (send_id, state) WHERE send_id IS NOT NULL;

-- Addresses no marketing mail goes to any more (unsubscribed, hard bounce, complaint, soft
-- bounces past the limit, or by hand), by email key: it outlives the person record.
CREATE TABLE marketing_suppressions (
    email_key TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    person_id INTEGER,
    source TEXT,
    at TEXT NOT NULL
);

-- Consent per person and topic, as a history: the latest row of a (person, topic) decides.
-- Topic '*' is the global marketing consent (a global unsubscribe withdraws it).
CREATE TABLE marketing_consents (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES customers (id),
    topic TEXT NOT NULL,
    granted INTEGER NOT NULL,
    legal_basis TEXT NOT NULL,
    source TEXT NOT NULL,
    ip TEXT,
    at TEXT NOT NULL
);
CREATE INDEX marketing_consents_person_idx ON marketing_consents (person_id, topic, id);

-- What happened to marketing mail after it left: opens, clicks (human or machine, kept apart),
-- unsubscribes, bounces and complaints. mail_id is not a foreign key: the send log's retention
-- deletes old queue rows, the events stay.
CREATE TABLE marketing_events (
    id INTEGER PRIMARY KEY,
    mail_id INTEGER,
    campaign_id INTEGER,
    person_id INTEGER,
    email_key TEXT,
    kind TEXT NOT NULL,
    machine INTEGER NOT NULL DEFAULT 0,
    reason TEXT,
    url TEXT,
    user_agent TEXT,
    at TEXT NOT NULL
);
CREATE INDEX marketing_events_mail_idx ON marketing_events (mail_id, kind);
CREATE INDEX marketing_events_person_idx ON marketing_events (person_id, at);
CREATE INDEX marketing_events_key_idx ON marketing_events (email_key, kind);

-- Marketing mails claimed per minute (UTC, 'YYYY-MM-DDTHH:MM'): the per-minute, per-hour and
-- per-day caps read these counters instead of counting the send log.
CREATE TABLE marketing_send_counts (
    minute TEXT PRIMARY KEY,
    n INTEGER NOT NULL
);
