-- Issue 11 §5: how each team hands out its queue, the per-agent cap on open tickets, where
-- round-robin resumes (read and written under the team row's lock, inside the transaction that
-- assigns), and agents marked away, whom automatic assignment skips.
ALTER TABLE teams ADD COLUMN assignment_mode TEXT NOT NULL DEFAULT 'manual';
ALTER TABLE teams ADD COLUMN max_open_per_agent BIGINT;
ALTER TABLE teams ADD COLUMN last_assigned_id BIGINT;
ALTER TABLE users ADD COLUMN away BIGINT NOT NULL DEFAULT 0;
