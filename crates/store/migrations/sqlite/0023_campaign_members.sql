-- Issue 12 §2: who a campaign reaches and how each of them responded. Segments add members
-- (and engagement rules read them); the email machinery moves them through the response states.
-- `status` is the furthest state reached (bounced, complained and unsubscribed end the path);
-- each milestone keeps the time it was first reached, so "opened campaign X" is
-- `opened_at IS NOT NULL`. Only human opens and clicks are written here: machine ones (scanners,
-- image proxies) are kept apart by the tracking code and never count.
CREATE TABLE campaign_members (
    id INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    person_id INTEGER NOT NULL REFERENCES customers (id),
    status TEXT NOT NULL DEFAULT 'member',
    source TEXT NOT NULL DEFAULT 'manual',
    added_at TEXT NOT NULL,
    sent_at TEXT,
    delivered_at TEXT,
    opened_at TEXT,
    clicked_at TEXT,
    responded_at TEXT,
    converted_at TEXT,
    unsubscribed_at TEXT,
    bounced_at TEXT,
    complained_at TEXT,
    updated_at TEXT NOT NULL,
    UNIQUE (campaign_id, person_id)
);
CREATE INDEX campaign_members_person_idx ON campaign_members (person_id, campaign_id);
CREATE INDEX campaign_members_status_idx ON campaign_members (campaign_id, status);
