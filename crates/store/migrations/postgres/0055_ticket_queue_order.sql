-- A queue page (an agent's tickets, a team's, one status) comes in the order of its sort: each
-- queue filter with the default sort (subject) and with the creation time has an index that
-- yields its tickets already in that order, so a page stops when full. Without them, a filter
-- matching a third of the tickets either sorted all of them (the filter's index) or walked the
-- sort's index past every other queue's tickets (a small queue), whichever the planner guessed
-- from the average queue size.
CREATE INDEX tickets_owner_name_idx ON tickets (owner_id, sort_name, id) WHERE deleted_at IS NULL;
CREATE INDEX tickets_owner_created_idx ON tickets (owner_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX tickets_team_name_idx ON tickets (team_id, sort_name, id) WHERE deleted_at IS NULL;
CREATE INDEX tickets_team_created_idx ON tickets (team_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX tickets_status_name_idx ON tickets (status, sort_name, id) WHERE deleted_at IS NULL;
