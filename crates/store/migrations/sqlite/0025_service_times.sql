-- Issue 11 §9: first-response and resolution times in business hours, stored on the ticket
-- when the milestone happens (the first public agent reply; each resolution), measured as the
-- SLA clock measures them: business seconds of the ticket's team calendar (else the default;
-- round the clock without one), counting only the states whose clock runs. The reports then
-- aggregate columns instead of walking conversations and calendars per ticket.
-- Existing tickets are marked `times_pending` and computed by the store on its first start
-- (the calendars are Rust), a batch at a time, through the partial index below.
ALTER TABLE tickets ADD COLUMN first_response_at TEXT;
ALTER TABLE tickets ADD COLUMN first_response_secs BIGINT;
ALTER TABLE tickets ADD COLUMN resolution_secs BIGINT;
ALTER TABLE tickets ADD COLUMN times_pending INTEGER NOT NULL DEFAULT 0;
UPDATE tickets SET times_pending = 1
 WHERE resolved_at IS NOT NULL
    OR EXISTS (SELECT 1 FROM ticket_messages m WHERE m.ticket_id = tickets.id AND m.author = 'agent' AND m.internal = 0);
CREATE INDEX tickets_times_pending_idx ON tickets (id) WHERE times_pending = 1;
-- The times report: percentiles read in the order of the duration (all time), covering the
-- filters and the reader's reach; a period searches the creation index and sorts its span.
CREATE INDEX tickets_first_response_secs_idx ON tickets (first_response_secs, created_at, owner_id, team_id, priority)
    WHERE deleted_at IS NULL AND first_response_secs IS NOT NULL;
CREATE INDEX tickets_resolution_secs_idx ON tickets (resolution_secs, created_at, owner_id, team_id, priority)
    WHERE deleted_at IS NULL AND resolution_secs IS NOT NULL;
-- An agent's or a team's times over all time: their durations in order, without the others.
CREATE INDEX tickets_owner_first_response_idx ON tickets (owner_id, first_response_secs, created_at, team_id)
    WHERE deleted_at IS NULL AND first_response_secs IS NOT NULL;
CREATE INDEX tickets_owner_resolution_idx ON tickets (owner_id, resolution_secs, created_at, team_id)
    WHERE deleted_at IS NULL AND resolution_secs IS NOT NULL;
CREATE INDEX tickets_team_first_response_idx ON tickets (team_id, first_response_secs, created_at, owner_id)
    WHERE deleted_at IS NULL AND first_response_secs IS NOT NULL;
CREATE INDEX tickets_team_resolution_idx ON tickets (team_id, resolution_secs, created_at, owner_id)
    WHERE deleted_at IS NULL AND resolution_secs IS NOT NULL;
