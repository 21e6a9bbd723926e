-- Issue 12 §8: A/B tests of an email campaign. One test per campaign: its variants (a template,
-- optionally another subject), the test share, the wait, the winning metric and the fallback;
-- draft → testing (the test share's members carry their variant, a sending with ab_phase
-- 'test' mails each their variant) → decided (exactly once: the state moves in the transaction
-- that writes the sending of the winner, ab_phase 'rest', to the members without a variant).
CREATE TABLE campaign_ab_tests (
    campaign_id INTEGER PRIMARY KEY REFERENCES campaigns (id),
    test_percent INTEGER NOT NULL,
    wait_minutes INTEGER NOT NULL,
    metric TEXT NOT NULL,
    fallback TEXT NOT NULL,
    seed INTEGER NOT NULL,
    topic TEXT NOT NULL DEFAULT 'newsletter',
    state TEXT NOT NULL DEFAULT 'draft',
    test_send_id INTEGER,
    decide_at TEXT,
    winner TEXT,
    result TEXT,
    winner_send_id INTEGER,
    decided_by TEXT,
    decided_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX campaign_ab_tests_due_idx ON campaign_ab_tests (state, decide_at);

CREATE TABLE campaign_variants (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
    key TEXT NOT NULL,
    position INTEGER NOT NULL,
    template_id INTEGER NOT NULL REFERENCES email_templates (id),
    subject TEXT,
    PRIMARY KEY (campaign_id, key)
);

-- The variant a member of the test share got (NULL: the rest, who get the winner).
ALTER TABLE campaign_members ADD COLUMN ab_variant TEXT;
-- 'test' (each member of the test share their variant) or 'rest' (the winner to the others).
ALTER TABLE campaign_sends ADD COLUMN ab_phase TEXT;
