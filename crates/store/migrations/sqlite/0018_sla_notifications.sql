-- Issue 11 §6 and §7: working calendars and SLA policies, the breach job's events and its
-- lease, and notifications (SLA warnings, @mentions, and whatever other modules announce).

-- A team's working calendar (team_id), or the default one for teams without their own
-- (is_default); week and holidays are the JSON a client wrote (domain::service::calendar).
CREATE TABLE calendars (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    team_id INTEGER REFERENCES teams (id),
    is_default INTEGER NOT NULL DEFAULT 0,
    time_zone TEXT NOT NULL,
    week TEXT NOT NULL DEFAULT '{}',
    holidays TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX calendars_name_key ON calendars (name);
CREATE UNIQUE INDEX calendars_team_key ON calendars (team_id);
CREATE UNIQUE INDEX calendars_default_key ON calendars (is_default) WHERE is_default = 1;

-- SLA policies, tried in `position` order: the first whose conditions all hold applies.
CREATE TABLE sla_policies (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    priority TEXT,
    category TEXT,
    channel TEXT,
    company_id INTEGER REFERENCES companies (id),
    first_response_minutes INTEGER,
    next_response_minutes INTEGER,
    resolution_minutes INTEGER,
    near_breach_percent INTEGER NOT NULL DEFAULT 80,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX sla_policies_name_key ON sla_policies (name);
CREATE INDEX sla_policies_position_idx ON sla_policies (position, id);

-- Each near breach and breach the job flagged, once: a target's clock is identified by when it
-- started (the ticket's creation, or the customer message a next response answers). Webhooks
-- (issue 13) read these rows.
CREATE TABLE sla_events (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets (id),
    target TEXT NOT NULL,
    kind TEXT NOT NULL,
    started_at TEXT NOT NULL,
    due_at TEXT,
    at TEXT NOT NULL
);
CREATE UNIQUE INDEX sla_events_once_key ON sla_events (ticket_id, target, kind, started_at);
CREATE INDEX sla_events_at_idx ON sla_events (at, id);

-- Background jobs' leases: while `until` is ahead, only `holder` runs job `name`.
CREATE TABLE job_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until TEXT NOT NULL
);

-- What a user is told: an SLA warning, a mention; unread while read_at is null.
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    link TEXT,
    created_at TEXT NOT NULL,
    read_at TEXT
);
CREATE INDEX notifications_user_idx ON notifications (user_id, id);
CREATE INDEX notifications_unread_idx ON notifications (user_id, id) WHERE read_at IS NULL;

-- The breach job reads the open tickets' conversations by author.
CREATE INDEX ticket_messages_author_idx ON ticket_messages (ticket_id, author, internal, at);
