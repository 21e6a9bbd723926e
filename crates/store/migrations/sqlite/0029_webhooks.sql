-- Issue 13 §6: webhooks delivered from a transactional outbox.

-- Where events go. `events` is the subscribed event types between commas (",customer.created,
-- ticket.resolved,") or "*" for all, so the outbox's match is one LIKE. `secret` signs the
-- deliveries (sealed like other secrets). A long streak of failed attempts disables it.
CREATE TABLE webhook_subscriptions (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL,
    description TEXT,
    events TEXT NOT NULL,
    secret TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    failure_streak INTEGER NOT NULL DEFAULT 0,
    disabled_reason TEXT,
    last_success_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);

-- The outbox: one row per event, written in the transaction of the change it reports and only
-- when some active subscription wants it. `payload` is the JSON body (sealed).
CREATE TABLE webhook_events (
    id INTEGER PRIMARY KEY,
    event_type TEXT NOT NULL,
    object TEXT NOT NULL,
    record_id INTEGER,
    payload TEXT NOT NULL,
    occurred_at TEXT NOT NULL
);

-- One delivery per (event, subscription), written with the event. State: pending → delivered |
-- failed (attempts used up, or the subscription was disabled); a pending row is leased to one
-- sender at a time (lease_owner, lease_until), so two servers never post one event at once; a
-- lease that ran out (the sender died) is due again: delivery is at least once, and receivers
-- deduplicate by the event id.
CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL REFERENCES webhook_events (id),
    subscription_id INTEGER NOT NULL REFERENCES webhook_subscriptions (id),
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_owner TEXT,
    lease_until TEXT,
    last_status INTEGER,
    last_error TEXT,
    delivered_at TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (state, next_attempt_at, id);
CREATE INDEX webhook_deliveries_subscription_idx ON webhook_deliveries (subscription_id, id);
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);

-- Every attempt, for the delivery log.
CREATE TABLE webhook_attempts (
    id INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES webhook_deliveries (id),
    at TEXT NOT NULL,
    status INTEGER,
    error TEXT,
    duration_ms INTEGER NOT NULL
);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, id);

-- Admin settings of the sender: whether targets on private, loopback and link-local
-- addresses are allowed (off: server-side request forgery protection), and after how many
-- failed attempts in a row a subscription is disabled.
CREATE TABLE webhook_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    allow_private_targets INTEGER NOT NULL DEFAULT 0,
    disable_after_failures INTEGER NOT NULL DEFAULT 50,
    updated_at TEXT NOT NULL
);
