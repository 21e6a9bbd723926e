-- Issue 9 §4: every change of a lead's status (conversion included), with its time and who made
-- it, so the timeline shows a person's qualification as it happened. Written by the person's
-- store in the change's own transaction. No reason is kept here: a disqualification reason may
-- name the person, and erasure clears it on the person alone.
CREATE TABLE lead_status_changes (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    from_status TEXT,
    to_status TEXT NOT NULL,
    -- The opportunity a conversion created.
    opportunity_id INTEGER REFERENCES opportunities (id),
    at TEXT NOT NULL,
    actor_id INTEGER REFERENCES users (id)
);
CREATE INDEX lead_status_changes_customer_idx ON lead_status_changes (customer_id, at, id);
CREATE INDEX lead_status_changes_opportunity_idx ON lead_status_changes (opportunity_id);
