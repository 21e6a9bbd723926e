-- Issue 12 §3: a campaign's sending at the recipient's local time and within sending windows.
-- local_send_at is a wall time without a zone (YYYY-MM-DDTHH:MM:SS); time_zone the zone of
-- recipients whose person and company name none; send_window the windows as JSON
-- ({"days": ["mon", …], "start": "09:00", "end": "17:00"}). Each queued mail keeps its
-- recipient's zone, so the claim can hold back a mail whose window closed meanwhile.
ALTER TABLE campaign_sends ADD COLUMN local_send_at TEXT;
ALTER TABLE campaign_sends ADD COLUMN time_zone TEXT;
ALTER TABLE campaign_sends ADD COLUMN send_window TEXT;
ALTER TABLE mail_queue ADD COLUMN time_zone TEXT;

-- Issue 12 §4: double opt-in. A sign-up (the public form's "send me news") writes a pending
-- confirmation and a transactional mail with its signed link; consent is recorded only when
-- the link's page is confirmed by a POST (a GET only shows the page: scanners follow links).
CREATE TABLE marketing_confirmations (
    id INTEGER PRIMARY KEY,
    token TEXT NOT NULL UNIQUE,
    person_id INTEGER NOT NULL REFERENCES customers (id),
    topic TEXT NOT NULL,
    source TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    confirmed_at TEXT,
    ip TEXT
);
CREATE INDEX marketing_confirmations_person_idx ON marketing_confirmations (person_id);
